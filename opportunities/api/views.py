"""Opportunities API and the conversion endpoints on leads. Thin: parse, call a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.exports import CsvNegotiation, csv_export_schema, refuse_unknown_filters
from crm.api.filters import IdFilter, IdsFilter, StrictBooleanFilter, parse_id
from crm.api.lean import LeanFilterBackend, LeanReadMixin
from crm.api.ordering import OrderingFilter, SortedKeysetPagination
from crm.api.serializers import ERRORS, request_object, validate_all
from crm.csv_safe import reader_zone, streaming_csv_response
from crm.exceptions import NotFound, Problem, ValidationFailed
from crm.idempotency import idempotent
from crm.web.requests import AuthedRequest
from leads.access import lead_for
from leads.gate import conversion_checklist
from leads.models import Lead, Qualification, Source
from opportunities import exports, selectors, services
from opportunities.access import opportunity_for, override_request_for
from opportunities.api import serializers as s
from opportunities.conversion import input_problems, parse_input, unknown_field_problems
from opportunities.models import ConversionPolicy, Opportunity, OpportunityQuerySet, Stage

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key return the first result (kept 24 h or more).",
)


class OpportunityCursorPagination(SortedKeysetPagination):
    """In the `?ordering=` asked (`selectors.OPPORTUNITY_SORTS`; newest first by default),
    the id breaking ties."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class OpportunityFilter(django_filters.FilterSet):
    stage = IdsFilter(queryset=Stage.objects.all())
    owner = IdFilter(field_name="owner_id")
    source = django_filters.ChoiceFilter(choices=Source.choices)
    currency = django_filters.CharFilter()
    is_open = StrictBooleanFilter(method="filter_open")
    is_override = StrictBooleanFilter()

    class Meta:
        model = Opportunity
        fields = ["stage", "owner", "source", "currency", "approval", "is_override"]

    def filter_open(
        self, queryset: OpportunityQuerySet, name: str, value: bool
    ) -> OpportunityQuerySet:
        return queryset.open() if value else queryset.exclude(pk__in=queryset.open().values("pk"))


class OpportunityViewSet(
    LeanReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.OpportunitySerializer
    pagination_class = OpportunityCursorPagination
    filterset_class = OpportunityFilter
    filter_backends = [LeanFilterBackend, OrderingFilter]
    sort_spec = selectors.OPPORTUNITY_SORTS
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The list and the detail: OpportunitySerializer's output from the columns it shows.
    lean_shape = s.OPPORTUNITY_SHAPE

    request: AuthedRequest

    def get_queryset(self) -> QuerySet[Opportunity]:
        return selectors.api_opportunities(self.request.user)

    def lean_queryset(self) -> QuerySet[Any]:
        # `get_queryset()`'s scope on the shape's rows (their joins made once, not per request).
        return self.lean_shape.template().visible_to(self.request.user)  # type: ignore[attr-defined]

    def get_object(self) -> Opportunity:
        return opportunity_for(self.request.user, self.kwargs["pk"], queryset=self.get_queryset())

    def _deal_to_work(self) -> Opportunity:
        return opportunity_for(
            self.request.user, self.kwargs["pk"], to="work", queryset=self.get_queryset()
        )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "partial_update":
            return s.OpportunityPatchSerializer
        return super().get_serializer_class()

    def _respond(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        opportunity = self.get_queryset().get(pk=pk)
        return with_etag(
            Response(s.OpportunitySerializer(opportunity).data, status=code), opportunity.version
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.lean_list(request)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Scoped by `Opportunity.objects.visible_to`: every deal in it passes the
        # `opportunities.view_opportunity` rule, so a deal outside is `opportunity_for`'s 404.
        return self.lean_retrieve(self.kwargs["pk"], not_found=_("No such deal."))

    @extend_schema(
        request=s.ConversionInputSerializer,
        responses={201: s.OpportunitySerializer, 400: ERRORS, 422: ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Opportunities are born from leads: POST here converts the lead named in `lead`."""
        return _convert(self.request, _lead_in_body(request_object(request)), in_body=True)

    @extend_schema(parameters=[IF_MATCH], responses={200: s.OpportunitySerializer, 400: ERRORS})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opportunity = self._deal_to_work()
        data = validate_all(
            self.get_serializer(opportunity, data=request.data, partial=True),
            check=lambda parsed: services.edit_problems(
                parsed, policy=ConversionPolicy.current(), opportunity=opportunity
            ),
        )
        version = expected_version(request, data.pop("version", None))
        services.opportunity_update(
            opportunity_id=opportunity.pk, by=self.request.user, data=data, expected_version=version
        )
        return self._respond(opportunity.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @csv_export_schema(
        "Every deal the list's filters match, as a CSV file: the same filters, `ordering` "
        "and scope as `GET /api/v1/opportunities/` (a user exports only the deals they may "
        "see), without pages."
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        content_negotiation_class=CsvNegotiation,
    )
    def export(self, request: AuthedRequest) -> StreamingHttpResponse:
        refuse_unknown_filters(request, self.filterset_class)
        deals = self.filter_queryset(self.get_queryset())
        zone = reader_zone(request.user)
        day = timezone.now().astimezone(zone).date().isoformat()
        return streaming_csv_response(
            f"threshold-opportunities-{day}",
            exports.opportunity_export_header(),
            exports.opportunity_export_rows(deals, zone=zone),
        )

    @extend_schema(
        request=s.StageMoveSerializer,
        responses={200: s.OpportunitySerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def stage(self, request: AuthedRequest, pk: str | None = None) -> Response:
        opportunity = self._deal_to_work()
        data = validate_all(s.StageMoveSerializer(data=request.data))
        services.opportunity_move_stage(
            opportunity_id=opportunity.pk,
            by=request.user,
            to=data["stage"],
            reason=data["reason"],
            lost_reason=data["lost_reason"],
            lost_to_competitor=data["lost_to_competitor"],
            expected_version=expected_version(request, data.get("version")),
        )
        return self._respond(opportunity.pk)

    @extend_schema(
        responses=s.StageChangeSerializer(many=True),
        description="Every stage move of the deal, oldest first (one list, no pages).",
    )
    # One list, not the deals' pages and filters (the schema said otherwise).
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: AuthedRequest, pk: str | None = None) -> Response:
        opportunity = self.get_object()
        return Response(s.StageChangeSerializer(opportunity.stage_changes.all(), many=True).data)


def _lead_in_body(body: Mapping[str, Any]) -> int:
    """The id of the lead named by `lead` in a body: a whole number, or a 400 naming it."""
    value = body.get("lead")
    if value in (None, ""):
        raise ValidationFailed(
            problems=[
                Problem(
                    "required",
                    "lead",
                    _("Name the lead to convert; every opportunity comes from a lead."),
                )
            ]
        )
    lead_id = parse_id(value)
    if lead_id is None:
        raise ValidationFailed(problems=[Problem("invalid", "lead", _("Give the lead's id."))])
    return lead_id


def _lead_to_convert(request: AuthedRequest, lead_id: int, *, in_body: bool) -> Lead:
    """The lead, if the user may see it; named in the body, an unknown one is a field problem."""
    try:
        return lead_for(request.user, lead_id)
    except NotFound:
        if not in_body:
            raise
        raise ValidationFailed(
            problems=[Problem("does_not_exist", "lead", _("No such lead."))]
        ) from None


def _refuse_unknown_fields(lead: Lead, raw: Mapping[str, Any], *, with_gate: bool) -> None:
    """Keys that name no conversion field are refused (400), with every other problem of
    the body (and, `with_gate`, of the lead) as the service would list them."""
    unknown = unknown_field_problems(raw)
    if not unknown:
        return
    if with_gate:
        _data, problems = services.conversion_check(lead, dict(raw))
    else:
        data, problems = parse_input(raw)
        problems += input_problems(
            data, policy=ConversionPolicy.current(), today=timezone.localdate()
        )
    raise ValidationFailed(problems=unknown + problems)


def _convert(request: AuthedRequest, lead_id: int, *, in_body: bool = False) -> Response:
    lead = _lead_to_convert(request, lead_id, in_body=in_body)
    body = request_object(request)
    raw = {key: body[key] for key in body if key != "lead"}
    _refuse_unknown_fields(lead, raw, with_gate=True)

    def run() -> Response:
        opportunity = services.lead_convert(lead_id=lead.pk, by=request.user, raw=raw)
        opportunity = selectors.api_opportunity(opportunity.pk)
        status_code = status.HTTP_201_CREATED
        return Response(s.OpportunitySerializer(opportunity).data, status=status_code)

    return idempotent(request, scope=f"lead-convert:{lead.pk}", run=run)


class LeadReadinessView(APIView):
    @extend_schema(responses=s.ReadinessSerializer)
    def get(self, request: AuthedRequest, pk: int) -> Response:
        """Can this lead convert, and if not, exactly why (the same gate the service uses)."""
        lead = lead_for(request.user, pk)
        checklist = conversion_checklist(lead, Qualification.objects.filter(lead=lead).first())
        problems = [c.as_problem().as_dict() for c in checklist if not c.met]
        return Response(
            {
                "ready": not problems,
                "problems": problems,
                "checklist": [
                    {"code": c.code, "field": c.field, "label": str(c.label), "met": c.met}
                    for c in checklist
                ],
            }
        )


class LeadConvertView(APIView):
    @extend_schema(
        request=s.ConversionInputSerializer,
        responses={201: s.OpportunitySerializer, 400: ERRORS, 422: ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: AuthedRequest, pk: int) -> Response:
        """Convert: 201 with the opportunity; 422 listing every problem; 409 if converted."""
        return _convert(request, pk)


class LeadOverrideRequestView(APIView):
    @extend_schema(
        request=s.ConversionInputSerializer,
        responses={201: s.OverrideRequestCreatedSerializer, 400: ERRORS, 422: ERRORS},
    )
    def post(self, request: AuthedRequest, pk: int) -> Response:
        """Ask a manager to approve converting with criteria unmet (rationale required):
        201 with the request; 422 when it cannot be asked (a field is missing, or a
        criterion that may not be waived is unmet)."""
        lead = lead_for(request.user, pk)
        body = request_object(request)
        raw = {key: body[key] for key in body}
        rationale_value = raw.pop("override_rationale", "") or ""
        if not isinstance(rationale_value, str):
            raise ValidationFailed(
                problems=[Problem("invalid", "override_rationale", _("Enter text."))]
            )
        _refuse_unknown_fields(lead, raw, with_gate=False)
        rationale = rationale_value
        created = services.conversion_request_create(
            lead_id=lead.pk, by=request.user, raw=raw, rationale=rationale
        )
        return Response(
            {"id": created.pk, "state": created.state, "unmet": created.unmet},
            status=status.HTTP_201_CREATED,
        )


class OverrideDecisionView(APIView):
    @extend_schema(
        request=s.OverrideDecisionSerializer,
        responses={200: s.OverrideDecidedSerializer, 400: ERRORS, 422: ERRORS},
    )
    def post(self, request: AuthedRequest, pk: int, decision: str) -> Response:
        """Approve (the lead converts, flagged) or decline an override request."""
        if decision not in ("approve", "decline"):
            raise NotFound(_("No such decision: approve or decline."))
        request_id = override_request_for(request.user, pk).pk
        note = validate_all(s.OverrideDecisionSerializer(data=request.data))["note"]
        decide = (
            services.conversion_request_approve
            if decision == "approve"
            else services.conversion_request_decline
        )
        decided = decide(request_id=request_id, by=request.user, note=note)
        return Response(
            {"id": decided.pk, "state": decided.state, "opportunity": decided.opportunity_id}
        )
