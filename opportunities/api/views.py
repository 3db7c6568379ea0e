"""Opportunities API and the conversion endpoints on leads. Thin: parse, call a service."""

from __future__ import annotations

from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.pagination import KeysetPagination
from crm.exceptions import NotAllowed, Problem, ValidationFailed
from crm.idempotency import idempotent
from crm.web.requests import AuthedRequest
from leads.access import lead_for
from leads.gate import conversion_checklist
from leads.models import Qualification
from opportunities import selectors, services
from opportunities.access import opportunity_for, override_request_for
from opportunities.api import serializers as s
from opportunities.models import Opportunity, OpportunityQuerySet, Stage

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key return the first result (kept 24 h or more).",
)


class OpportunityCursorPagination(KeysetPagination):
    """Newest first, the id breaking ties: the deal list's order (`selectors.LIST_ORDER`)."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class OpportunityFilter(django_filters.FilterSet):
    stage = django_filters.ModelMultipleChoiceFilter(queryset=Stage.objects.all())
    owner = django_filters.NumberFilter(field_name="owner_id")
    source = django_filters.CharFilter()
    currency = django_filters.CharFilter()
    is_open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Opportunity
        fields = ["stage", "owner", "source", "currency", "approval", "is_override"]

    def filter_open(
        self, queryset: OpportunityQuerySet, name: str, value: bool
    ) -> OpportunityQuerySet:
        return queryset.open() if value else queryset.exclude(pk__in=queryset.open().values("pk"))


class OpportunityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.OpportunitySerializer
    pagination_class = OpportunityCursorPagination
    filterset_class = OpportunityFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    request: AuthedRequest

    def get_queryset(self) -> QuerySet[Opportunity]:
        return selectors.api_opportunities(self.request.user)

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

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object().pk)

    @extend_schema(request=s.ConversionInputSerializer, responses={201: s.OpportunitySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Opportunities are born from leads: POST here converts the lead named in `lead`."""
        lead_id = request.data.get("lead")
        if not lead_id:
            raise ValidationFailed(
                problems=[
                    Problem(
                        "required",
                        "lead",
                        "Name the lead to convert; every opportunity comes from a lead.",
                    )
                ]
            )
        return _convert(self.request, lead_id)

    @extend_schema(parameters=[IF_MATCH])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opportunity = self._deal_to_work()
        serializer = self.get_serializer(opportunity, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = expected_version(request, data.pop("version", None))
        services.opportunity_update(
            opportunity_id=opportunity.pk, by=self.request.user, data=data, expected_version=version
        )
        return self._respond(opportunity.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        request=s.StageMoveSerializer, responses=s.OpportunitySerializer, parameters=[IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def stage(self, request: AuthedRequest, pk: str | None = None) -> Response:
        opportunity = self._deal_to_work()
        serializer = s.StageMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
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

    @extend_schema(responses=s.StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: AuthedRequest, pk: str | None = None) -> Response:
        opportunity = self.get_object()
        return Response(s.StageChangeSerializer(opportunity.stage_changes.all(), many=True).data)


def _convert(request: AuthedRequest, lead_id: Any) -> Response:
    lead = lead_for(request.user, lead_id)

    def run() -> Response:
        raw = dict(request.data)
        raw.pop("lead", None)
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
        responses={201: s.OpportunitySerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: AuthedRequest, pk: int) -> Response:
        """Convert: 201 with the opportunity; 422 listing every problem; 409 if converted."""
        return _convert(request, pk)


class LeadOverrideRequestView(APIView):
    @extend_schema(request=s.ConversionInputSerializer, responses={201: None})
    def post(self, request: AuthedRequest, pk: int) -> Response:
        """Ask a manager to approve converting with criteria unmet (rationale required)."""
        lead = lead_for(request.user, pk)
        raw = dict(request.data)
        rationale = str(raw.pop("override_rationale", "") or "")
        created = services.conversion_request_create(
            lead_id=lead.pk, by=request.user, raw=raw, rationale=rationale
        )
        return Response(
            {"id": created.pk, "state": created.state, "unmet": created.unmet},
            status=status.HTTP_201_CREATED,
        )


class OverrideDecisionView(APIView):
    @extend_schema(request=None, responses={200: None})
    def post(self, request: AuthedRequest, pk: int, decision: str) -> Response:
        """Approve (the lead converts, flagged) or decline an override request."""
        if decision not in ("approve", "decline"):
            raise NotAllowed("Unknown decision.")
        request_id = override_request_for(request.user, pk).pk
        note = str(request.data.get("note", ""))
        decide = (
            services.conversion_request_approve
            if decision == "approve"
            else services.conversion_request_decline
        )
        decided = decide(request_id=request_id, by=request.user, note=note)
        return Response(
            {"id": decided.pk, "state": decided.state, "opportunity": decided.opportunity_id}
        )
