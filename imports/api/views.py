"""The import API: `POST /api/v1/imports/` (multipart: the file, optionally the mapping,
dry_run, on_duplicate and defaults) checks the file at once, then queues the run and
answers 202 with the job; `GET /api/v1/imports/{id}/` follows it; `POST .../cancel/`
stops it; `GET .../errors/` is the error file (CSV). Everything goes through the same
services and access helpers as the pages; problems answer in the one error shape."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import KeysetPagination
from crm.api.serializers import ERRORS, validate_all
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.web.requests import AuthedRequest
from imports import files, selectors, services
from imports.access import job_for, jobs_visible_to, require
from imports.api.serializers import ImportCreateSerializer, ImportJobSerializer
from imports.columns import TARGETS, normalized
from imports.config import ImportConfig
from imports.models import ImportJob, OnDuplicate

CSV = OpenApiResponse(
    response={"type": "string"}, description="The failed rows as uploaded, plus Row and Problems."
)


class ImportPagination(KeysetPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    max_page_size = 100


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = ImportJob.objects.none()  # the model, for the schema; rows: get_queryset
    serializer_class = ImportJobSerializer
    pagination_class = ImportPagination
    parser_classes = [MultiPartParser, FormParser]
    request: AuthedRequest

    def get_queryset(self) -> QuerySet[ImportJob]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks
            return ImportJob.objects.none()
        return jobs_visible_to(self.request.user)

    def get_object(self) -> ImportJob:
        return job_for(self.request.user, self.kwargs["pk"])

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything reads the body (the session's CSRF check, the parsers).
        if request.method == "POST":
            files.limit_upload(request)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A file past the limit is refused before the body is read, authentication included
        # (a session's CSRF check reads it).
        if self.action == "create" and files.declares_too_large(request._request):
            raise files.too_large()
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer},
        responses={202: ImportJobSerializer, 400: ERRORS, 413: ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.request.user
        require(user, "imports.import_leads")
        body = request.data
        if files.upload_stopped(request._request):
            raise files.too_large()
        serializer = ImportCreateSerializer(data=body)
        # Every problem at once: the file's, the mapping's and the other fields', whichever
        # fail (the job row made to check the mapping goes with the refusal).
        with transaction.atomic():
            data = validate_all(serializer, check=lambda parsed: _prepared(user, parsed)[2])
            job, config, problems = _prepared(user, data)
            if problems or job is None or config is None:
                raise ValidationFailed(problems=problems)
            try:
                services.import_start(job_id=job.pk, by=user, config=config)
            except ValidationFailed as error:
                raise ValidationFailed(problems=_for_api(job, error.problems)) from None
        job.refresh_from_db()
        body = ImportJobSerializer(job, context={"request": request}).data
        location = request.build_absolute_uri(reverse("import-detail", args=[job.pk]))
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(request=None, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: AuthedRequest, pk: str | None = None) -> Response:
        job = services.import_cancel(job_id=self.get_object().pk, by=request.user)
        return Response(ImportJobSerializer(job, context={"request": request}).data)

    @extend_schema(responses={(200, "text/csv"): CSV})
    @action(detail=True, methods=["get"], url_path="errors", url_name="errors")
    def errors(self, request: AuthedRequest, pk: str | None = None) -> StreamingHttpResponse:
        return selectors.error_file_response(self.get_object())


def _prepared(
    user: User, data: dict[str, Any]
) -> tuple[ImportJob | None, ImportConfig | None, list[Problem]]:
    """The uploaded job, the request's mapping and defaults for it, and every problem
    they have (of a file that cannot be read: its problems and the mapping's JSON)."""
    mapping, problems = _parsed_mapping(data.get("mapping") or "")
    upload = data.get("file")
    if upload is None:
        return None, None, problems
    try:
        job = services.import_upload(
            by=user, file=upload.file, name=upload.name or "import.csv", size=upload.size
        )
    except ValidationFailed as error:
        return None, None, [*error.problems, *problems]
    config = ImportConfig.of(job)
    problems += _apply_mapping(job, config, mapping)
    if data.get("date_format") and "created_at" in config.columns:
        config.date_formats[str(config.columns.index("created_at"))] = data["date_format"]
    config.dry_run = data.get("dry_run", False)
    config.on_duplicate = data.get("on_duplicate", OnDuplicate.SKIP)
    config.default_source = data.get("default_source") or config.default_source
    config.default_campaign = data.get("default_campaign") or ""
    config.default_owner = data.get("default_owner")
    config.default_team = data.get("default_team")
    named = {problem.field for problem in problems}
    problems += [
        problem
        for problem in _for_api(job, services.config_problems(job, config, by=user))
        if problem.field not in named  # a column the request named wrongly: said once
    ]
    return job, config, problems


def _parsed_mapping(text: str) -> tuple[dict[str, Any], list[Problem]]:
    if not text.strip():
        return {}, []
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict):
        return {}, [Problem("invalid", "mapping", _("Send a JSON object: header -> field."))]
    return mapping, []


def _apply_mapping(job: ImportJob, config: ImportConfig, mapping: dict[str, Any]) -> list[Problem]:
    """The client's mapping (header -> field) over the proposed one; each problem named
    `mapping.<header>`."""
    headers = [normalized(h) for h in job.headers]
    problems = []
    for header, target in mapping.items():
        name = f"mapping.{header}"
        target = target or ""
        if normalized(str(header)) not in headers:
            problems.append(Problem("unknown_column", name, _("The file has no such column.")))
        elif not isinstance(target, str) or (target and target not in TARGETS):
            problems.append(Problem("invalid_choice", name, _("Not a field a column can fill.")))
        else:
            if target:  # the field moves here from the column it was proposed for
                config.columns = ["" if t == target else t for t in config.columns]
            config.columns[headers.index(normalized(str(header)))] = target
    return problems


def _for_api(job: ImportJob, problems: list[Problem]) -> list[Problem]:
    """Name a column's problem by its header (`mapping.<header>`), as the client sent it."""
    renamed = []
    for problem in problems:
        field = problem.field or ""
        if field.startswith("columns."):
            index = int(field.split(".", 1)[1])
            field = f"mapping.{job.headers[index]}"
        renamed.append(Problem(problem.code, field or None, problem.message))
    return renamed
