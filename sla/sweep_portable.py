"""One sweep batch planned row by row, for databases without data-modifying CTEs (SQLite).

The rules are those of the set-based statement in `sla.sweep_sql` (PostgreSQL), written
as Python: the tests run both, on the same scenarios, so the two cannot drift apart. The
cost here follows the due timers too: one locked read, one INSERT of the events, one
query for the people, and one UPDATE per distinct change of the timers.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q

from crm.models import User
from sla.events import EventRow, in_chunks, record_events
from sla.models import SlaEvent, SlaPolicy, SlaTimer
from sla.sweep_fanout import Announcement, BatchOutcome
from sla.timers import escalation_delays

Kind = SlaEvent.Kind

_UPDATE_CHUNK = 5_000


@dataclass
class _DueTimer:
    """A due timer as the locked query returns it, with what its messages need."""

    pk: int
    policy_id: int
    lead_id: int
    responsible_id: int | None
    warn_at: datetime.datetime
    due_at: datetime.datetime
    warned_at: datetime.datetime | None
    breached_at: datetime.datetime | None
    escalation_level: int
    company: str
    lead_team_manager_id: int | None
    responsible_manager_id: int | None
    responsible_team_manager_id: int | None


_DUE_FIELDS = (
    "pk",
    "policy_id",
    "lead_id",
    "responsible_id",
    "warn_at",
    "due_at",
    "warned_at",
    "breached_at",
    "escalation_level",
    # Joined (to-one, never locked): who the managers are, read in the same round trip.
    "lead__company_name",
    "lead__team__manager_id",
    "responsible__manager_id",
    "responsible__team__manager_id",
)


@dataclass
class _TimerPlan:
    """What the sweep does to one due timer."""

    timer: _DueTimer
    events: list[tuple[str, int, str]] = field(default_factory=list)  # kind, level, audience
    warned: bool = False
    breached: bool = False
    level: int = 0
    next_check: tuple[str, int] | None = None  # (column, minutes after it) or none left


def sweep_batch_portable(*, now: datetime.datetime, limit: int) -> BatchOutcome:
    """Sweep up to `limit` due timers: how many were examined, the events really
    inserted, and who to tell of those."""
    due = [
        _DueTimer(*row)
        for row in SlaTimer.objects.sweep_due(now)
        .order_by("next_check_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list(*_DUE_FIELDS)[:limit]
    ]
    if not due:
        return BatchOutcome()
    policies = SlaPolicy.objects.in_bulk({t.policy_id for t in due})
    plans = [
        _plan_timer(t, now=now, chain=escalation_delays(policies[t.policy_id].escalation_chain))
        for t in due
    ]
    people = _Recipients.load(due)

    # Who hears of each event, decided before the INSERT: the event row names them.
    audiences: dict[tuple[int, str, int], list[int]] = {}
    rows = []
    for plan in plans:
        timer = plan.timer
        for kind, level, audience in plan.events:
            recipients = people.for_audience(timer, audience)
            audiences[(timer.pk, kind, level)] = recipients
            single = recipients[0] if audience != "revops" and recipients else None
            rows.append(EventRow(timer.pk, kind, level, single, timer.responsible_id, now))
    inserted = record_events(rows)

    by_pk = {t.pk: t for t in due}
    announcements = []
    for timer_id, kind, level in inserted:
        timer = by_pk[timer_id]
        for recipient in audiences[(timer_id, kind, level)]:
            announcements.append(
                Announcement(
                    kind=kind,
                    level=level,
                    lead_id=timer.lead_id,
                    company=timer.company,
                    policy=policies[timer.policy_id].name,
                    due_at=timer.due_at,
                    responsible_id=timer.responsible_id,
                    recipient_id=recipient,
                )
            )
    _advance_timers(plans, now=now)
    kinds = [kind for _timer, kind, _level in inserted]
    return BatchOutcome(
        examined=len(due),
        warnings=kinds.count(Kind.WARNING),
        breaches=kinds.count(Kind.BREACH),
        escalations=kinds.count(Kind.ESCALATION),
        told=announcements,
    )


def _plan_timer(
    timer: _DueTimer, *, now: datetime.datetime, chain: Sequence[tuple[str, int]]
) -> _TimerPlan:
    plan = _TimerPlan(
        timer=timer,
        warned=timer.warned_at is not None,
        breached=timer.breached_at is not None,
        level=timer.escalation_level,
    )
    if not plan.breached and timer.due_at <= now:
        # Already due: a warning now would be noise, the breach says it all.
        plan.events.append((Kind.BREACH, 0, "owner"))
        plan.breached = True
    elif not plan.breached and not plan.warned and timer.warn_at <= now:
        plan.events.append((Kind.WARNING, 0, "owner"))
        plan.warned = True
    if plan.breached:
        while plan.level < len(chain) and timer.due_at + _minutes(chain[plan.level][1]) <= now:
            plan.level += 1
            plan.events.append((Kind.ESCALATION, plan.level, chain[plan.level - 1][0]))
    plan.next_check = _next_check(plan, chain)
    return plan


def _next_check(plan: _TimerPlan, chain: Sequence[tuple[str, int]]) -> tuple[str, int] | None:
    """The next moment worth a look, as (column, minutes after it): after the sweep it is
    always later than `now`, or none when the chain is exhausted."""
    if not plan.breached:
        return ("due_at", 0) if plan.warned else ("warn_at", 0)
    if plan.level < len(chain):
        return ("due_at", chain[plan.level][1])
    return None


def _minutes(value: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=value)


def _advance_timers(plans: list[_TimerPlan], *, now: datetime.datetime) -> None:
    """Move the timers on, grouped: each distinct change is one UPDATE."""
    groups: dict[tuple[bool, bool, int, tuple[str, int] | None], list[int]] = defaultdict(list)
    for plan in plans:
        timer = plan.timer
        newly_warned = plan.warned and timer.warned_at is None
        newly_breached = plan.breached and timer.breached_at is None
        groups[(newly_warned, newly_breached, plan.level, plan.next_check)].append(timer.pk)
    for (warned, breached, level, next_check), ids in groups.items():
        values: dict[str, Any] = {"escalation_level": level}
        if next_check is None:
            values["next_check_at"] = None
        else:
            column, minutes = next_check
            values["next_check_at"] = F(column) + _minutes(minutes) if minutes else F(column)
        if warned:
            values["warned_at"] = now
        if breached:
            values["breached_at"] = now
        for chunk in in_chunks(ids, _UPDATE_CHUNK):
            SlaTimer.objects.filter(pk__in=chunk).update(**values)


class _Recipients:
    """Who an event's audience names: the managers came with the locked query; who is
    active, and who RevOps are, is one more query."""

    def __init__(self, active: set[int], revops: list[int]) -> None:
        self.active = active
        self.revops = revops

    @classmethod
    def load(cls, due: list[_DueTimer]) -> _Recipients:
        wanted: set[int | None] = set()
        for timer in due:
            wanted.update(
                (
                    timer.responsible_id,
                    timer.lead_team_manager_id,
                    timer.responsible_manager_id,
                    timer.responsible_team_manager_id,
                )
            )
        wanted.discard(None)
        active: set[int] = set()
        revops: list[int] = []
        people = User.objects.filter(Q(pk__in=wanted) | Q(role=User.Role.REVOPS), is_active=True)
        for pk, role in people.order_by("pk").values_list("pk", "role"):
            if pk in wanted:
                active.add(pk)
            if role == User.Role.REVOPS:
                revops.append(pk)
        return cls(active, revops)

    @staticmethod
    def manager_of(timer: _DueTimer) -> int | None:
        """The responsible user's manager, else their team's manager, else the manager of
        the lead's team; never the responsible user themselves."""
        for candidate in (
            timer.responsible_manager_id,
            timer.responsible_team_manager_id,
            timer.lead_team_manager_id,
        ):
            if candidate and candidate != timer.responsible_id:
                return candidate
        return None

    def for_audience(self, timer: _DueTimer, audience: str) -> list[int]:
        """The active people `audience` (owner, manager, revops) names for `timer`."""
        if audience == "revops":
            return list(self.revops)
        if audience == "owner":
            candidate = timer.responsible_id
        elif audience == "manager":
            candidate = self.manager_of(timer)
        else:
            return []
        return [candidate] if candidate and candidate in self.active else []
