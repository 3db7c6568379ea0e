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

from django.db import connection, transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from crm.models import Notification, User
from crm.outbox.services import hand_off_after_commit
from crm.preferences import wants_email, wants_in_app
from crm.services import notifications_deliver
from crm.tasks import notification_email_task
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
       `next_check_at`, always after `now` or empty) in one UPDATE joined to arrays on
       PostgreSQL (a few grouped UPDATEs elsewhere).

    Nothing is bound per row: events, bell rows with their outbox rows, and the timers'
    changes each go to PostgreSQL as a handful of arrays (``unnest``), so the cost per
    due timer is the database's writes, not the driver's parameter handling.

    The cost is that of the due timers only: timers not yet due are never read, and a
    tick with nothing due is a single index probe.
    """
    result = SweepResult()
    # Most ticks find nothing due: one probe of the partial index answers that, without a
    # transaction, row locks or the joins the batch query needs.
    if not SlaTimer.objects.sweep_due(now).exists():
        return result
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

    notifications: list[_Message] = []
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
    """Move the timers on: on PostgreSQL in one UPDATE joined to the changes bound as
    arrays (``unnest``); elsewhere grouped, each distinct change one UPDATE."""
    if connection.vendor == "postgresql":
        _advance_timers_unnest(plans, now=now)
        return
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


def _advance_timers_unnest(plans: list[_TimerPlan], *, now: datetime.datetime) -> None:
    """The same changes as the grouped UPDATEs, one statement per chunk: a column is set
    only where this sweep changed it (newly warned, newly breached)."""
    table = SlaTimer._meta.db_table
    sql = f"""
        UPDATE {table} AS t SET
            escalation_level = u.level,
            warned_at = CASE WHEN u.warned THEN %(now)s ELSE t.warned_at END,
            breached_at = CASE WHEN u.breached THEN %(now)s ELSE t.breached_at END,
            next_check_at = CASE u.next_column
                WHEN 'due_at' THEN t.due_at + u.minutes * interval '1 minute'
                WHEN 'warn_at' THEN t.warn_at + u.minutes * interval '1 minute'
                END
        FROM unnest(%(ids)s::bigint[], %(levels)s::integer[], %(warned)s::boolean[],
                    %(breached)s::boolean[], %(columns)s::text[], %(minutes)s::integer[])
             AS u(id, level, warned, breached, next_column, minutes)
        WHERE t.id = u.id
    """  # noqa: S608 - the table name from the model, values bound
    for chunk in in_chunks(plans, _UPDATE_CHUNK):
        params: dict[str, Any] = {
            "now": now,
            "ids": [p.timer.pk for p in chunk],
            "levels": [p.level for p in chunk],
            "warned": [p.warned and p.timer.warned_at is None for p in chunk],
            "breached": [p.breached and p.timer.breached_at is None for p in chunk],
            "columns": [p.next_check[0] if p.next_check else None for p in chunk],
            "minutes": [p.next_check[1] if p.next_check else 0 for p in chunk],
        }
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


class _BatchRecipients:
    """The people a batch of events may concern: who manages whom came with the locked
    query; their names, zones and whether they are active is one more query."""

    def __init__(self) -> None:
        self.users: dict[int, tuple[str, str, bool]] = {}  # pk: name, zone, active
        self.revops: list[int] = []
        self._zones: dict[int, ZoneInfo] = {}

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
        zone = self._zones.get(pk)
        if zone is None:
            try:
                zone = ZoneInfo(self.users[pk][1] or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo("UTC")
            self._zones[pk] = zone
        return zone


class _NotificationBuilder:
    """The sweep's bell messages, translated once per sweep rather than once per message."""

    def __init__(self) -> None:
        self._due: dict[tuple[datetime.datetime, ZoneInfo], str] = {}
        self.days = [str(WEEKDAYS_ABBR[i]) for i in range(7)]
        self.months = {m: str(MONTHS_3[m]).title() for m in range(1, 13)}
        self.templates: dict[str, tuple[str, str]] = {
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
    ) -> _Message:
        """One bell message, with times in the recipient's own zone."""
        notification_kind, template = self.templates[kind]
        message = template % {
            "policy": policy.name,
            "company": timer.company,
            "due": self.due(timer.due_at, recipients.zone(to)),
            "level": level,
            "owner": recipients.name(timer.responsible_id),
        }
        return _Message(to, notification_kind, message[:300], _lead_url(timer.lead_id))

    def due(self, moment: datetime.datetime, zone: ZoneInfo) -> str:
        """`when` of `moment` in `zone`, formatted once per distinct pair: a sweep's due
        timers share few due times and fewer zones."""
        key = (moment, zone)
        text = self._due.get(key)
        if text is None:
            text = self._due[key] = self.when(moment.astimezone(zone))
        return text


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


@dataclass(frozen=True)
class _Message:
    """One bell message to write: plain values, no model instance per message."""

    recipient_id: int
    kind: str
    message: str
    url: str

    def as_notification(self) -> Notification:
        return Notification(
            recipient_id=self.recipient_id, kind=self.kind, message=self.message, url=self.url
        )


# Rows per set-based INSERT of bell messages (arrays bound as four parameters).
_BELL_CHUNK = 5_000


def _write_notifications(messages: list[_Message]) -> None:
    """Bell rows in this transaction, and their e-mail as outbox rows in it too: sent
    after the commit, each once; each as its recipient asked (in the app, by e-mail).

    It is `crm.services.notifications_deliver`'s contract, set-based for a sweep's
    thousands of messages on PostgreSQL: the recipients' preferences are read in one
    query, then one statement per chunk inserts the bell rows from arrays (``unnest``)
    and, from what that INSERT returns, the outbox row of each one its recipient takes by
    e-mail (same task, key and payload as `notifications_email`). The rare message whose
    recipient takes it by e-mail only goes through `notifications_deliver` itself.
    """
    if not messages:
        return
    if connection.vendor != "postgresql":
        notifications_deliver(
            [m.as_notification() for m in messages], email=True, batch_size=INSERT_CHUNK
        )
        return
    known = {
        pk: (stored, address)
        for pk, stored, address in User.objects.filter(
            pk__in={m.recipient_id for m in messages}
        ).values_list("pk", "notification_preferences", "email")
    }
    choices: dict[tuple[int, str], tuple[bool, bool]] = {}  # (in the app, by e-mail)
    shown: list[_Message] = []
    mail_only: list[_Message] = []
    for m in messages:
        key = (m.recipient_id, m.kind)
        choice = choices.get(key)
        if choice is None:
            stored, address = known[m.recipient_id]
            choice = choices[key] = (
                wants_in_app(stored, m.kind),
                bool(address) and wants_email(stored, m.kind),
            )
        if choice[0]:
            shown.append(m)
        elif choice[1]:
            mail_only.append(m)
    mailed = [key for key, (in_app, email) in choices.items() if in_app and email]
    keys: list[str] = []
    for chunk in in_chunks(shown, _BELL_CHUNK):
        keys += _insert_bell_rows(chunk, mailed)
    hand_off_after_commit(keys)
    if mail_only:
        notifications_deliver([m.as_notification() for m in mail_only], email=True)


def _insert_bell_rows(messages: Sequence[_Message], mailed: list[tuple[int, str]]) -> list[str]:
    """One statement: the bell rows, then an outbox row for each (recipient, kind) in
    `mailed`; returns the outbox rows' delivery keys."""
    notification = Notification._meta.db_table
    outbox = "crm_outboxmessage"
    now = datetime.datetime.now(tz=datetime.UTC)
    sql = f"""
        WITH bell AS (
            INSERT INTO {notification} (recipient_id, kind, message, url, created_at)
            SELECT m.recipient_id, m.kind, m.message, m.url, %(now)s
            FROM unnest(%(recipients)s::bigint[], %(kinds)s::varchar[],
                        %(texts)s::varchar[], %(urls)s::varchar[])
                 AS m(recipient_id, kind, message, url)
            RETURNING id, recipient_id, kind
        )
        INSERT INTO {outbox} (kind, payload, delivery_key, created_at, available_at,
                              attempts, last_error)
        SELECT %(task)s, jsonb_build_object('notification_id', bell.id),
               'notification-email:' || bell.id, %(now)s, %(now)s, 0, ''
        FROM bell
        JOIN unnest(%(mailed_to)s::bigint[], %(mailed_kinds)s::varchar[])
             AS mailed(recipient_id, kind)
          ON mailed.recipient_id = bell.recipient_id AND mailed.kind = bell.kind
        ON CONFLICT (delivery_key) DO NOTHING
        RETURNING delivery_key
    """  # noqa: S608 - table names from the models, values bound
    params = {
        "now": now,
        "recipients": [m.recipient_id for m in messages],
        "kinds": [m.kind for m in messages],
        "texts": [m.message for m in messages],
        "urls": [m.url for m in messages],
        "task": notification_email_task.name,
        "mailed_to": [pk for pk, _kind in mailed],
        "mailed_kinds": [kind for _pk, kind in mailed],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [key for (key,) in cursor.fetchall()]
