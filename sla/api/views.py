"""SLA policies and business calendars over the API: everyone signed in reads, RevOps
writes. Writes call `sla.configuration`, which validates and audits."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from sla import configuration
from sla.api import serializers as s
from sla.models import BusinessCalendar, SlaPolicy


class IsRevOpsOrReadOnly(BasePermission):
    """Reads for anyone signed in; writes for RevOps and admins only."""

    message = "Only RevOps may change SLA policies and calendars."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_revops


class _ConfigViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsRevOpsOrReadOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)


class SlaPolicyViewSet(_ConfigViewSet):
    serializer_class = s.SlaPolicySerializer

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return (
            SlaPolicy.objects.select_related("calendar", "updated_by")
            .prefetch_related("applies_to_teams")
            .order_by("key")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, _replan = serializer.to_service()
        policy = configuration.policy_create(by=request.user, data=data)
        return Response(self._fresh(policy.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        serializer = self.get_serializer(policy, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data, replan = serializer.to_service()
        configuration.policy_update(
            policy_id=policy.pk, by=request.user, data=data, replan_running=replan
        )
        return Response(self._fresh(policy.pk))

    def _fresh(self, pk: int) -> dict[str, Any]:
        return s.SlaPolicySerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(responses=s.PolicyChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        """The policy's audit trail, newest first."""
        policy = self.get_object()
        changes = policy.changes.select_related("actor")[:200]
        return Response(s.PolicyChangeSerializer(changes, many=True).data)


class BusinessCalendarViewSet(_ConfigViewSet):
    serializer_class = s.BusinessCalendarSerializer

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return BusinessCalendar.objects.prefetch_related("holidays").order_by("name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, holidays = serializer.to_service()
        with transaction.atomic():
            calendar = configuration.calendar_create(by=request.user, data=data)
            if holidays:
                configuration.calendar_holidays_replace(
                    calendar_id=calendar.pk, by=request.user, holidays=holidays
                )
        return Response(self._fresh(calendar.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calendar = self.get_object()
        serializer = self.get_serializer(calendar, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data, holidays = serializer.to_service()
        with transaction.atomic():
            if data:
                configuration.calendar_update(calendar_id=calendar.pk, by=request.user, data=data)
            if holidays is not None:
                configuration.calendar_holidays_replace(
                    calendar_id=calendar.pk, by=request.user, holidays=holidays
                )
        return Response(self._fresh(calendar.pk))

    def _fresh(self, pk: int) -> dict[str, Any]:
        return s.BusinessCalendarSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(responses=s.CalendarChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        """The calendar's audit trail, newest first."""
        calendar = self.get_object()
        changes = calendar.changes.select_related("actor")[:200]
        return Response(s.CalendarChangeSerializer(changes, many=True).data)
