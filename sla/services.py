"""SLA timers follow the lead's lifecycle. `lead` services call `timers_on_event` inside
their own transaction, so a timer starts or stops exactly when the move commits.

The beat task calls `timers_sweep(now=...)`, which records warnings, breaches and
escalations for the timers that are due, set-based and exactly once (see its docstring).
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from crm.models import Notification, User
from sla.business_time import (
    ELAPSED_UNITS,
    ROUND_THE_CLOCK,
    CalendarSpec,
    add_business_time,
    add_working_time,
    holiday_years,
    target_duration,
)
from sla.models import BusinessCalendar, SlaEvent, SlaPolicy, SlaTimer

if TYPE_CHECKING:
    from leads.models import Lead

logger = logging.getLogger(__name__)

Event = SlaPolicy.Event
Unit = SlaPolicy.Unit
Kind = SlaEvent.Kind

# Whose clock it is: before the hand-off the SDR's, after it the AE's.
_AE_EVENTS = frozenset({Event.HANDOFF, Event.DISCOVERY})

# One sweep transaction handles at most this many timers, so a large backlog (say, after
# an outage) is worked off in short transactions instead of one that locks everything.
SWEEP_BATCH_SIZE = 5_000
# Rows per INSERT statement: 6 parameters each stays well under SQLite's variable limit.
_INSERT_CHUNK = 1_000
_UPDATE_CHUNK = 5_000


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


def _stop(running: Any, *, at: datetime.datetime, on_time: bool | None) -> int:
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
        _insert_events(
            [_EventRow(pk, Kind.BREACH, 0, None, responsible, at) for pk, responsible in late]
        )
    missed = running.filter(Q(due_at__lte=at) | Q(breached_at__isnull=False)).update(
        stopped_at=at, met=False
    )
    stopped = running.update(stopped_at=at, met=on_time)
    return missed + stopped


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
            if len(changed) >= 1_000:
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


# --- the sweep -------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What one sweep did. Counts are of rows actually inserted, so a redelivered or
    concurrent sweep reports zero for what another run had already recorded."""

    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    notifications: int = 0
    batches: int = 0

    def add(self, kind: str) -> None:
        name = {Kind.WARNING: "warnings", Kind.BREACH: "breaches"}.get(kind, "escalations")
        setattr(self, name, getattr(self, name) + 1)


def timers_sweep(*, now: datetime.datetime, batch_size: int = SWEEP_BATCH_SIZE) -> SweepResult:
    """Record the warnings, breaches and escalations that are due at `now`, exactly once.

    Each batch is one transaction:

    1. one indexed query takes up to `batch_size` running timers whose `next_check_at` has
       come (partial index `sla_timer_sweep_idx`), locking them with ``FOR UPDATE SKIP
       LOCKED`` on PostgreSQL, so concurrent sweepers split the work instead of waiting;
       `stopped_at IS NULL` is part of that locked query, so a clock stopped before the
       lock (the lead met its SLA between two sweeps) is never reported;
    2. the events are inserted with ``ON CONFLICT (timer, kind, level) DO NOTHING
       RETURNING``: the unique constraint `sla_event_once` is the arbiter, so a second
       sweeper or a redelivered task can never record an event twice;
    3. notifications are written, in the same transaction, only for the events the
       INSERT returned; e-mail is queued after the commit;
    4. the timers move on (`warned_at`, `breached_at`, `escalation_level`, the next
       `next_check_at`, always after `now` or empty) in a few grouped UPDATEs.

    The cost is that of the due timers only: timers not yet due are never read.
    """
    result = SweepResult()
    directory = _Directory()
    while True:
        with transaction.atomic():
            examined = _sweep_batch(now=now, limit=batch_size, directory=directory, result=result)
        if examined:
            result.batches += 1
            result.examined += examined
        if examined < batch_size:
            break
    if result.examined:
        logger.info("SLA sweep at %s: %s", now.isoformat(), result)
    return result


@dataclass(frozen=True)
class _EventRow:
    timer_id: int
    kind: str
    level: int
    notified_id: int | None
    responsible_id: int | None
    created_at: datetime.datetime


@dataclass
class _Due:
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
class _Plan:
    """What the sweep does to one due timer."""

    timer: _Due
    events: list[tuple[str, int, str]] = field(default_factory=list)  # kind, level, audience
    warned: bool = False
    breached: bool = False
    level: int = 0
    next_check: tuple[str, int] | None = None  # (column, minutes after it) or none left


class _Directory:
    """What one sweep needs again and again: policies, the RevOps team, message texts."""

    def __init__(self) -> None:
        self._policies: dict[int, SlaPolicy] = {}
        self._revops: list[int] | None = None
        self._messages: _Messages | None = None

    @property
    def messages(self) -> _Messages:
        if self._messages is None:
            self._messages = _Messages()
        return self._messages

    def policies(self, ids: Iterable[int]) -> dict[int, SlaPolicy]:
        missing = set(ids) - set(self._policies)
        if missing:
            self._policies.update(SlaPolicy.objects.in_bulk(missing))
        return self._policies

    def revops(self) -> list[int]:
        if self._revops is None:
            self._revops = list(
                User.objects.filter(role=User.Role.REVOPS, is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        return self._revops


def _sweep_batch(
    *, now: datetime.datetime, limit: int, directory: _Directory, result: SweepResult
) -> int:
    due = [
        _Due(*row)
        for row in SlaTimer.objects.sweep_due(now)
        .order_by("next_check_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list(*_DUE_FIELDS)[:limit]
    ]
    if not due:
        return 0
    policies = directory.policies({t.policy_id for t in due})
    plans = [
        _plan(t, now=now, chain=escalation_delays(policies[t.policy_id].escalation_chain))
        for t in due
    ]
    people = _People.load(due, revops=directory.revops())

    # Who hears of each event, decided before the INSERT: the event row names them.
    audiences: dict[tuple[int, str, int], list[int]] = {}
    rows = []
    for plan in plans:
        timer = plan.timer
        for kind, level, audience in plan.events:
            recipients = people.recipients(timer, audience)
            audiences[(timer.pk, kind, level)] = recipients
            single = recipients[0] if audience != "revops" and recipients else None
            rows.append(_EventRow(timer.pk, kind, level, single, timer.responsible_id, now))
    inserted = _insert_events(rows)

    notifications = []
    by_pk = {t.pk: t for t in due}
    for timer_id, kind, level in inserted:
        result.add(kind)
        timer = by_pk[timer_id]
        policy = policies[timer.policy_id]
        for recipient in audiences[(timer_id, kind, level)]:
            notifications.append(
                directory.messages.build(
                    kind=kind, level=level, timer=timer, policy=policy, people=people, to=recipient
                )
            )
    _notify(notifications)
    result.notifications += len(notifications)

    _advance(plans, now=now)
    return len(due)


def _plan(timer: _Due, *, now: datetime.datetime, chain: Sequence[tuple[str, int]]) -> _Plan:
    plan = _Plan(
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


def _next_check(plan: _Plan, chain: Sequence[tuple[str, int]]) -> tuple[str, int] | None:
    """The next moment worth a look, as (column, minutes after it): after the sweep it is
    always later than `now`, or none when the chain is exhausted."""
    if not plan.breached:
        return ("due_at", 0) if plan.warned else ("warn_at", 0)
    if plan.level < len(chain):
        return ("due_at", chain[plan.level][1])
    return None


def _minutes(value: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=value)


def _advance(plans: list[_Plan], *, now: datetime.datetime) -> None:
    """Move the timers on, grouped so that each distinct change is one UPDATE."""
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
        for chunk in _chunks(ids, _UPDATE_CHUNK):
            SlaTimer.objects.filter(pk__in=chunk).update(**values)


class _People:
    """The people a batch of events may concern: who manages whom came with the locked
    query; their names, zones and whether they are active is one more query."""

    def __init__(self) -> None:
        self.users: dict[int, tuple[str, str, bool]] = {}  # pk: name, zone, active
        self.revops: list[int] = []

    @classmethod
    def load(cls, due: list[_Due], *, revops: list[int]) -> _People:
        people = cls()
        people.revops = revops
        wanted = set(revops)
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
        for pk, first, last, username, zone, active in User.objects.filter(
            pk__in=wanted
        ).values_list("pk", "first_name", "last_name", "username", "time_zone", "is_active"):
            people.users[pk] = (f"{first} {last}".strip() or username, zone, active)
        return people

    @staticmethod
    def manager(timer: _Due) -> int | None:
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

    def recipients(self, timer: _Due, audience: str) -> list[int]:
        if audience == "owner":
            candidates = [timer.responsible_id]
        elif audience == "manager":
            candidates = [self.manager(timer)]
        elif audience == "revops":
            candidates = list(self.revops)
        else:
            candidates = []
        return [pk for pk in candidates if pk and self.is_active(pk)]

    def is_active(self, pk: int) -> bool:
        return pk in self.users and self.users[pk][2]

    def name(self, pk: int | None) -> str:
        return self.users[pk][0] if pk in self.users else _("nobody")

    def zone(self, pk: int) -> ZoneInfo:
        try:
            return ZoneInfo(self.users[pk][1] or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class _Messages:
    """The sweep's bell messages, translated once per sweep rather than once per message."""

    def __init__(self) -> None:
        from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR

        self.days = [str(WEEKDAYS_ABBR[i]) for i in range(7)]
        self.months = {m: str(MONTHS_3[m]).title() for m in range(1, 13)}
        self.templates = {
            Kind.WARNING: (
                Notification.Kind.SLA_WARNING,
                _("SLA at risk: “%(policy)s” for %(company)s is due %(due)s."),
            ),
            Kind.BREACH: (
                Notification.Kind.SLA_BREACH,
                _("SLA breached: “%(policy)s” for %(company)s was due %(due)s."),
            ),
            Kind.ESCALATION: (
                Notification.Kind.ESCALATION,
                _(
                    "SLA escalation (level %(level)s): “%(policy)s” for %(company)s, "
                    "owned by %(owner)s, overdue since %(due)s."
                ),
            ),
        }

    def when(self, moment: datetime.datetime) -> str:
        """E.g. "Tue 4 Mar, 14:30 WIB", in the zone `moment` carries."""
        return (
            f"{self.days[moment.weekday()]} {moment.day} {self.months[moment.month]}, "
            f"{moment:%H:%M} {moment.tzname()}"
        )

    def build(
        self, *, kind: str, level: int, timer: _Due, policy: SlaPolicy, people: _People, to: int
    ) -> Notification:
        """One bell message, with times in the recipient's own zone."""
        notification_kind, template = self.templates[Kind(kind)]
        message = template % {
            "policy": policy.name,
            "company": timer.company,
            "due": self.when(timer.due_at.astimezone(people.zone(to))),
            "level": level,
            "owner": people.name(timer.responsible_id),
        }
        return Notification(
            recipient_id=to,
            kind=notification_kind,
            message=message[:300],
            url=_lead_url(timer.lead_id),
        )


_URL_PLACEHOLDER = 987_654_321


@functools.cache
def _lead_url_pattern() -> str:
    """The lead page's URL with a slot for the id, reversed once per process."""
    try:
        url = reverse("leads:detail", args=[_URL_PLACEHOLDER])
    except NoReverseMatch:  # the leads pages are not routed (e.g. an API-only deployment)
        return ""
    return url.replace(str(_URL_PLACEHOLDER), "{}")


def _lead_url(lead_id: int) -> str:
    return _lead_url_pattern().format(lead_id)


def _notify(notifications: list[Notification]) -> None:
    """Bell rows in this transaction; e-mail after the commit, in one task per batch.

    `crm.services.notify` sends one message to many people; a sweep sends many messages,
    so it writes the rows in bulk itself.
    """
    if not notifications:
        return
    created = Notification.objects.bulk_create(notifications, batch_size=_INSERT_CHUNK)
    ids = [n.pk for n in created if n.pk is not None]
    if ids:
        from sla.tasks import sla_notification_emails_task

        transaction.on_commit(partial(sla_notification_emails_task.delay, notification_ids=ids))


def _insert_events(rows: list[_EventRow]) -> list[tuple[int, str, int]]:
    """INSERT the events, skipping any already recorded; return the (timer, kind, level)
    of the rows this statement really inserted. Works on PostgreSQL and SQLite >= 3.35."""
    if not rows:
        return []
    meta = SlaEvent._meta
    columns = [
        meta.get_field(name).column
        for name in ("timer", "kind", "level", "notified", "responsible", "created_at")
    ]
    conflict = [meta.get_field(name).column for name in ("timer", "kind", "level")]
    quote = connection.ops.quote_name
    inserted: list[tuple[int, str, int]] = []
    for chunk in _chunks(rows, _INSERT_CHUNK):
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "
            f"VALUES {values} "
            f"ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING "
            f"RETURNING {quote(columns[0])}, {quote(columns[1])}, {quote(columns[2])}"
        )
        params: list[Any] = []
        for row in chunk:
            params += [
                row.timer_id,
                str(row.kind),
                row.level,
                row.notified_id,
                row.responsible_id,
                connection.ops.adapt_datetimefield_value(row.created_at),
            ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted += [(int(t), str(k), int(lvl)) for t, k, lvl in cursor.fetchall()]
    return inserted


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
