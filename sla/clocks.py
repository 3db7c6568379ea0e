"""The SLA timers as the lead lifecycle's clocks: `sla`'s side of the `leads.clocks` hook.

`leads` stands on a lower floor and never imports `sla`; `SlaConfig.ready` registers
`SlaClocks` with `leads.clocks.register`, and the lead services call it inside their own
transaction. The reads are expressions over Lead rows (`OuterRef("pk")` is the lead), so
the lead queue sorts and filters by the clocks in the same SQL query, with the same
predicates (`SlaTimerQuerySet`) the sweep, badges and dashboards use.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Subquery

from leads.clocks import ClockEvent
from leads.models import Lead
from leads.services.bulk_rows import any_of
from sla import timers
from sla.models import SlaPolicy, SlaTimer
from sla.selectors import has_overdue_timer, has_timer_due_between, running_timers_prefetch

# How the lead page styles each running clock; the state itself is SlaTimer.state(now),
# the same predicate the sweep, the queue filters and the dashboards use.
_RUNNING_CLOCK_STYLE: dict[str, str] = {
    SlaTimer.State.OVERDUE: "overdue",
    SlaTimer.State.AT_RISK: "warning",
    SlaTimer.State.RUNNING: "ok",
}


class SlaClocks:
    """`leads.clocks.LeadClocks`, implemented by the SLA timers."""

    # --- writes, inside the lead service's transaction ---

    def on_event(self, *, lead: Lead, event: ClockEvent, at: datetime.datetime) -> None:
        timers.timers_on_event(lead=lead, event=event, at=at)

    def on_reassign(self, *, lead: Lead) -> None:
        timers.timers_reassign(lead=lead)

    def on_close(
        self, *, lead: Lead, at: datetime.datetime, ends: ClockEvent | None = None
    ) -> None:
        timers.timers_close(lead=lead, at=at, ends=ends)

    def on_merge(self, *, survivor: Lead, duplicate: Lead, at: datetime.datetime) -> None:
        """The duplicate's clocks move to the survivor (`leads.clocks.LeadClocks`). One
        running clock per policy and lead: a duplicate's clock whose policy already runs
        on the survivor, or any when the survivor has left the funnel, is cancelled first
        (a late one keeps its breach), then every timer and its events move over."""
        running = SlaTimer.objects.running().filter(lead=duplicate)
        if survivor.is_open:
            busy = SlaTimer.objects.running().filter(lead=survivor).values("policy_id")
            running = running.filter(policy_id__in=busy)
        timers._stop(running, at=at, on_time=None)
        SlaTimer.objects.filter(lead=duplicate).update(lead=survivor)
        timers.timers_reassign(lead=survivor)

    def on_events_bulk(
        self,
        *,
        lead_ids: Sequence[int],
        events: Sequence[ClockEvent],
        at: datetime.datetime,
        new: bool = False,
    ) -> None:
        """`timers_on_event` for many leads and events at one instant (a bulk intake), in a
        few statements per event: one stop (`timers._stop`, set-based already) and one
        INSERT ... SELECT per policy it starts, its due times computed once since every
        lead starts at `at`. A clock a later event of `events` stops is inserted stopped
        and met: the same row one `on_event` after the other leaves, without an UPDATE."""
        ids = list(lead_ids)
        for index, event in enumerate(events):
            if not ids:
                return
            # Only leads already running a clock need one stopped, and a policy running for
            # a lead does not start twice (`_timers_start`); new leads run none.
            busy = set()
            if not new:
                running_now = SlaTimer.objects.running().filter(any_of(F("lead_id"), ids))
                busy = set(running_now.values_list("lead_id", "policy_id"))
            if busy:
                running = SlaTimer.objects.running().filter(
                    lead_id__in={lead for lead, _policy in busy}, policy__stop_event=event
                )
                timers._stop(running, at=at, on_time=True)
            stopped_later = {str(e) for e in events[index + 1 :]}
            policies = (
                SlaPolicy.objects.filter(is_active=True, start_event=event)
                .select_related("calendar")
                .prefetch_related("applies_to_teams")
            )
            # Before the lead is assigned (later in `events`) nobody answers for a clock.
            unowned = ClockEvent.ASSIGNED in stopped_later
            for policy in policies:
                _start_for_leads(
                    policy,
                    ids,
                    skip=[lead for lead, running_policy in busy if running_policy == policy.pk],
                    event=event,
                    at=at,
                    met=policy.stop_event in stopped_later,
                    unowned=unowned,
                )

    # --- reads, as expressions over Lead rows ---

    def next_due(self) -> Subquery:
        soonest = (
            SlaTimer.objects.running()
            .filter(lead=OuterRef("pk"))
            .order_by("due_at", "pk")
            .values("due_at")
        )
        return Subquery(soonest[:1])

    def is_overdue(self, now: datetime.datetime) -> Exists:
        return has_overdue_timer(now)

    def is_due_between(self, start: datetime.datetime, end: datetime.datetime) -> Exists:
        return has_timer_due_between(start, end)

    def running_prefetch(self, to_attr: str = "running_timers") -> Prefetch:
        return running_timers_prefetch(to_attr)

    def page_rows(self, lead: Lead, now: datetime.datetime) -> list[dict[str, Any]]:
        """One dict per clock of `lead`: ``{"timer", "state", "running"}``.

        Running clocks first, soonest due first, `state` styling them ("overdue",
        "warning", "ok"); then the stopped ones, last stopped first, `state` being their
        `SlaTimer.State` ("met", "missed", "cancelled").
        """
        all_timers = list(lead.sla_timers.select_related("policy").order_by("due_at", "pk"))
        running = [
            {"timer": timer, "state": _RUNNING_CLOCK_STYLE[timer.state(now)], "running": True}
            for timer in all_timers
            if timer.is_running()
        ]
        stopped = [
            {"timer": timer, "state": timer.state(now), "running": False}
            for timer in sorted(
                (t for t in all_timers if not t.is_running()),
                key=lambda t: t.stopped_at or now,
                reverse=True,
            )
        ]
        return running + stopped


def _start_for_leads(
    policy: SlaPolicy,
    lead_ids: list[int],
    *,
    skip: list[int],
    event: ClockEvent,
    at: datetime.datetime,
    met: bool,
    unowned: bool,
) -> None:
    """`timers._timers_start` for one policy and many leads, as one INSERT ... SELECT: the
    policy's filters (sources, segments, teams) in SQL, so no Python runs per lead. `skip`:
    leads already running it. `met`: a later event at the same instant stops it on time."""
    warn_at, due_at = timers.due_times(
        start=at,
        value=policy.target_value,
        unit=policy.target_unit,
        warn_percent=policy.warn_at_percent,
        spec=timers.calendar_spec(policy.calendar, start=at),
    )
    qn = connection.ops.quote_name
    stamp = connection.ops.adapt_datetimefield_value
    lead_table, timer_table = qn(Lead._meta.db_table), qn(SlaTimer._meta.db_table)
    responsible = "l.ae_id" if event in timers.AE_EVENTS else "l.owner_id"
    if unowned:
        responsible = "NULL"
    params: list[Any] = [
        policy.pk,
        stamp(at),
        stamp(warn_at),
        stamp(due_at),
        policy.target_value,
        policy.target_unit,
        policy.calendar_id,
        stamp(at) if met else None,
        True if met else None,
        stamp(warn_at),
    ]
    conditions = []
    team_ids = [team.pk for team in policy.applies_to_teams.all()]
    for column, values, negate in (
        ("l.id", lead_ids, False),
        ("l.id", skip, True),
        ("l.source", policy.applies_to_sources, False),
        ("l.segment", policy.applies_to_segments, False),
        ("l.team_id", team_ids, False),
    ):
        if values:
            sql, values_params = _one_of(column, list(values))
            conditions.append(f"NOT ({sql})" if negate else sql)
            params += values_params
    sql = (
        f"INSERT INTO {timer_table} (policy_id, lead_id, responsible_id, started_at, warn_at, "
        "due_at, target_value, target_unit, calendar_id, stopped_at, met, escalation_level, "
        f"next_check_at) SELECT %s, l.id, {responsible}, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s "
        f"FROM {lead_table} l WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _one_of(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`: one array parameter on PostgreSQL, a list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values
