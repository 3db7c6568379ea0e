"""Input parsing and output shape for the SLA API. No rules here: `sla.configuration`
validates (the same checks as the browser) and records the audit. Writes are strict
(`crm.api.serializers.StrictFieldsMixin`): an unknown or read-only key is a 400 naming it."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.serializers import DisplayName, StrictFieldsMixin
from crm.models import Team, User
from leads.models import Segment, Source
from sla.configuration import MAX_TARGET_MINUTES, START_EVENTS, STOP_EVENTS
from sla.models import (
    BusinessCalendar,
    CalendarChange,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyChange,
    SlaTimer,
)


class UserNameSerializer(serializers.ModelSerializer):
    name = DisplayName(source="*")

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class PolicyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["key", "name"]


class SlaTimerSerializer(serializers.ModelSerializer):
    """One SLA clock of a lead, e.g. for /api/v1/leads/{id}/sla/.

    `state` is read from the stored times at the moment of the response (pass
    ``context={"now": ...}`` to fix it): running, at_risk, overdue, met, missed, cancelled.
    """

    policy = PolicyRefSerializer(read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = SlaTimer
        fields = [
            "id",
            "policy",
            "started_at",
            "warn_at",
            "due_at",
            "stopped_at",
            "met",
            "breached_at",
            "escalation_level",
            "state",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=SlaTimer.State.choices))
    def get_state(self, timer: SlaTimer) -> str:
        now: datetime.datetime = self.context.get("now") or timezone.now()
        return str(timer.state(now))


class EscalationStepSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.ChoiceField(
        choices=[("manager", "manager"), ("revops", "revops")],
        help_text="Who is told: the responsible user's manager, or every RevOps user.",
    )
    after_minutes = serializers.IntegerField(
        min_value=0,
        # A year at most, as a target: beyond it the due time overflows the calendar.
        max_value=MAX_TARGET_MINUTES,
        help_text="Minutes after the due time; no earlier than the level before.",
    )


class SlaPolicySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    # Range checks are the service's, so every problem comes back at once.
    target_value = serializers.IntegerField(help_text="At least 1, in `target_unit`s.")
    warn_at_percent = serializers.IntegerField(
        required=False, help_text="Warn at this share of the target, 1-99 (default 75)."
    )
    start_event = serializers.ChoiceField(choices=[(e.value, e.label) for e in START_EVENTS])
    stop_event = serializers.ChoiceField(choices=[(e.value, e.label) for e in STOP_EVENTS])
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), allow_null=True, required=False
    )
    # Plain strings (checked by the service): the same value sets already name enums in
    # other parts of the schema.
    applies_to_sources = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=f"Only leads from these sources (empty: all): {', '.join(Source.values)}.",
    )
    applies_to_segments = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=f"Only leads in these segments (empty: all): {', '.join(Segment.values)}.",
    )
    applies_to_teams = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        many=True,
        required=False,
        help_text="Only leads of these teams (empty: all).",
    )
    escalation_chain = EscalationStepSerializer(many=True, required=False)
    updated_by = UserNameSerializer(read_only=True, allow_null=True)
    replan_running_timers = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Also recompute the due and warning times of this policy's running timers "
        "from their own start (otherwise they keep the target they started with).",
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "key",
            "name",
            "start_event",
            "stop_event",
            "target_value",
            "target_unit",
            "warn_at_percent",
            "calendar",
            "applies_to_sources",
            "applies_to_segments",
            "applies_to_teams",
            "escalation_chain",
            "is_active",
            "updated_at",
            "updated_by",
            "replan_running_timers",
        ]
        read_only_fields = ["id", "updated_at", "updated_by"]
        extra_kwargs: dict[str, dict[str, Any]] = {"key": {"validators": []}}

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["key"].read_only = True
        return fields

    def to_service(self) -> tuple[dict[str, Any], bool]:
        """(data for `sla.configuration`, whether to re-plan running timers)."""
        data = dict(self.validated_data)
        replan = bool(data.pop("replan_running_timers", False))
        if "escalation_chain" in data:
            data["escalation_chain"] = [
                {"to": step["to"], "after_minutes": int(step["after_minutes"])}
                for step in data["escalation_chain"]
            ]
        if "applies_to_teams" in data:
            data["applies_to_teams"] = list(data["applies_to_teams"])
        return data, replan


class HolidaySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = CalendarHoliday
        fields = ["date", "name"]


class BusinessCalendarSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    time_zone = serializers.CharField(help_text="An IANA zone, e.g. Asia/Jakarta.")
    working_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="Weekdays worked, 0 = Monday … 6 = Sunday.",
    )
    holiday_country = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO code whose public holidays apply."
    )
    holidays = HolidaySerializer(
        many=True,
        required=False,
        help_text="Custom non-working dates. Sending the list replaces the calendar's list.",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "time_zone",
            "working_days",
            "work_starts",
            "work_ends",
            "holiday_country",
            "holiday_subdivision",
            "holidays",
        ]
        read_only_fields = ["id"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}

    def to_service(self) -> tuple[dict[str, Any], list[tuple[datetime.date, str]] | None]:
        """(calendar settings, the custom holidays to set or None to leave them)."""
        data = dict(self.validated_data)
        holidays = data.pop("holidays", None)
        if holidays is not None:
            holidays = [(h["date"], h["name"]) for h in holidays]
        return data, holidays


class ChangeSerializer(serializers.Serializer):
    actor = UserNameSerializer(read_only=True)
    changed_at = serializers.DateTimeField(read_only=True)
    old = serializers.JSONField(read_only=True)
    new = serializers.JSONField(read_only=True)


class PolicyChangeSerializer(ChangeSerializer, serializers.ModelSerializer):
    class Meta:
        model = SlaPolicyChange
        fields = ["id", "actor", "changed_at", "old", "new"]


class CalendarChangeSerializer(ChangeSerializer, serializers.ModelSerializer):
    class Meta:
        model = CalendarChange
        fields = ["id", "actor", "changed_at", "old", "new"]
