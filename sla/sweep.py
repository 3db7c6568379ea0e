"""The sweep: warnings, breaches and escalations for the SLA timers that are due.

The beat task (`sla.tasks.timers_sweep_task`) calls `timers_sweep(now=...)`, which records
them set-based and exactly once (see its docstring), writes the bell notifications in the
same transaction, and their e-mail as outbox rows in it too (sent after the commit).
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from crm.models import Notification, User
from crm.services import notifications_email
from sla.events import INSERT_CHUNK, EventRow, in_chunks, record_events
from sla.models import SlaEvent, SlaPolicy, SlaTimer
from sla.timers import escalation_delays

logger = logging.getLogger(__name__)

Kind = SlaEvent.Kind

# One sweep transaction handles at most this many timers, so a large backlog (say, after
# an outage) is worked off in short transactions instead of one that locks everything.
SWEEP_BATCH_SIZE = 5_000
_UPDATE_CHUNK = 5_000


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
        names: dict[str, str] = {Kind.WARNING: "warnings", Kind.BREACH: "breaches"}
        name = names.get(kind, "escalations")
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
    sweep_cache = _SweepCache()
    while True:
        with transaction.atomic():
            examined = _sweep_batch(
                now=now, limit=batch_size, sweep_cache=sweep_cache, result=result
            )
        if examined:
            result.batches += 1
            result.examined += examined
        if examined < batch_size:
            break
    if result.examined:
        logger.info("SLA sweep at %s: %s", now.isoformat(), result)
    return result


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


class _SweepCache:
    """What one sweep needs again and again: policies, the RevOps team, message texts."""

    def __init__(self) -> None:
        self._policies: dict[int, SlaPolicy] = {}
        self._revops: list[int] | None = None
        self._builder: _NotificationBuilder | None = None

    @property
    def notification_builder(self) -> _NotificationBuilder:
        if self._builder is None:
            self._builder = _NotificationBuilder()
        return self._builder

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
    *, now: datetime.datetime, limit: int, sweep_cache: _SweepCache, result: SweepResult
) -> int:
    due = [
        _DueTimer(*row)
        for row in SlaTimer.objects.sweep_due(now)
        .order_by("next_check_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list(*_DUE_FIELDS)[:limit]
    ]
    if not due:
        return 0
    policies = sweep_cache.policies({t.policy_id for t in due})
    plans = [
        _plan_timer(t, now=now, chain=escalation_delays(policies[t.policy_id].escalation_chain))
        for t in due
    ]
    people = _BatchRecipients.load(due, revops=sweep_cache.revops())

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

    notifications = []
    by_pk = {t.pk: t for t in due}
    for timer_id, kind, level in inserted:
        result.add(kind)
        timer = by_pk[timer_id]
        policy = policies[timer.policy_id]
        for recipient in audiences[(timer_id, kind, level)]:
            notifications.append(
                sweep_cache.notification_builder.build(
                    kind=kind,
                    level=level,
                    timer=timer,
                    policy=policy,
                    recipients=people,
                    to=recipient,
                )
            )
    _write_notifications(notifications)
    result.notifications += len(notifications)

    _advance_timers(plans, now=now)
    return len(due)


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
        for chunk in in_chunks(ids, _UPDATE_CHUNK):
            SlaTimer.objects.filter(pk__in=chunk).update(**values)


class _BatchRecipients:
    """The people a batch of events may concern: who manages whom came with the locked
    query; their names, zones and whether they are active is one more query."""

    def __init__(self) -> None:
        self.users: dict[int, tuple[str, str, bool]] = {}  # pk: name, zone, active
        self.revops: list[int] = []

    @classmethod
    def load(cls, due: list[_DueTimer], *, revops: list[int]) -> _BatchRecipients:
        people = cls()
        people.revops = revops
        wanted: set[int | None] = set(revops)
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
        if audience == "owner":
            candidates = [timer.responsible_id]
        elif audience == "manager":
            candidates = [self.manager_of(timer)]
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


class _NotificationBuilder:
    """The sweep's bell messages, translated once per sweep rather than once per message."""

    def __init__(self) -> None:
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
        self,
        *,
        kind: str,
        level: int,
        timer: _DueTimer,
        policy: SlaPolicy,
        recipients: _BatchRecipients,
        to: int,
    ) -> Notification:
        """One bell message, with times in the recipient's own zone."""
        notification_kind, template = self.templates[Kind(kind)]
        message = template % {
            "policy": policy.name,
            "company": timer.company,
            "due": self.when(timer.due_at.astimezone(recipients.zone(to))),
            "level": level,
            "owner": recipients.name(timer.responsible_id),
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


def _write_notifications(notifications: list[Notification]) -> None:
    """Bell rows in this transaction, and their e-mail as outbox rows in it too: sent
    after the commit, each once (`crm.services.notifications_email`).

    `crm.services.notify` sends one message to many people; a sweep sends many messages,
    so it writes the rows in bulk itself.
    """
    if not notifications:
        return
    created = Notification.objects.bulk_create(notifications, batch_size=INSERT_CHUNK)
    notifications_email(created)
