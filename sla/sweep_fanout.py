"""Telling people what a sweep recorded: bell messages and their e-mail, in bulk.

The tick (`sla.sweep`) hands over one `Announcement` per recorded event and recipient, only
for the events its INSERT really wrote, so nobody is told twice. This module words each
one in the recipient's language and time zone (the e-mail's subject and body are that
text too), then writes the bell rows and, for those who take the kind by e-mail, an
outbox row each, all in the sweep's transaction: the relay sends them after the commit,
once per delivery key.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from crm.models import Notification, User
from crm.outbox.services import hand_off_after_commit
from crm.preferences import language_of, wants_email, wants_in_app, zone_of
from crm.services import notifications_deliver
from crm.tasks import notification_email_task
from sla.events import INSERT_CHUNK, in_chunks
from sla.models import SlaEvent

Kind = SlaEvent.Kind

# Rows per set-based INSERT of bell messages (bound as one JSON document each).
BELL_CHUNK = 10_000


class Announcement(NamedTuple):
    """One recorded event for one recipient, with what its message says (a tuple: a
    sweep makes thousands)."""

    kind: str
    level: int
    lead_id: int
    company: str
    policy: str
    due_at: datetime.datetime
    responsible_id: int | None
    recipient_id: int


@dataclass
class BatchOutcome:
    """What one batch recorded (counts of rows really inserted) and who to tell of it."""

    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    told: list[Announcement] = field(default_factory=list)


class Message(NamedTuple):
    """One bell message to write: plain values, no model instance per message."""

    recipient_id: int
    kind: str
    message: str
    url: str

    def as_notification(self) -> Notification:
        return Notification(
            recipient_id=self.recipient_id, kind=self.kind, message=self.message, url=self.url
        )


PersonRow = tuple[int, str, str, str, str, str, Any, str]


class People:
    """Names, languages, time zones and notification choices of the people a batch's
    messages name or go to: one query. A message is written in its recipient's language
    (`language_of`: their stored choice, else the site's; a sweep has no browser to ask)
    and zone (`zone_of`), and goes where they asked (`wants_in_app`, `wants_email`)."""

    def __init__(self, rows: Iterable[PersonRow]) -> None:
        self.names: dict[int, str] = {}
        self.languages: dict[int, str] = {}
        self.zones: dict[int, datetime.tzinfo] = {}
        self.preferences: dict[int, tuple[Mapping[str, Any] | None, str]] = {}
        zones: dict[str, datetime.tzinfo] = {}  # one ZoneInfo per distinct name
        for pk, first, last, username, zone, language, stored, address in rows:
            self.names[pk] = f"{first} {last}".strip() or username
            self.languages[pk] = language_of(language)
            if zone not in zones:
                zones[zone] = zone_of(zone)
            self.zones[pk] = zones[zone]
            self.preferences[pk] = (stored, address)

    @classmethod
    def load(cls, pks: Iterable[int | None]) -> People:
        wanted = {pk for pk in pks if pk}
        if not wanted:
            return cls([])
        return cls(
            User.objects.filter(pk__in=wanted).values_list(
                "pk",
                "first_name",
                "last_name",
                "username",
                "time_zone",
                "language",
                "notification_preferences",
                "email",
            )
        )

    def choice(self, pk: int, kind: str) -> tuple[bool, bool]:
        """(in the app, by e-mail) for a message of `kind` to `pk`."""
        stored, address = self.preferences.get(pk) or (None, "")
        return wants_in_app(stored, kind), bool(address) and wants_email(stored, kind)

    def name(self, pk: int | None) -> str | None:
        """The person's name; None for nobody (worded in the reader's language)."""
        return self.names.get(pk) if pk else None

    def language(self, pk: int) -> str:
        return self.languages.get(pk) or language_of(None)

    def zone(self, pk: int) -> datetime.tzinfo:
        return self.zones.get(pk) or zone_of(None)


@dataclass(frozen=True)
class Wording:
    """The words of the sweep's messages in one language: translated once per language
    and sweep, not once per message (a sweep's thousands of messages are in two or three)."""

    days: tuple[str, ...]
    months: dict[int, str]
    templates: dict[str, tuple[str, str]]
    nobody: str

    @classmethod
    def of(cls, language: str) -> Wording:
        """The wording in `language`, whatever language this task or request is in."""
        with translation.override(language):
            return cls(
                days=tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
                months={m: str(MONTHS_3[m]).title() for m in range(1, 13)},
                templates={
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
                },
                nobody=_("nobody"),
            )

    def when(self, moment: datetime.datetime) -> str:
        """E.g. "Tue 4 Mar, 14:30 WIB", in the zone `moment` carries."""
        return (
            f"{self.days[moment.weekday()]} {moment.day} {self.months[moment.month]}, "
            f"{moment:%H:%M} {moment.tzname()}"
        )


class MessageBuilder:
    """The sweep's bell messages, each in its recipient's language and time zone; the
    words of each language are translated once per sweep rather than once per message."""

    def __init__(self) -> None:
        self._wordings: dict[str, Wording] = {}
        self._due: dict[tuple[datetime.datetime, datetime.tzinfo, str], str] = {}

    def wording(self, language: str) -> Wording:
        wording = self._wordings.get(language)
        if wording is None:
            wording = self._wordings[language] = Wording.of(language)
        return wording

    def build_all(self, items: Sequence[Announcement], people: People) -> list[Message]:
        """The bell message of each item, in its recipient's own language and zone; what
        messages share is looked up once: the reader's words and zone per recipient, the
        due time's text per (time, zone, language)."""
        readers: dict[int, tuple[str, Wording, datetime.tzinfo]] = {}
        url = _lead_url_pattern()
        messages = []
        for item in items:
            reader = readers.get(item.recipient_id)
            if reader is None:
                language = people.language(item.recipient_id)
                reader = readers[item.recipient_id] = (
                    language,
                    self.wording(language),
                    people.zone(item.recipient_id),
                )
            language, words, zone = reader
            notification_kind, template = words.templates[item.kind]
            message = template % {
                "policy": item.policy,
                "company": item.company,
                "due": self.due(item.due_at, zone, language),
                "level": item.level,
                "owner": people.name(item.responsible_id) or words.nobody,
            }
            link = url.format(item.lead_id)
            messages.append(Message(item.recipient_id, notification_kind, message[:300], link))
        return messages

    def due(self, moment: datetime.datetime, zone: datetime.tzinfo, language: str) -> str:
        """`Wording.when` of `moment` in `zone` and `language`, formatted once per distinct
        triple: a sweep's due timers share few due times, and fewer zones and languages."""
        key = (moment, zone, language)
        text = self._due.get(key)
        if text is None:
            text = self._due[key] = self.wording(language).when(moment.astimezone(zone))
        return text


@dataclass(frozen=True)
class Outgoing:
    """A batch's bell messages, and the people they go to (whose choices say how)."""

    messages: list[Message]
    people: People


def messages_for(announcements: Sequence[Announcement], builder: MessageBuilder) -> Outgoing:
    """The bell message of each announcement, and the people they name or go to (one
    query, which `write_notifications` reuses for their choices)."""
    if not announcements:
        return Outgoing([], People([]))
    people = People.load(
        {a.recipient_id for a in announcements} | {a.responsible_id for a in announcements}
    )
    return Outgoing(builder.build_all(announcements, people), people)


_URL_PLACEHOLDER = 987_654_321


@functools.cache
def _lead_url_pattern() -> str:
    """The lead page's URL with a slot for the id, reversed once per process."""
    try:
        url = reverse("leads:detail", args=[_URL_PLACEHOLDER])
    except NoReverseMatch:  # the leads pages are not routed (e.g. an API-only deployment)
        return ""
    return url.replace(str(_URL_PLACEHOLDER), "{}")


def write_notifications(outgoing: Outgoing) -> None:
    """Bell rows in this transaction, and their e-mail as outbox rows in it too: sent
    after the commit, each once; each as its recipient asked (in the app, by e-mail).

    It is `crm.services.notifications_deliver`'s contract, set-based for a sweep's
    thousands of messages on PostgreSQL: the recipients' preferences came with their
    names (`People`, one query), then one statement per chunk inserts the bell rows from
    one JSON document and, from what that INSERT returns, the outbox row of each one its
    recipient takes by e-mail (same task, key and payload as `notifications_email`). The
    rare message whose recipient takes it by e-mail only goes through
    `notifications_deliver` itself.
    """
    messages, people = outgoing.messages, outgoing.people
    if not messages:
        return
    if connection.vendor != "postgresql":
        notifications_deliver(
            [m.as_notification() for m in messages], email=True, batch_size=INSERT_CHUNK
        )
        return
    choices: dict[tuple[int, str], tuple[bool, bool]] = {}  # (in the app, by e-mail)
    shown: list[Message] = []
    mail_only: list[Message] = []
    for m in messages:
        key = (m.recipient_id, m.kind)
        choice = choices.get(key)
        if choice is None:
            choice = choices[key] = people.choice(m.recipient_id, m.kind)
        if choice[0]:
            shown.append(m)
        elif choice[1]:
            mail_only.append(m)
    mailed = [key for key, (in_app, email) in choices.items() if in_app and email]
    keys: list[str] = []
    for chunk in in_chunks(shown, BELL_CHUNK):
        keys += _insert_bell_rows(chunk, mailed)
    hand_off_after_commit(keys)
    if mail_only:
        notifications_deliver([m.as_notification() for m in mail_only], email=True)


def _insert_bell_rows(messages: Sequence[Message], mailed: list[tuple[int, str]]) -> list[str]:
    """One statement: the bell rows, then an outbox row for each (recipient, kind) in
    `mailed`; returns the outbox rows' delivery keys.

    The rows travel as one JSON text parameter, not as arrays: a driver binding on the
    client quotes every element of an array in Python, which cost more than the INSERT."""
    notification = Notification._meta.db_table
    outbox = "crm_outboxmessage"
    now = datetime.datetime.now(tz=datetime.UTC)
    sql = f"""
        WITH bell AS (
            INSERT INTO {notification} (recipient_id, kind, message, url, created_at)
            SELECT m.r, m.k, m.t, m.u, %(now)s
            FROM json_to_recordset(%(messages)s::json) AS m(r bigint, k text, t text, u text)
            RETURNING id, recipient_id, kind
        )
        INSERT INTO {outbox} (kind, payload, delivery_key, created_at, available_at,
                              attempts, last_error)
        SELECT %(task)s, jsonb_build_object('notification_id', bell.id),
               'notification-email:' || bell.id, %(now)s, %(now)s, 0, ''
        FROM bell
        JOIN json_to_recordset(%(mailed)s::json) AS mailed(r bigint, k text)
          ON mailed.r = bell.recipient_id AND mailed.k = bell.kind
        ON CONFLICT (delivery_key) DO NOTHING
        RETURNING delivery_key
    """  # noqa: S608 - table names from the models, values bound
    params = {
        "now": now,
        # orjson: a sweep's thousands of rows in a few milliseconds (json.dumps: tenfold).
        "messages": orjson.dumps(
            [{"r": m.recipient_id, "k": m.kind, "t": m.message, "u": m.url} for m in messages]
        ).decode(),
        "task": notification_email_task.name,
        "mailed": orjson.dumps([{"r": pk, "k": kind} for pk, kind in mailed]).decode(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [key for (key,) in cursor.fetchall()]
