"""The leads API. Reads are scoped by `Lead.objects.visible_to`; every state change is
an explicit action that calls one service. Versions travel as ETag / If-Match."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.etags import IF_MATCH, expected_version, with_etag
from leads import services
from leads.api import serializers as s
from leads.models import Activity, Lead, Qualification, Source
from sla.api.serializers import SlaTimerSerializer
from sla.models import SlaTimer


class LeadCursorPagination(CursorPagination):
    """Keyset pagination: constant cost per page, no COUNT(*) over the table."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    owner = django_filters.NumberFilter(field_name="owner_id")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Lead
        fields = ["status", "source", "owner", "search"]

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(company_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(first_name__icontains=value)
            | Q(email__icontains=value)
        )


class LeadViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.LeadSerializer
    pagination_class = LeadCursorPagination
    filterset_class = LeadFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Lead]:
        return Lead.objects.visible_to(self.request.user).select_related(
            "owner", "ae", "rejection_reason"
        )

    def get_serializer_class(self) -> type:
        if self.action == "partial_update":
            return s.LeadPatchSerializer
        return super().get_serializer_class()

    def _lead_response(self, lead_id: int, code: int = status.HTTP_200_OK) -> Response:
        lead = self.get_queryset().get(pk=lead_id)
        return with_etag(Response(s.LeadSerializer(lead).data, status=code), lead.version)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        return with_etag(Response(s.LeadSerializer(lead).data), lead.version)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        lead = services.lead_create(
            by=user,
            data=serializer.validated_data,
            owner=user if user.is_sdr else None,
            via="api",
        )
        return self._lead_response(lead.pk, status.HTTP_201_CREATED)

    @extend_schema(parameters=[IF_MATCH])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        serializer = self.get_serializer(lead, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = expected_version(request, data.pop("version", None))
        services.lead_update(lead_id=lead.pk, by=request.user, data=data, expected_version=version)
        return self._lead_response(lead.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    # --- lifecycle actions -----------------------------------------------------------------

    def _run(self, request: Request, serializer_class: type, call: Any) -> Response:
        lead = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = expected_version(request, data.pop("version", None))
        call(lead, data, version)
        return self._lead_response(lead.pk)

    @extend_schema(request=s.ReasonSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.ReasonSerializer,
            lambda lead, d, v: services.lead_accept(
                lead_id=lead.pk, by=request.user, reason=d["reason"], expected_version=v
            ),
        )

    @extend_schema(request=s.RejectSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.RejectSerializer,
            lambda lead, d, v: services.lead_reject(
                lead_id=lead.pk,
                by=request.user,
                reason_code=d["reason"],
                note=d["note"],
                expected_version=v,
            ),
        )

    @extend_schema(request=s.ReasonSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def qualify(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.ReasonSerializer,
            lambda lead, d, v: services.lead_qualify(
                lead_id=lead.pk, by=request.user, reason=d["reason"], expected_version=v
            ),
        )

    @extend_schema(
        request=s.HandoffInputSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def handoff(self, request: Request, pk: str | None = None) -> Response:
        def call(lead: Lead, d: dict, v: int | None) -> None:
            services.lead_hand_off(
                lead_id=lead.pk,
                by=request.user,
                to_user=d.pop("to_user", None),
                discovery_meeting_at=d.pop("discovery_meeting_at", None),
                package=d,
                expected_version=v,
            )

        return self._run(request, s.HandoffInputSerializer, call)

    @extend_schema(
        request=s.RequiredReasonSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def nurture(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.RequiredReasonSerializer,
            lambda lead, d, v: services.lead_nurture(
                lead_id=lead.pk, by=request.user, reason=d["reason"], expected_version=v
            ),
        )

    @extend_schema(
        request=s.RequiredReasonSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def disqualify(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.RequiredReasonSerializer,
            lambda lead, d, v: services.lead_disqualify(
                lead_id=lead.pk, by=request.user, reason=d["reason"], expected_version=v
            ),
        )

    @extend_schema(
        request=s.RequiredReasonSerializer, responses=s.LeadSerializer, parameters=[IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.RequiredReasonSerializer,
            lambda lead, d, v: services.lead_reopen(
                lead_id=lead.pk, by=request.user, reason=d["reason"], expected_version=v
            ),
        )

    @extend_schema(request=s.AssignSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.AssignSerializer,
            lambda lead, d, v: services.lead_assign(
                lead_id=lead.pk, by=request.user, owner=d["owner"], reason=d["reason"]
            ),
        )

    @extend_schema(request=s.DiscoverySerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def discovery(self, request: Request, pk: str | None = None) -> Response:
        return self._run(
            request,
            s.DiscoverySerializer,
            lambda lead, d, v: services.lead_record_discovery(
                lead_id=lead.pk,
                by=request.user,
                held_at=d.get("held_at"),
                rating=d.get("rating"),
                repeated_discovery=d.get("repeated_discovery"),
            ),
        )

    # --- nested resources -------------------------------------------------------------------

    @extend_schema(methods=["PATCH"], request=s.QualificationSerializer, parameters=[IF_MATCH])
    @extend_schema(responses=s.QualificationSerializer)
    @action(detail=True, methods=["get", "patch"])
    def qualification(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        if request.method == "PATCH":
            serializer = s.QualificationSerializer(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            version = expected_version(request, data.pop("version", None))
            services.qualification_update(
                lead_id=lead.pk, by=request.user, data=data, expected_version=version
            )
        # Leads made before intake created qualifications have none yet: show the blank one.
        qualification = Qualification.objects.filter(lead=lead).first() or Qualification(lead=lead)
        return with_etag(
            Response(s.QualificationSerializer(qualification).data), qualification.version
        )

    @extend_schema(methods=["POST"], request=s.ActivitySerializer)
    @extend_schema(responses=s.ActivitySerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def activities(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        if request.method == "POST":
            serializer = s.ActivitySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            activity = services.activity_log(
                lead_id=lead.pk, by=request.user, **serializer.validated_data
            )
            return Response(s.ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)
        rows = Activity.objects.filter(lead=lead).order_by("-created_at")[:200]
        return Response(s.ActivitySerializer(rows, many=True).data)

    @extend_schema(responses=SlaTimerSerializer(many=True))
    @action(detail=True, methods=["get"])
    def sla(self, request: Request, pk: str | None = None) -> Response:
        """The lead's SLA clocks, running first, each with its stored due time and state."""
        lead = self.get_object()
        timers = (
            SlaTimer.objects.filter(lead=lead)
            .select_related("policy")
            .order_by(F("stopped_at").desc(nulls_first=True), "due_at")
        )
        return Response(SlaTimerSerializer(timers, many=True, context={"now": timezone.now()}).data)

    @extend_schema(responses=s.TransitionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def transitions(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        return Response(s.TransitionSerializer(lead.transitions.all(), many=True).data)
