"""The SLA timers as the lead lifecycle's clocks: `sla`'s side of the `leads.clocks` hook.

`leads` stands on a lower floor and never imports `sla`; `SlaConfig.ready` registers
`SlaClocks` with `leads.clocks.register`, and the lead services call it inside their own
transaction. The reads are expressions over Lead rows (`OuterRef("pk")` is the lead), so
the lead queue sorts and filters by the clocks in the same SQL query, with the same
predicates (`SlaTimerQuerySet`) the sweep, badges and dashboards use.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Subquery

from leads.clocks import ClockEvent
from leads.models import Lead
from sla import timers
from sla.models import SlaTimer
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

    def on_close(self, *, lead: Lead, at: datetime.datetime) -> None:
        timers.timers_cancel(lead=lead, at=at)

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
