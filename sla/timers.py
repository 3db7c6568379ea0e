"""SLA timers follow the lead's lifecycle: they start, stop, change hands and are re-planned.

The lead services reach these through `sla.clocks.SlaClocks` (the `leads.clocks` hook),
inside their own transaction, so a timer starts or stops exactly when the move commits.
What happens to a timer once it falls due is the sweep's business (`sla.sweep`).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q

from leads.models import Lead
from sla.business_time import (
    ELAPSED_UNITS,
    ROUND_THE_CLOCK,
    CalendarSpec,
    add_business_time,
    add_working_time,
    holiday_years,
    target_duration,
)
from sla.events import EventRow, record_events
from sla.models import BusinessCalendar, SlaEvent, SlaPolicy, SlaTimer, SlaTimerQuerySet

Event = SlaPolicy.Event

# Whose clock it is: before the hand-off the SDR's, after it the AE's.
AE_EVENTS = frozenset({Event.HANDOFF, Event.DISCOVERY})

# Timers re-planned per UPDATE statement when a policy on business time changes.
_REPLAN_BATCH = 1_000


# --- policies and due times ----------------------------------------------------------------


def policy_applies(policy: SlaPolicy, lead: Lead) -> bool:
    """Does `policy` cover `lead` (its source, segment and team filters)?"""
    if policy.applies_to_sources and lead.source not in policy.applies_to_sources:
        return False
    if policy.applies_to_segments and lead.segment not in policy.applies_to_segments:
        return False
    team_ids = [t.pk for t in policy.applies_to_teams.all()]
    return not team_ids or lead.team_id in team_ids


def calendar_spec(calendar: BusinessCalendar | None, *, start: datetime.datetime) -> CalendarSpec:
    """The working time a target counts on: the calendar's, or every minute without one."""
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


def escalation_delays(chain: Any) -> list[tuple[str, int]]:
    """A policy's escalation chain as ``[(to, minutes after the due time), ...]``."""
    steps = []
    for step in chain or []:
        if isinstance(step, dict) and step.get("to"):
            steps.append((str(step["to"]), max(0, int(step.get("after_minutes") or 0))))
    return steps


# --- the lifecycle ---------------------------------------------------------------------------


def timers_on_event(*, lead: Lead, event: str, at: datetime.datetime) -> None:
    """Stop the running timers `event` ends, then start the ones it begins."""
    timers_stop(lead=lead, event=event, at=at)
    _timers_start(lead=lead, event=event, at=at)


def timers_stop(*, lead: Lead, event: str, at: datetime.datetime) -> int:
    """Stop timers whose policy ends at `event`: met when stopped before they fell due
    (the `overdue` predicate), missed otherwise."""
    running = SlaTimer.objects.running().filter(lead=lead, policy__stop_event=event)
    return _stop(running, at=at, on_time=True)


def timers_cancel(*, lead: Lead, at: datetime.datetime) -> int:
    """The lead left the flow (nurture, disqualify, conversion): stop every clock. A timer
    already past due keeps its breach; the others end neither met nor missed."""
    return _stop(SlaTimer.objects.running().filter(lead=lead), at=at, on_time=None)


def timers_close(*, lead: Lead, at: datetime.datetime, ends: str | None = None) -> int:
    """The lead left the funnel: stop every running clock in one statement.

    A clock whose policy ends at `ends` is met when stopped on time; the others end
    neither met nor missed; a late one is missed, and its breach is recorded once (the
    unique constraint decides against a sweep that got there first). On PostgreSQL this
    is one UPDATE with the breach INSERT in the same statement (a data-modifying CTE):
    a conversion stops its clocks in one round trip instead of eight.
    """
    if connection.vendor != "postgresql":
        stopped = 0
        if ends:
            mine = SlaTimer.objects.running().filter(lead=lead, policy__stop_event=ends)
            stopped += _stop(mine, at=at, on_time=True)
        return stopped + timers_cancel(lead=lead, at=at)
    quote = connection.ops.quote_name
    timer, policy, event = (
        quote(model._meta.db_table) for model in (SlaTimer, SlaPolicy, SlaEvent)
    )
    sql = f"""
        WITH closed AS (
            UPDATE {timer} AS t
            SET stopped_at = %(at)s,
                met = CASE
                    WHEN t.due_at <= %(at)s OR t.breached_at IS NOT NULL THEN FALSE
                    WHEN p.stop_event = %(ends)s THEN TRUE
                END,
                breached_at = CASE
                    WHEN t.breached_at IS NULL AND t.due_at <= %(at)s THEN %(at)s
                    ELSE t.breached_at
                END
            FROM {policy} AS p
            WHERE p.id = t.policy_id AND t.lead_id = %(lead)s AND t.stopped_at IS NULL
            RETURNING t.id, t.responsible_id, t.breached_at
        ), breaches AS (
            INSERT INTO {event} (timer_id, kind, level, notified_id, responsible_id, created_at)
            SELECT id, %(breach)s, 0, NULL, responsible_id, %(at)s
            FROM closed WHERE breached_at = %(at)s
            ON CONFLICT (timer_id, kind, level) DO NOTHING
        )
        SELECT count(*) FROM closed
    """
    params = {"at": at, "ends": ends, "lead": lead.pk, "breach": str(SlaEvent.Kind.BREACH)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _stop(running: SlaTimerQuerySet, *, at: datetime.datetime, on_time: bool | None) -> int:
    """Stop `running` timers at `at`. A late one is missed, and its breach is recorded
    (once: the sweep may have recorded it already) even when no sweep saw it running;
    nobody is notified for it, the work is done. A timer the sweep already reported as
    breached stays missed, so what people were told and what reports say agree."""
    late = list(
        running.filter(due_at__lte=at, breached_at__isnull=True).values_list("pk", "responsible_id")
    )
    if late:
        # Re-checked in the UPDATE: a sweep that committed meanwhile keeps its own record.
        running.filter(pk__in=[pk for pk, _ in late], breached_at__isnull=True).update(
            breached_at=at
        )
        record_events(
            [
                EventRow(pk, SlaEvent.Kind.BREACH, 0, None, responsible, at)
                for pk, responsible in late
            ]
        )
    missed = running.filter(Q(due_at__lte=at) | Q(breached_at__isnull=False)).update(
        stopped_at=at, met=False
    )
    stopped = running.update(stopped_at=at, met=on_time)
    return missed + stopped


def timers_reassign(*, lead: Lead) -> None:
    """A new owner inherits the running clocks of the SDR phase."""
    SlaTimer.objects.running().filter(lead=lead).exclude(policy__start_event__in=AE_EVENTS).update(
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
        responsible = lead.ae if event in AE_EVENTS else lead.owner
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


# --- re-planning after a policy edit -----------------------------------------------------------


def timers_replan(*, policy: SlaPolicy) -> int:
    """Give the policy's running timers its current target, counted from each timer's own
    start (RevOps' "re-plan running timers"). Warnings and breaches already recorded stay
    recorded; the next check moves with the new times. Returns how many were re-planned."""
    running = SlaTimer.objects.running().filter(policy=policy)
    value, unit = policy.target_value, policy.target_unit
    if unit in ELAPSED_UNITS:
        # Elapsed time needs no calendar: one UPDATE, whatever the number of timers.
        duration = target_duration(value, unit, ROUND_THE_CLOCK)
        count = running.update(
            warn_at=F("started_at") + duration * policy.warn_at_percent / 100,
            due_at=F("started_at") + duration,
            target_value=value,
            target_unit=unit,
            calendar=policy.calendar,
        )
    else:
        count = 0
        specs: dict[range, CalendarSpec] = {}
        changed: list[SlaTimer] = []
        for timer in running.only("pk", "started_at").order_by("pk").iterator(chunk_size=2_000):
            years = holiday_years(timer.started_at)
            if years not in specs:
                specs[years] = calendar_spec(policy.calendar, start=timer.started_at)
            timer.warn_at, timer.due_at = due_times(
                start=timer.started_at,
                value=value,
                unit=unit,
                warn_percent=policy.warn_at_percent,
                spec=specs[years],
            )
            timer.target_value, timer.target_unit = value, unit
            timer.calendar = policy.calendar
            changed.append(timer)
            if len(changed) >= _REPLAN_BATCH:
                count += _save_plans(changed)
                changed = []
        count += _save_plans(changed)
    timers_reschedule(policy=policy)
    return count


def _save_plans(timers: list[SlaTimer]) -> int:
    fields = ["warn_at", "due_at", "target_value", "target_unit", "calendar"]
    return SlaTimer.objects.bulk_update(timers, fields) or 0


def timers_reschedule(*, policy: SlaPolicy) -> None:
    """Recompute when the sweep next looks at the policy's running timers, from what was
    already recorded and the policy's current escalation chain: a handful of UPDATEs."""
    running = SlaTimer.objects.running().filter(policy=policy)
    running.filter(breached_at__isnull=True, warned_at__isnull=True).update(
        next_check_at=F("warn_at")
    )
    running.filter(breached_at__isnull=True, warned_at__isnull=False).update(
        next_check_at=F("due_at")
    )
    breached = running.filter(breached_at__isnull=False)
    delays = escalation_delays(policy.escalation_chain)
    for level, (_to, minutes) in enumerate(delays):
        breached.filter(escalation_level=level).update(
            next_check_at=F("due_at") + datetime.timedelta(minutes=minutes)
        )
    breached.filter(escalation_level__gte=len(delays)).update(next_check_at=None)
