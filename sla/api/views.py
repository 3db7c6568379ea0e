"""SLA over the API: policies and business calendars (everyone signed in reads, RevOps
writes; writes call `sla.configuration`, which validates and audits), and a lead's clocks.

Who may do what is `sla.rules` (through `sla.access`) and, for a lead's clocks,
`leads.access.lead_for`: the same rules as the pages and the services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.serializers import ERRORS, validate_all
from crm.exceptions import Problem
from crm.models import User
from crm.web.requests import AuthedRequest
from leads.access import lead_for
from leads.models import Lead
from sla import configuration, selectors
from sla.access import may
from sla.api import serializers as s
from sla.models import BusinessCalendar, SlaPolicy, SlaTimer


class SlaSettingsPermission(BasePermission):
    """Reads for anyone signed in; writes for RevOps and admins only (`sla.rules`)."""

    message = "Only RevOps may change SLA policies and calendars."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):  # anonymous: DRF answers "not authenticated"
            return False
        return may(user, "read" if request.method in SAFE_METHODS else "edit")


class _SettingsViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [SlaSettingsPermission]
    http_method_names = ["get", "post", "patch", "head", "options"]
    request: AuthedRequest  # signed in: SlaSettingsPermission refuses anyone else


def _sent(
    request: Request, problems: Callable[[Mapping[str, Any]], list[Problem]]
) -> Callable[[dict[str, Any]], list[Problem]]:
    """The service's problems with a new record, kept to the fields the body sent (the
    serializer names a required field that is missing; the service fills the defaults)."""
    sent = set(request.data) if isinstance(request.data, Mapping) else set()
    return lambda parsed: [p for p in problems(parsed) if (p.field or "").split(".")[0] in sent]


@extend_schema_view(
    create=extend_schema(responses={201: s.SlaPolicySerializer, 400: ERRORS}),
    partial_update=extend_schema(responses={200: s.SlaPolicySerializer, 400: ERRORS}),
)
class SlaPolicyViewSet(_SettingsViewSet):
    serializer_class = s.SlaPolicySerializer

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return selectors.policies_for_settings().order_by("key")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.SlaPolicySerializer(data=request.data)
        validate_all(serializer, check=_sent(request, configuration.policy_problems))
        data, _replan = serializer.to_service()
        policy = configuration.policy_create(by=self.request.user, data=data)
        return Response(self._saved_state(policy.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        serializer = s.SlaPolicySerializer(policy, data=request.data, partial=True)
        current: dict[str, Any] = {
            name: getattr(policy, name)
            for name in configuration.POLICY_FIELDS
            if name != "applies_to_teams"
        }
        validate_all(
            serializer,
            check=lambda parsed: configuration.policy_problems(current | parsed, policy=policy),
        )
        data, replan = serializer.to_service()
        configuration.policy_update(
            policy_id=policy.pk, by=self.request.user, data=data, replan_running=replan
        )
        return Response(self._saved_state(policy.pk))

    def _saved_state(self, pk: int) -> dict[str, Any]:
        """The policy as the service saved it, for the response."""
        return s.SlaPolicySerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(responses=s.PolicyChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def changes(self, request: AuthedRequest, pk: str | None = None) -> Response:
        """The policy's audit trail, newest first."""
        policy = self.get_object()
        changes = selectors.policy_history(policy, limit=200)
        return Response(s.PolicyChangeSerializer(changes, many=True).data)


@extend_schema_view(
    create=extend_schema(responses={201: s.BusinessCalendarSerializer, 400: ERRORS}),
    partial_update=extend_schema(responses={200: s.BusinessCalendarSerializer, 400: ERRORS}),
)
class BusinessCalendarViewSet(_SettingsViewSet):
    serializer_class = s.BusinessCalendarSerializer

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return selectors.calendars_for_settings()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.BusinessCalendarSerializer(data=request.data)
        validate_all(serializer, check=_sent(request, configuration.calendar_problems))
        data, holidays = serializer.to_service()
        with transaction.atomic():
            calendar = configuration.calendar_create(by=self.request.user, data=data)
            if holidays:
                configuration.calendar_holidays_replace(
                    calendar_id=calendar.pk, by=self.request.user, holidays=holidays
                )
        return Response(self._saved_state(calendar.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calendar = self.get_object()
        serializer = s.BusinessCalendarSerializer(calendar, data=request.data, partial=True)
        current = {name: getattr(calendar, name) for name in configuration.CALENDAR_FIELDS}
        validate_all(
            serializer,
            check=lambda parsed: configuration.calendar_problems(
                current | parsed, calendar=calendar
            ),
        )
        data, holidays = serializer.to_service()
        with transaction.atomic():
            if data:
                configuration.calendar_update(
                    calendar_id=calendar.pk, by=self.request.user, data=data
                )
            if holidays is not None:
                configuration.calendar_holidays_replace(
                    calendar_id=calendar.pk, by=self.request.user, holidays=holidays
                )
        return Response(self._saved_state(calendar.pk))

    def _saved_state(self, pk: int) -> dict[str, Any]:
        """The calendar as the service saved it, for the response."""
        return s.BusinessCalendarSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(responses=s.CalendarChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def changes(self, request: AuthedRequest, pk: str | None = None) -> Response:
        """The calendar's audit trail, newest first."""
        calendar = self.get_object()
        changes = selectors.calendar_history(calendar, limit=200)
        return Response(s.CalendarChangeSerializer(changes, many=True).data)


class LeadTimersView(GenericAPIView):
    """GET /api/v1/leads/{id}/sla/: a lead's SLA clocks, for whoever may view the lead."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.SlaTimerSerializer
    # Names the path's {id} as a lead's in the schema; the lead is read by `lead_for`.
    queryset = Lead.objects.none()
    request: AuthedRequest  # signed in: IsAuthenticated refuses anyone else

    @extend_schema(operation_id="v1_leads_sla_list", responses=s.SlaTimerSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The lead's SLA clocks, running first, each with its stored due time and state."""
        lead = lead_for(self.request.user, pk, to="view")
        timers = (
            SlaTimer.objects.filter(lead=lead)
            .select_related("policy")
            .order_by(F("stopped_at").desc(nulls_first=True), "due_at")
        )
        return Response(
            s.SlaTimerSerializer(timers, many=True, context={"now": timezone.now()}).data
        )
