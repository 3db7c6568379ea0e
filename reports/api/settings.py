"""The report settings over the API: /api/v1/benchmarks/ and /api/v1/mql-targets/.

RevOps and managers read them (as the settings pages); only RevOps writes (403 for
everyone else, SDRs and AEs read nothing). Writes go through `reports.services`, the same
rules and audit as the pages; a body with unknown keys, values of the wrong kind or values
the rules refuse gets one 400 listing every problem, each naming its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.filters import parse_id
from crm.api.serializers import ERRORS, request_object, validate_all
from crm.exceptions import NotFound, Problem, ValidationFailed
from crm.models import User
from crm.web.requests import AuthedRequest
from leads.models import Source
from reports.api import serializers as s
from reports.models import BenchmarkChange, BenchmarkRange, MqlTarget, MqlTargetChange, ReportPolicy
from reports.services import (
    RangeEdit,
    TargetEdit,
    ThresholdsEdit,
    benchmarks_update,
    mql_targets_update,
    range_problems,
    threshold_problems,
)

CHANGES_LIMIT = 200


class _SettingsPermission(BasePermission):
    """Reads for those the page admits; writes for those who may edit."""

    view: str
    edit: str

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):  # anonymous: DRF answers "not authenticated"
            return False
        return user.has_perm(self.view if request.method in SAFE_METHODS else self.edit)


class BenchmarksPermission(_SettingsPermission):
    message = "Only RevOps changes the benchmarks; RevOps and managers read them."
    view, edit = "reports.view_benchmarks", "reports.edit_benchmarks"


class MqlTargetsPermission(_SettingsPermission):
    message = "Only RevOps changes the MQL targets; RevOps and managers read them."
    view, edit = "reports.view_mql_targets", "reports.edit_mql_targets"


# --- benchmarks -------------------------------------------------------------------------------


def _benchmarks() -> dict[str, Any]:
    policy = ReportPolicy.current()
    return {
        "ranges": s.BenchmarkRangeSerializer(
            BenchmarkRange.objects.order_by("source"), many=True
        ).data,
        "thresholds": {
            "pipeline_to_won_low": f"{policy.pipeline_to_won_low:.2f}",
            "pipeline_to_won_high": f"{policy.pipeline_to_won_high:.2f}",
        },
    }


def benchmark_edits(
    parsed: Mapping[str, Any],
) -> tuple[list[RangeEdit], ThresholdsEdit | None, list[Problem]]:
    """The service's edits for a parsed body, and what is wrong with them, each problem
    named by its place in the body (`ranges.1.high_percent`, `thresholds.…`)."""
    existing = {b.source: b for b in BenchmarkRange.objects.all()}
    edits: list[RangeEdit] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, item in enumerate(parsed.get("ranges") or []):
        at = f"ranges.{index}"
        source = item["source"]
        if source in seen:
            problems.append(Problem("duplicate", f"{at}.source", _("This source is listed twice.")))
            continue
        seen.add(source)
        current = existing.get(source)
        if item.get("delete"):
            if current is None:
                problems.append(
                    Problem("not_found", f"{at}.source", _("No range for this source."))
                )
            else:
                edits.append(
                    RangeEdit(current.pk, source, current.low_percent, current.high_percent, True)
                )
            continue
        low = item.get("low_percent", current.low_percent if current else None)
        high = item.get("high_percent", current.high_percent if current else None)
        missing = [n for n, v in (("low_percent", low), ("high_percent", high)) if v is None]
        for name in missing:
            problems.append(Problem("required", f"{at}.{name}", _("Required for a new range.")))
        if missing:
            continue
        edit = RangeEdit(current.pk if current else None, source, low, high)
        problems += [_at(p, at) for p in range_problems(edit)]
        edits.append(edit)
    thresholds = None
    if "thresholds" in parsed:
        policy = ReportPolicy.current()
        given = parsed["thresholds"] or {}
        thresholds = ThresholdsEdit(
            pipeline_to_won_low=given.get("pipeline_to_won_low", policy.pipeline_to_won_low),
            pipeline_to_won_high=given.get("pipeline_to_won_high", policy.pipeline_to_won_high),
        )
        problems += [_at(p, "thresholds") for p in threshold_problems(thresholds)]
    return edits, thresholds, problems


def _at(problem: Problem, prefix: str) -> Problem:
    field = f"{prefix}.{problem.field}" if problem.field else prefix
    return Problem(problem.code, field, problem.message)


class BenchmarksView(APIView):
    """The conversion-rate ranges per source and the pipeline-to-won thresholds."""

    permission_classes = [BenchmarksPermission]

    @extend_schema(summary="The benchmarks (RevOps, managers)", responses=s.BenchmarksSerializer)
    def get(self, request: AuthedRequest) -> Response:
        return Response(_benchmarks())

    @extend_schema(
        summary="Change the benchmarks (RevOps)",
        description="Add, change or delete ranges by source and set the thresholds, all or "
        "nothing; each change is audited (who, when, old -> new). Ranges not listed and "
        "thresholds left out stay as they are.",
        request=s.BenchmarksUpdateSerializer,
        responses={200: s.BenchmarksSerializer, 400: ERRORS},
    )
    def patch(self, request: AuthedRequest) -> Response:
        serializer = s.BenchmarksUpdateSerializer(data=request_object(request))
        data = validate_all(serializer, check=lambda parsed: benchmark_edits(parsed)[2])
        edits, thresholds, problems = benchmark_edits(data)
        if problems:
            raise ValidationFailed(problems=problems)
        benchmarks_update(by=request.user, ranges=edits, thresholds=thresholds)
        return Response(_benchmarks())


class BenchmarkChangesView(APIView):
    permission_classes = [BenchmarksPermission]

    @extend_schema(
        summary="The benchmarks' change history (RevOps, managers)",
        description=f"Who changed what, when, old -> new; the latest {CHANGES_LIMIT}, newest "
        "first.",
        responses=s.BenchmarkChangeSerializer(many=True),
    )
    def get(self, request: AuthedRequest) -> Response:
        rows = BenchmarkChange.objects.select_related("actor")[:CHANGES_LIMIT]
        return Response(s.BenchmarkChangeSerializer(rows, many=True).data)


# --- MQL targets ------------------------------------------------------------------------------


class _YearField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1900, max_value=2999, **kwargs)


class YearFilter(django_filters.NumberFilter):
    """A calendar year, a whole number (anything else is a 400 naming `year`)."""

    field_class = _YearField


class MqlTargetFilter(django_filters.FilterSet):
    year = YearFilter(field_name="month", lookup_expr="year", label="Calendar year")
    source = django_filters.ChoiceFilter(choices=Source.choices)

    class Meta:
        model = MqlTarget
        fields = ["year", "source"]


@extend_schema_view(
    list=extend_schema(
        summary="MQL targets per month and source (RevOps, managers)",
        description="Oldest month first. Filter with `?year=2026&source=inbound`.",
    ),
    retrieve=extend_schema(summary="One MQL target"),
    create=extend_schema(
        summary="Set a month's MQL target for a source (RevOps)",
        request=s.MqlTargetSerializer,
        responses={201: s.MqlTargetSerializer, 400: ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change an MQL target (RevOps)",
        request=s.MqlTargetUpdateSerializer,
        responses={200: s.MqlTargetSerializer, 400: ERRORS},
    ),
    destroy=extend_schema(summary="Remove an MQL target (RevOps)", responses={204: None}),
)
class MqlTargetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [MqlTargetsPermission]
    serializer_class = s.MqlTargetSerializer
    filterset_class = MqlTargetFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    request: AuthedRequest  # signed in: the permission refuses anyone else

    def get_queryset(self) -> QuerySet[MqlTarget]:
        return MqlTarget.objects.order_by("month", "source")

    def get_object(self) -> MqlTarget:
        pk = parse_id(self.kwargs.get("pk"))
        target = MqlTarget.objects.filter(pk=pk).first() if pk is not None else None
        if target is None:
            raise NotFound(_("No such MQL target."))
        return target

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.MqlTargetSerializer(data=request_object(request))
        data = validate_all(serializer, check=_already_set)
        problems = _already_set(data)
        if problems:
            raise ValidationFailed(problems=problems)
        edit = TargetEdit(data["month"], data["source"], data["target"])
        mql_targets_update(by=self.request.user, edits=[edit])
        created = MqlTarget.objects.get(month=edit.month, source=edit.source)
        return Response(s.MqlTargetSerializer(created).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        serializer = s.MqlTargetUpdateSerializer(target, data=request_object(request), partial=True)
        data = validate_all(serializer)
        if "target" in data:
            edit = TargetEdit(target.month, target.source, data["target"])
            mql_targets_update(by=self.request.user, edits=[edit])
            target.refresh_from_db()
        return Response(s.MqlTargetSerializer(target).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        edit = TargetEdit(target.month, target.source, None)
        mql_targets_update(by=self.request.user, edits=[edit])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The MQL targets' change history (RevOps, managers)",
        description=f"Who changed which target, when, old -> new; the latest {CHANGES_LIMIT}, "
        "newest first.",
        responses=s.MqlTargetChangeSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def changes(self, request: AuthedRequest) -> Response:
        rows = MqlTargetChange.objects.select_related("actor")[:CHANGES_LIMIT]
        return Response(s.MqlTargetChangeSerializer(rows, many=True).data)


def _already_set(parsed: Mapping[str, Any]) -> list[Problem]:
    """A month and source with a target already: change that one (PATCH) instead."""
    month, source = parsed.get("month"), parsed.get("source")
    if month is None or not source:
        return []
    existing = MqlTarget.objects.filter(month=month, source=source).first()
    if existing is None:
        return []
    return [
        Problem(
            "exists",
            "source",
            _("This month already has a target for this source (id %(id)s); change it.")
            % {"id": existing.pk},
        )
    ]
