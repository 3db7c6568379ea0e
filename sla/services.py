"""SLA timers follow the lead's lifecycle. `lead` services call `timers_on_event` inside
their own transaction, so a timer starts or stops exactly when the move commits."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from sla.business_time import (
    ELAPSED_UNITS,
    ROUND_THE_CLOCK,
    CalendarSpec,
    add_business_time,
    add_working_time,
    holiday_years,
    target_duration,
)
from sla.models import BusinessCalendar, SlaPolicy, SlaTimer

if TYPE_CHECKING:
    from leads.models import Lead

Event = SlaPolicy.Event
Unit = SlaPolicy.Unit

# Whose clock it is: before the hand-off the SDR's, after it the AE's.
_AE_EVENTS = frozenset({Event.HANDOFF, Event.DISCOVERY})


def policy_applies(policy: SlaPolicy, lead: Lead) -> bool:
    """Does `policy` cover `lead` (its source, segment and team filters)?"""
    if policy.applies_to_sources and lead.source not in policy.applies_to_sources:
        return False
    if policy.applies_to_segments and lead.segment not in policy.applies_to_segments:
        return False
    team_ids = [t.pk for t in policy.applies_to_teams.all()]
    return not team_ids or lead.team_id in team_ids


def calendar_spec(calendar: BusinessCalendar | None, *, start: datetime.datetime) -> CalendarSpec:
    if calendar is None:
        return ROUND_THE_CLOCK
    return CalendarSpec.from_calendar(calendar, years=holiday_years(start))


def due_times(
    *, start: datetime.datetime, value: int, unit: str, warn_percent: int, spec: CalendarSpec
) -> tuple[datetime.datetime, datetime.datetime]:
    """(warn_at, due_at) for a target starting at `start`. The warning falls at
    `warn_percent` of the target, measured in the target's own kind of time."""
    due = add_business_time(start, value, unit, spec)
    warn_after = target_duration(value, unit, spec) * warn_percent / 100
    if unit in ELAPSED_UNITS:
        warn = start + warn_after
    else:
        warn = add_working_time(start, warn_after, spec)
    return warn, due


def timers_on_event(*, lead: Lead, event: str, at: datetime.datetime) -> None:
    """Stop the running timers `event` ends, then start the ones it begins."""
    timers_stop(lead=lead, event=event, at=at)
    _timers_start(lead=lead, event=event, at=at)


def timers_stop(*, lead: Lead, event: str, at: datetime.datetime) -> int:
    """Stop timers whose policy ends at `event`; met means stopped no later than due."""
    running = SlaTimer.objects.running().filter(lead=lead, policy__stop_event=event)
    met = running.filter(due_at__gte=at).update(stopped_at=at, met=True)
    missed = running.filter(due_at__lt=at).update(stopped_at=at, met=False)
    return met + missed


def timers_cancel(*, lead: Lead, at: datetime.datetime) -> int:
    """The lead left the flow (nurture, disqualify, conversion): stop every clock. A timer
    already past due keeps its breach; the others end neither met nor missed."""
    running = SlaTimer.objects.running().filter(lead=lead)
    missed = running.filter(due_at__lt=at).update(stopped_at=at, met=False)
    cancelled = running.update(stopped_at=at, met=None)
    return missed + cancelled


def timers_reassign(*, lead: Lead) -> None:
    """A new owner inherits the running clocks of the SDR phase."""
    SlaTimer.objects.running().filter(lead=lead).exclude(policy__start_event__in=_AE_EVENTS).update(
        responsible=lead.owner
    )


def _timers_start(*, lead: Lead, event: str, at: datetime.datetime) -> None:
    policies = (
        SlaPolicy.objects.filter(is_active=True, start_event=event)
        .select_related("calendar")
        .prefetch_related("applies_to_teams")
    )
    already = set(
        SlaTimer.objects.running()
        .filter(lead=lead, policy__start_event=event)
        .values_list("policy_id", flat=True)
    )
    timers = []
    for policy in policies:
        if policy.pk in already or not policy_applies(policy, lead):
            continue
        warn_at, due_at = due_times(
            start=at,
            value=policy.target_value,
            unit=policy.target_unit,
            warn_percent=policy.warn_at_percent,
            spec=calendar_spec(policy.calendar, start=at),
        )
        responsible = lead.ae if event in _AE_EVENTS else lead.owner
        timers.append(
            SlaTimer(
                policy=policy,
                lead=lead,
                responsible=responsible,
                started_at=at,
                warn_at=warn_at,
                due_at=due_at,
                target_value=policy.target_value,
                target_unit=policy.target_unit,
                calendar=policy.calendar,
                next_check_at=warn_at,
            )
        )
    SlaTimer.objects.bulk_create(timers)


def running_timers_for(lead: Lead) -> list[SlaTimer]:
    return list(
        SlaTimer.objects.running().filter(lead=lead).select_related("policy").order_by("due_at")
    )
