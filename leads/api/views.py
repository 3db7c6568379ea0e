"""The leads API. Reads are scoped by `Lead.objects.visible_to` (`leads.selectors`);
every state change is an explicit action that fetches the lead through
`leads.access.lead_for` and calls one service. Versions travel as ETag / If-Match.

A lead's SLA clocks (`/api/v1/leads/{id}/sla/`) are served by the `sla` app's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.exports import CsvNegotiation, csv_export_schema, refuse_unknown_filters
from crm.api.filters import ChoicesFilter, IdFilter
from crm.api.lean import LeanFilterBackend, LeanReadMixin
from crm.api.ordering import OrderingFilter, SortedKeysetPagination
from crm.api.serializers import ERRORS, Check, validate_all
from crm.csv_safe import reader_zone, streaming_csv_response
from crm.web.requests import AuthedRequest
from leads import exports, gate, selectors, services
from leads.access import LeadAction, lead_for
from leads.api import serializers as lead_serializers
from leads.models import Lead, Qualification, Source
from leads.services.lifecycle import disqualify_problems

# A lifecycle action: (the lead, the validated input, the version the client saw).
LeadStep = Callable[[Lead, dict[str, Any], int | None], object]


class LeadKeysetPagination(SortedKeysetPagination):
    """Keyset pagination in the `?ordering=` asked: constant cost per page, no COUNT(*)."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class LeadFilter(django_filters.FilterSet):
    status = ChoicesFilter(choices=Lead.Status.choices)
    source = ChoicesFilter(choices=Source.choices)
    owner = IdFilter(field_name="owner_id")
    due = django_filters.ChoiceFilter(
        choices=[(selectors.OVERDUE, "overdue"), (selectors.DUE_TODAY, "today")],
        method="filter_due",
        help_text="The queue's SLA filter: a running clock overdue, or due today in the "
        "user's time zone.",
    )
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Lead
        fields = ["status", "source", "owner", "due", "search"]

    def filter_due(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        zone = reader_zone(self.request.user) if self.request is not None else None
        return queryset.filter(selectors.due_filter(value, timezone.now(), zone))

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(selectors.matching_text(value))


class LeadViewSet(
    LeanReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = lead_serializers.LeadSerializer
    pagination_class = LeadKeysetPagination
    filterset_class = LeadFilter
    filter_backends = [LeanFilterBackend, OrderingFilter]
    sort_spec = selectors.LEAD_SORTS
    http_method_names = ["get", "post", "patch", "head", "options"]
    request: AuthedRequest
    # The list and the detail: LeadSerializer's output from the columns it shows.
    lean_shape = lead_serializers.LEAD_SHAPE

    def get_queryset(self) -> QuerySet[Lead]:
        return selectors.leads_for_api(self.request.user)

    def lean_queryset(self) -> QuerySet[Any]:
        # `get_queryset()`'s scope on the shape's rows (their joins made once, not per request).
        return self.lean_shape.template().visible_to(self.request.user)  # type: ignore[attr-defined]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "partial_update":
            return lead_serializers.LeadPatchSerializer
        return super().get_serializer_class()

    def get_object(self) -> Lead:
        return self._lead()

    def _lead(self, to: LeadAction = "view") -> Lead:
        """The lead in the URL, if the user may do `to` with it (404 / 403 otherwise)."""
        return lead_for(self.request.user, self.kwargs["pk"], to=to, queryset=self.get_queryset())

    def _lead_response(self, lead_id: int, code: int = status.HTTP_200_OK) -> Response:
        lead = self.get_queryset().get(pk=lead_id)
        return with_etag(
            Response(lead_serializers.LeadSerializer(lead).data, status=code), lead.version
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.lean_list(request)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Scoped by `Lead.objects.visible_to`, the `leads.view_lead` rule as a query: a
        # lead the user may not see is the same 404 as `lead_for` gives.
        return self.lean_retrieve(self.kwargs["pk"], not_found=_("No such lead."))

    @extend_schema(
        responses={
            201: lead_serializers.LeadCreatedSerializer,
            200: lead_serializers.LeadDeduplicatedSerializer,
            400: ERRORS,
        },
        description="Intake. A person (e-mail, else name at company domain) who already "
        "has a live lead gets no second one: the submission is recorded as a touch on that "
        "lead and the answer is 200 with `outcome` `deduplicated`. Otherwise 201 with the "
        "new lead and `outcome` `created`.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A body the serializer refuses is also read by the intake rules: every problem at once.
        data = validate_all(self.get_serializer(data=request.data), check=gate.intake_problems)
        user = self.request.user
        result = services.lead_intake(
            by=user, data=data, owner=user if user.is_sdr else None, via="api"
        )
        if result.outcome == "deduplicated":
            visible = self.get_queryset().filter(pk=result.lead.pk).first()
            body = {
                "outcome": result.outcome,
                "id": result.lead.pk,
                "lead": lead_serializers.LeadSerializer(visible).data if visible else None,
            }
            return Response(body, status=status.HTTP_200_OK)
        lead = self.get_queryset().get(pk=result.lead.pk)
        created = lead_serializers.LeadSerializer(lead).data | {"outcome": result.outcome}
        return with_etag(Response(created, status=status.HTTP_201_CREATED), lead.version)

    @extend_schema(
        parameters=[IF_MATCH], responses={200: lead_serializers.LeadSerializer, 400: ERRORS}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self._lead(to="work")
        current = {name: getattr(lead, name) for name in services.EDITABLE_FIELDS}
        data = validate_all(
            self.get_serializer(lead, data=request.data, partial=True),
            check=lambda parsed: gate.intake_problems(current | parsed),
        )
        version = expected_version(request, data.pop("version", None))
        services.lead_update(
            lead_id=lead.pk, by=self.request.user, data=data, expected_version=version
        )
        return self._lead_response(lead.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @csv_export_schema(
        "Every lead the list's filters match, as a CSV file: the same filters, `ordering` "
        "and scope as `GET /api/v1/leads/` (a user exports only the leads they may see), "
        "without pages."
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        content_negotiation_class=CsvNegotiation,
    )
    def export(self, request: AuthedRequest) -> StreamingHttpResponse:
        refuse_unknown_filters(request, self.filterset_class)
        leads = self.filter_queryset(self.get_queryset())
        zone = reader_zone(request.user)
        day = timezone.now().astimezone(zone).date().isoformat()
        return streaming_csv_response(
            f"threshold-leads-{day}",
            exports.lead_export_header(),
            exports.lead_export_rows(leads, zone=zone),
        )

    # --- lifecycle actions -----------------------------------------------------------------

    def _lead_step(
        self,
        request: AuthedRequest,
        serializer_class: type[serializers.Serializer],
        call: LeadStep,
        *,
        to: LeadAction = "work",
        check: Callable[[Lead], Check] | None = None,
    ) -> Response:
        """Validate the input, then run `call` on the lead if the user may do `to` with it.
        `check(lead)` lists the service's problems with the input, reported together with
        the serializer's when the input does not parse."""
        lead = self._lead(to=to)
        data = validate_all(
            serializer_class(data=request.data), check=check(lead) if check else None
        )
        version = expected_version(request, data.pop("version", None))
        call(lead, data, version)
        return self._lead_response(lead.pk)

    @extend_schema(
        request=lead_serializers.ReasonSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.ReasonSerializer,
            lambda lead, data, version: services.lead_accept(
                lead_id=lead.pk, by=request.user, reason=data["reason"], expected_version=version
            ),
        )

    @extend_schema(
        request=lead_serializers.RejectSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.RejectSerializer,
            lambda lead, data, version: services.lead_reject(
                lead_id=lead.pk,
                by=request.user,
                reason_code=data["reason"],
                note=data["note"],
                expected_version=version,
            ),
        )

    @extend_schema(
        request=lead_serializers.ReasonSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def qualify(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.ReasonSerializer,
            lambda lead, data, version: services.lead_qualify(
                lead_id=lead.pk, by=request.user, reason=data["reason"], expected_version=version
            ),
        )

    @extend_schema(
        request=lead_serializers.HandoffInputSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def handoff(self, request: AuthedRequest, pk: str | None = None) -> Response:
        def hand_off(lead: Lead, data: dict[str, Any], version: int | None) -> None:
            services.lead_hand_off(
                lead_id=lead.pk,
                by=request.user,
                to_user=data.pop("to_user", None),
                discovery_meeting_at=data.pop("discovery_meeting_at", None),
                package=data,
                expected_version=version,
            )

        return self._lead_step(
            request,
            lead_serializers.HandoffInputSerializer,
            hand_off,
            check=lambda lead: lambda parsed: gate.handoff_problems(lead, parsed),
        )

    @extend_schema(
        request=lead_serializers.RequiredReasonSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def nurture(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.RequiredReasonSerializer,
            lambda lead, data, version: services.lead_nurture(
                lead_id=lead.pk, by=request.user, reason=data["reason"], expected_version=version
            ),
        )

    @extend_schema(
        request=lead_serializers.DisqualifySerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def disqualify(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.DisqualifySerializer,
            lambda lead, data, version: services.lead_disqualify(
                lead_id=lead.pk,
                by=request.user,
                reason_code=data["reason"],
                note=data["note"],
                expected_version=version,
            ),
            check=lambda lead: disqualify_problems,
        )

    @extend_schema(
        request=lead_serializers.RequiredReasonSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.RequiredReasonSerializer,
            lambda lead, data, version: services.lead_reopen(
                lead_id=lead.pk, by=request.user, reason=data["reason"], expected_version=version
            ),
            to="reopen",
        )

    @extend_schema(
        request=lead_serializers.AssignSerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.AssignSerializer,
            lambda lead, data, version: services.lead_assign(
                lead_id=lead.pk, by=request.user, owner=data["owner"], reason=data["reason"]
            ),
            to="assign",
        )

    @extend_schema(
        request=lead_serializers.DiscoverySerializer,
        responses={200: lead_serializers.LeadSerializer, 400: ERRORS},
    )
    @action(detail=True, methods=["post"])
    def discovery(self, request: AuthedRequest, pk: str | None = None) -> Response:
        return self._lead_step(
            request,
            lead_serializers.DiscoverySerializer,
            lambda lead, data, version: services.lead_record_discovery(
                lead_id=lead.pk,
                by=request.user,
                held_at=data.get("held_at"),
                rating=data.get("rating"),
                repeated_discovery=data.get("repeated_discovery"),
            ),
            to="record_discovery",
        )

    # --- nested resources -------------------------------------------------------------------

    @extend_schema(
        methods=["PATCH"],
        request=lead_serializers.QualificationSerializer,
        responses={200: lead_serializers.QualificationSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    @extend_schema(responses=lead_serializers.QualificationSerializer)
    @action(detail=True, methods=["get", "patch"])
    def qualification(self, request: AuthedRequest, pk: str | None = None) -> Response:
        lead = self._lead(to="work" if request.method == "PATCH" else "view")
        if request.method == "PATCH":
            data = validate_all(
                lead_serializers.QualificationSerializer(data=request.data, partial=True)
            )
            version = expected_version(request, data.pop("version", None))
            services.qualification_update(
                lead_id=lead.pk, by=request.user, data=data, expected_version=version
            )
        # Leads made before intake created qualifications have none yet: show the blank one.
        qualification = selectors.lead_qualification(lead) or Qualification(lead=lead)
        return with_etag(
            Response(lead_serializers.QualificationSerializer(qualification).data),
            qualification.version,
        )

    @extend_schema(
        methods=["POST"],
        request=lead_serializers.ActivitySerializer,
        responses={201: lead_serializers.ActivitySerializer, 400: ERRORS},
    )
    @extend_schema(
        responses=lead_serializers.ActivitySerializer(many=True),
        description="The lead's latest 200 activities, newest first (one list, no pages).",
    )
    # One list, not the leads' pages and filters (the schema said otherwise).
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def activities(self, request: AuthedRequest, pk: str | None = None) -> Response:
        lead = self._lead(to="work" if request.method == "POST" else "view")
        if request.method == "POST":
            data = validate_all(lead_serializers.ActivitySerializer(data=request.data))
            activity = services.activity_log(lead_id=lead.pk, by=request.user, **data)
            return Response(
                lead_serializers.ActivitySerializer(activity).data, status=status.HTTP_201_CREATED
            )
        rows = selectors.lead_activities_for_api(lead)
        return Response(lead_serializers.ActivitySerializer(rows, many=True).data)

    @extend_schema(
        responses=lead_serializers.TransitionSerializer(many=True),
        description="Every status change of the lead, oldest first (one list, no pages).",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def transitions(self, request: AuthedRequest, pk: str | None = None) -> Response:
        lead = self.get_object()
        rows = selectors.lead_transitions(lead)
        return Response(lead_serializers.TransitionSerializer(rows, many=True).data)
