"""The capture API: RevOps' web forms (/api/v1/forms/) and intake keys
(/api/v1/intake-keys/), and the webhook marketing automation posts leads to
(/api/v1/intake/, with an intake key instead of a user token).

Forms: managers and RevOps read, RevOps writes; versions travel as ETag / If-Match.
Keys: RevOps only; the secret is in the answer that makes the key, and never again.
The webhook takes one lead or `{"leads": [...]}` (up to 500); every row is its own
intake (its own transaction), answered in order with its outcome or its problems: 200
when every row made or found a lead, 207 when some did not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from capture import access, selectors
from capture.api.auth import HasIntakeKey, IntakeKeyAuthentication, IntakeKeyThrottle
from capture.api.serializers import (
    MAX_BATCH,
    IntakeKeyCreatedSerializer,
    IntakeKeyCreateSerializer,
    IntakeKeySerializer,
    IntakeLeadSerializer,
    IntakeRequestSerializer,
    IntakeResponse,
    WebFormPatchSerializer,
    WebFormSerializer,
)
from capture.models import IntakeKey, WebForm
from capture.services.forms import (
    web_form_create,
    web_form_problems,
    web_form_update,
    web_form_values,
)
from capture.services.keys import intake_key_create, intake_key_revoke
from capture.services.webhook import webhook_intake
from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.parsers import BoundedJSONParser
from crm.api.serializers import ERRORS, request_object, validate_all
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.web.requests import AuthedRequest
from leads import gate


class FormsPermission(BasePermission):
    """Reads for managers and RevOps; writes for RevOps (`capture.rules`)."""

    message = "Only RevOps may change web forms; managers may read them."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):  # anonymous: DRF answers "not authenticated"
            return False
        return access.may_forms(user, "view" if request.method in SAFE_METHODS else "change")


class KeysPermission(BasePermission):
    message = "Intake keys are for RevOps."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and bool(user.has_perm(access.KEYS_PERMISSION))


@extend_schema_view(
    list=extend_schema(summary="The web-to-lead forms, with their submission counts"),
    retrieve=extend_schema(summary="One web form", responses={200: WebFormSerializer}),
    create=extend_schema(
        summary="Add a web form (RevOps); its key is made for it",
        responses={201: WebFormSerializer, 400: ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change a web form (RevOps)",
        parameters=[IF_MATCH],
        responses={200: WebFormSerializer, 400: ERRORS},
    ),
)
class WebFormViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebFormSerializer
    permission_classes = [FormsPermission]
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends: list[Any] = []
    request: AuthedRequest

    def get_queryset(self) -> QuerySet[WebForm]:
        return selectors.web_forms()

    def get_serializer_class(self) -> type[WebFormSerializer]:
        if self.action == "partial_update":
            return WebFormPatchSerializer
        return WebFormSerializer

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        form = selectors.web_form(pk)
        data = WebFormSerializer(form, context=self.get_serializer_context()).data
        return with_etag(Response(data, status=code), form.version)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = access.web_form_for(self.request.user, kwargs.get("pk"), to="view")
        return self._answer(form.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebFormSerializer(data=request_object(request))
        data = validate_all(
            serializer, check=lambda parsed: web_form_problems(web_form_values(parsed))
        )
        form = web_form_create(by=self.request.user, data=data)
        return self._answer(form.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = access.web_form_for(self.request.user, kwargs.get("pk"), to="change")
        serializer = WebFormPatchSerializer(form, data=request_object(request), partial=True)
        data = validate_all(
            serializer,
            check=lambda parsed: web_form_problems(web_form_values(parsed, form=form), form=form),
        )
        version = expected_version(request, data.pop("version", None))
        web_form_update(form_id=form.pk, by=self.request.user, data=data, expected_version=version)
        return self._answer(form.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="The intake keys (RevOps); secrets are never listed"),
    retrieve=extend_schema(summary="One intake key (RevOps)"),
)
class IntakeKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IntakeKeySerializer
    permission_classes = [KeysPermission]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends: list[Any] = []
    request: AuthedRequest

    def get_queryset(self) -> QuerySet[IntakeKey]:
        return selectors.intake_keys()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = access.intake_key_for(self.request.user, kwargs.get("pk"))
        return Response(IntakeKeySerializer(key).data)

    @extend_schema(
        summary="Make an intake key (RevOps): the answer holds its secret, shown this once",
        request=IntakeKeyCreateSerializer,
        responses={201: IntakeKeyCreatedSerializer, 400: ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validate_all(IntakeKeyCreateSerializer(data=request_object(request)))
        made = intake_key_create(by=self.request.user, name=data["name"])
        answer = IntakeKeySerializer(made.key).data | {"secret": made.secret}
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an intake key (RevOps): it stops working at once, for good",
        request=None,
        responses={200: IntakeKeySerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: AuthedRequest, pk: str | None = None) -> Response:
        key = access.intake_key_for(self.request.user, pk)
        intake_key_revoke(key_id=key.pk, by=self.request.user)
        return Response(IntakeKeySerializer(access.intake_key_for(self.request.user, key.pk)).data)


# --- the webhook ------------------------------------------------------------------------------


def _rows(body: Any) -> list[Any]:
    """The rows of a webhook body: the object itself, or its `leads` list."""
    if not isinstance(body, Mapping):
        raise ValidationFailed(
            problems=[Problem("invalid", None, _('Send one lead object, or {"leads": [...]}.'))]
        )
    if "leads" not in body:
        return [body]
    others = sorted(k for k in body if k != "leads")
    if others:
        raise ValidationFailed(
            problems=[Problem("unknown_field", k, _("A batch holds only “leads”.")) for k in others]
        )
    rows = body["leads"]
    if not isinstance(rows, list):
        raise ValidationFailed(
            problems=[Problem("invalid", "leads", _("“leads” is a list of lead objects."))]
        )
    if not rows:
        raise ValidationFailed(problems=[Problem("empty", "leads", _("Send at least one lead."))])
    if len(rows) > MAX_BATCH:
        raise ValidationFailed(
            problems=[
                Problem(
                    "too_many",
                    "leads",
                    _("At most %(max)d leads per request; this one has %(n)d.")
                    % {"max": MAX_BATCH, "n": len(rows)},
                )
            ]
        )
    return rows


def _row_result(index: int, row: Any, key: IntakeKey) -> dict[str, Any]:
    """One row through the intake: its outcome and lead, or its problems."""
    try:
        if not isinstance(row, Mapping):
            raise ValidationFailed(
                problems=[Problem("invalid", None, _("Each lead is an object of fields."))]
            )
        data = validate_all(IntakeLeadSerializer(data=row), check=gate.intake_problems)
        result = webhook_intake(key=key, data=data)
    except ValidationFailed as error:
        return {"index": index, "errors": error.as_list()}
    return {"index": index, "outcome": result.outcome, "lead": result.lead.pk}


class IntakeView(APIView):
    """POST /api/v1/intake/: leads from marketing automation, with an intake key."""

    authentication_classes = [IntakeKeyAuthentication]
    permission_classes = [HasIntakeKey]
    throttle_classes = [IntakeKeyThrottle]
    parser_classes: list[type[BaseParser]] = [BoundedJSONParser]

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        """No key at all: a 401 that names the header to send, not DRF's "Authentication
        credentials were not provided." (a marketing tool's admin reads this)."""
        if not isinstance(request.auth, IntakeKey):
            raise exceptions.NotAuthenticated(HasIntakeKey.message, code="missing_intake_key")
        super().permission_denied(request, message, code)

    @extend_schema(
        operation_id="intake_create",
        summary="Send leads: one, or a batch of up to 500 (intake key)",
        description=(
            "Authenticated by an intake key in `X-Intake-Key` (no user token). The body is "
            'one lead object, or `{"leads": [...]}` with 1 to 500 of them. Each row goes '
            "through the same intake as a lead entered by hand (required fields, duplicate "
            "check, routing), in its own transaction: a failing row does not stop the "
            "others. The answer lists one result per row, in order: `outcome` and `lead` "
            "(`deduplicated`: the person already has an open lead, which got a touch), or "
            "`errors`. 200 when no row failed, 207 when some did. A body that is not one of "
            "the two shapes, or has more than 500 rows, is a 400 naming the field."
        ),
        request=IntakeRequestSerializer,
        responses={
            200: OpenApiResponse(IntakeResponse, description="Every row made or found a lead."),
            207: OpenApiResponse(
                IntakeResponse, description="Some rows failed: see each row's `errors`."
            ),
            400: ERRORS,
            401: OpenApiResponse(
                ERRORS.response,
                description="No X-Intake-Key, or one that is unknown or revoked.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        key = request.auth
        assert isinstance(key, IntakeKey)  # HasIntakeKey
        results = [_row_result(i, row, key) for i, row in enumerate(_rows(request.data))]
        failed = sum(1 for r in results if "errors" in r)
        body = {
            "results": results,
            "created": sum(1 for r in results if r.get("outcome") == "created"),
            "deduplicated": sum(1 for r in results if r.get("outcome") == "deduplicated"),
            "failed": failed,
        }
        return Response(body, status=status.HTTP_207_MULTI_STATUS if failed else status.HTTP_200_OK)
