"""The invariant checker: SQL against the private database, and the receiver's mailbox.

After every fault, once it has cleared, `Checker.check` reads the whole database and the
mailbox and lists every broken promise as a `Finding` — *lost* (something acknowledged or
committed that never happened), *duplicated* (something that happened twice) or *broken*
(half of a change). Findings carry a stable key, so a problem is charged to the fault that
caused it and not again to every fault after it.

The promises:

- at most one opportunity per lead; every converted lead has exactly one conversion
  snapshot and (unless it was attached to an existing deal) one opportunity; a lead that
  is not converted has neither;
- no account or contact created by a conversion that did not happen (orphans);
- no SLA event twice per timer, kind and level; every event of the suite's clocks has its
  bell message to the person it names, once; every such message has its outbox row;
- every outbox row delivered (none waiting, none given up on), and the mailbox holds
  exactly what the delivered rows sent: each row's handler is run again here against an
  in-memory mailbox to learn what it sent, and the two multisets of messages must be equal;
- every write the API acknowledged (201/200) is in the database, whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, connections, transaction

from faults.mailbox import mail_of, read_mailbox, signature

LOST, DUPLICATED, BROKEN = "lost", "duplicated", "broken"
Signature = tuple[tuple[str, ...], str, str]

EVENT_NOTIFICATION = {"warning": "sla_warning", "breach": "sla_breach", "escalation": "escalation"}


@dataclass(frozen=True)
class Finding:
    kind: str  # LOST, DUPLICATED or BROKEN
    key: str
    detail: str


@dataclass
class Acknowledged:
    """Writes the API answered with success during a fault: they must all be there."""

    leads: set[int] = field(default_factory=set)
    rejected: set[int] = field(default_factory=set)
    conversions: dict[int, int] = field(default_factory=dict)  # lead id -> opportunity id

    def merge(self, other: Acknowledged) -> None:
        self.leads |= other.leads
        self.rejected |= other.rejected
        self.conversions.update(other.conversions)


def rows(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def count(sql: str, params: Iterable[Any] = ()) -> int:
    return int(rows(sql, params)[0][0])


class Checker:
    def __init__(self, *, mail_dir: Path, policy_id: int, max_account: int, max_contact: int):
        self.mail_dir = mail_dir
        self.policy_id = policy_id
        self.max_account = max_account
        self.max_contact = max_contact
        self.acknowledged = Acknowledged()
        self._expected: dict[str, list[Signature]] = {}  # delivery key -> what it sent
        self.reported: set[str] = set()
        self.resent = 0  # copies the receiver dropped by their delivery key

    def new_findings(self) -> list[Finding]:
        """Findings no earlier check reported."""
        found = [f for f in self.check() if f.key not in self.reported]
        self.reported |= {f.key for f in found}
        return found

    def check(self) -> list[Finding]:
        connections.close_all()  # the server may have restarted since the last check
        return [
            *self._conversions(),
            *self._orphans(),
            *self._sla(),
            *self._outbox(),
            *self._mailbox(),
            *self._acknowledged(),
        ]

    # --- conversions ------------------------------------------------------------------------

    def _conversions(self) -> list[Finding]:
        found = [
            Finding(DUPLICATED, f"opportunity-per-lead:{lead}", f"lead {lead}: {n} opportunities")
            for lead, n in rows(
                "SELECT lead_id, COUNT(*) FROM opportunities_opportunity "
                "WHERE lead_id IS NOT NULL GROUP BY lead_id HAVING COUNT(*) > 1"
            )
        ]
        for lead, status, snapshots, attached, opportunities in rows(
            """
            SELECT l.id, l.status,
                   (SELECT COUNT(*) FROM opportunities_conversionsnapshot s WHERE s.lead_id = l.id),
                   (SELECT bool_or(s.attached) FROM opportunities_conversionsnapshot s
                     WHERE s.lead_id = l.id),
                   (SELECT COUNT(*) FROM opportunities_opportunity o WHERE o.lead_id = l.id)
            FROM leads_lead l
            WHERE l.status = 'converted'
               OR EXISTS (SELECT 1 FROM opportunities_conversionsnapshot s WHERE s.lead_id = l.id)
               OR EXISTS (SELECT 1 FROM opportunities_opportunity o WHERE o.lead_id = l.id)
            """
        ):
            wanted_opportunities = 0 if attached else 1
            if status != "converted":
                found.append(
                    Finding(
                        BROKEN,
                        f"half-converted:{lead}",
                        f"lead {lead} is {status} but has "
                        f"{snapshots} snapshot(s), {opportunities} opportunity(ies)",
                    )
                )
            elif snapshots != 1 or opportunities != wanted_opportunities:
                kind = DUPLICATED if snapshots > 1 or opportunities > 1 else LOST
                found.append(
                    Finding(
                        kind,
                        f"converted-lead:{lead}",
                        f"converted lead {lead}: "
                        f"{snapshots} snapshot(s), {opportunities} opportunity(ies)",
                    )
                )
        return found

    def _orphans(self) -> list[Finding]:
        accounts = rows(
            """
            SELECT a.id FROM crm_account a WHERE a.id > %s
              AND NOT EXISTS (SELECT 1 FROM leads_lead l WHERE l.account_id = a.id)
              AND NOT EXISTS (SELECT 1 FROM opportunities_opportunity o WHERE o.account_id = a.id)
            """,
            [self.max_account],
        )
        contacts = rows(
            """
            SELECT c.id FROM crm_contact c WHERE c.id > %s
              AND NOT EXISTS (SELECT 1 FROM leads_lead l WHERE l.contact_id = c.id)
              AND NOT EXISTS (SELECT 1 FROM opportunities_opportunity o
                               WHERE o.primary_contact_id = c.id)
              AND NOT EXISTS (SELECT 1 FROM opportunities_opportunitycontactrole r
                               WHERE r.contact_id = c.id)
            """,
            [self.max_contact],
        )
        return [
            Finding(BROKEN, f"orphan-account:{a}", f"account {a} belongs to no lead or deal")
            for (a,) in accounts
        ] + [
            Finding(BROKEN, f"orphan-contact:{c}", f"contact {c} belongs to no lead or deal")
            for (c,) in contacts
        ]

    # --- SLA ----------------------------------------------------------------------------------

    def _sla(self) -> list[Finding]:
        found = [
            Finding(DUPLICATED, f"sla-event:{t}:{k}:{lvl}", f"timer {t}: {n} × {k} level {lvl}")
            for t, k, lvl, n in rows(
                "SELECT timer_id, kind, level, COUNT(*) FROM sla_slaevent "
                "GROUP BY timer_id, kind, level HAVING COUNT(*) > 1"
            )
        ]
        # Every due clock of the suite was swept: a breach was recorded for it.
        for (timer,) in rows(
            """
            SELECT t.id FROM sla_slatimer t
            WHERE t.policy_id = %s AND t.stopped_at IS NULL AND t.due_at < now()
              AND NOT EXISTS (SELECT 1 FROM sla_slaevent e
                               WHERE e.timer_id = t.id AND e.kind = 'breach')
            """,
            [self.policy_id],
        ):
            found.append(Finding(LOST, f"sla-breach:{timer}", f"timer {timer} due, no breach"))
        # Every event names the person told; that person has its bell message, once.
        wanted: Counter[tuple[int, str, int]] = Counter()
        for who, kind, lead, n in rows(
            """
            SELECT e.notified_id, e.kind, t.lead_id, COUNT(*) FROM sla_slaevent e
            JOIN sla_slatimer t ON t.id = e.timer_id
            WHERE t.policy_id = %s AND e.notified_id IS NOT NULL
            GROUP BY 1, 2, 3
            """,
            [self.policy_id],
        ):
            wanted[(who, EVENT_NOTIFICATION[kind], lead)] += n
        suite_leads = {
            lead
            for (lead,) in rows(
                "SELECT DISTINCT lead_id FROM sla_slatimer WHERE policy_id = %s", [self.policy_id]
            )
        }
        got: Counter[tuple[int, str, int]] = Counter()
        for who, kind, url, n in rows(
            "SELECT recipient_id, kind, url, COUNT(*) FROM crm_notification "
            "WHERE kind IN ('sla_warning', 'sla_breach', 'escalation') GROUP BY 1, 2, 3"
        ):
            lead = _lead_in(url)
            if lead is not None and lead in suite_leads:
                got[(who, kind, lead)] += n
        for (who, kind, lead), n in (wanted - got).items():
            found.append(
                Finding(
                    LOST,
                    f"bell:{who}:{kind}:{lead}",
                    f"{n} {kind} message(s) to user {who} about lead {lead} missing",
                )
            )
        for (who, kind, lead), n in (got - wanted).items():
            found.append(
                Finding(
                    DUPLICATED,
                    f"bell-extra:{who}:{kind}:{lead}",
                    f"{n} extra {kind} message(s) to user {who} about lead {lead}",
                )
            )
        # Every e-mailed kind of bell message to someone with an address has its outbox
        # row (nobody in the suite's data turned e-mail off in their preferences).
        for (notification,) in rows(
            """
            SELECT n.id FROM crm_notification n
            JOIN crm_user u ON u.id = n.recipient_id
            WHERE n.kind IN ('sla_warning', 'sla_breach', 'escalation', 'approval')
              AND u.email <> '' AND u.is_active
              AND NOT EXISTS (SELECT 1 FROM crm_outboxmessage m
                               WHERE m.delivery_key = 'notification-email:' || n.id)
            """
        ):
            found.append(
                Finding(
                    LOST,
                    f"no-outbox-row:{notification}",
                    f"notification {notification} has no e-mail outbox row",
                )
            )
        return found

    # --- outbox and mailbox -----------------------------------------------------------------

    def _outbox(self) -> list[Finding]:
        return [
            Finding(
                LOST,
                f"undelivered:{key}",
                f"outbox {key}: not delivered after "
                f"{attempts} attempt(s){' (dead)' if dead else ''} {error[:120]}",
            )
            for key, attempts, dead, error in rows(
                "SELECT delivery_key, attempts, dead_at IS NOT NULL, last_error "
                "FROM crm_outboxmessage WHERE delivered_at IS NULL ORDER BY id"
            )
        ]

    def expected_mail(self) -> tuple[Counter[Signature], Counter[Signature]]:
        """What every delivered outbox row sent, and what the undelivered ones would send
        (a relay may be between its send and its commit), by running each handler again
        into an in-memory mailbox, inside a transaction rolled back afterwards."""
        from crm.outbox.relay import handler_for

        in_flight: Counter[Signature] = Counter()
        for key, kind, payload, delivered in rows(
            "SELECT delivery_key, kind, payload, delivered_at IS NOT NULL FROM crm_outboxmessage"
        ):
            arguments = json.loads(payload) if isinstance(payload, str) else payload
            if not delivered:
                with contextlib.suppress(Exception):
                    in_flight.update(_sent_by(handler_for(kind), arguments))
            elif key not in self._expected:
                self._expected[key] = _sent_by(handler_for(kind), arguments)
        wanted: Counter[Signature] = Counter()
        for sent in self._expected.values():
            wanted.update(sent)
        return wanted, in_flight

    def _mailbox(self) -> list[Finding]:
        # The mailbox first: a message filed after this read belongs to a row that the
        # query below already sees as delivered, never the other way round.
        received = read_mailbox(self.mail_dir)
        wanted, in_flight = self.expected_mail()
        found = []
        # The receiver keeps one message per delivery key: a copy sent again after a lost
        # COMMIT (at-least-once delivery) is counted as resent, not as a second message;
        # two different messages under one key are a duplicate.
        by_key: dict[str, Signature] = {}
        got: Counter[Signature] = Counter()
        self.resent = 0
        for mail in received:
            key = mail.delivery_key
            if not key or key not in by_key:
                got[mail.signature] += 1
                if key:
                    by_key[key] = mail.signature
            elif by_key[key] == mail.signature:
                self.resent += 1
            else:
                found.append(
                    Finding(DUPLICATED, f"mail-key:{key}", f"two different e-mails as {key}")
                )
        for sig, n in (wanted - got).items():
            found += [
                Finding(
                    LOST,
                    f"mail-missing:{_digest(sig)}:{i}",
                    f"e-mail to {', '.join(sig[0])} “{sig[1][:60]}” not received",
                )
                for i in range(n)
            ]
        # A message of a row still undelivered is in flight, not a duplicate (the row
        # itself is reported as undelivered).
        for sig, n in (got - wanted - in_flight).items():
            found += [
                Finding(
                    DUPLICATED,
                    f"mail-extra:{_digest(sig)}:{i}",
                    f"e-mail to {', '.join(sig[0])} “{sig[1][:60]}” received once too often",
                )
                for i in range(n)
            ]
        return found

    # --- what the API acknowledged ------------------------------------------------------------

    def _acknowledged(self) -> list[Finding]:
        ack = self.acknowledged
        found = []
        if ack.leads:
            whole = {
                lead
                for (lead,) in rows(
                    """
                    SELECT l.id FROM leads_lead l
                    WHERE l.id = ANY(%s)
                      AND EXISTS (SELECT 1 FROM leads_qualification q WHERE q.lead_id = l.id)
                      AND EXISTS (SELECT 1 FROM leads_leadevent e
                                   WHERE e.lead_id = l.id AND e.kind = 'created')
                      AND EXISTS (SELECT 1 FROM leads_leadtransition t
                                   WHERE t.lead_id = l.id AND t.to_status = 'mql')
                      AND EXISTS (SELECT 1 FROM sla_slatimer s WHERE s.lead_id = l.id)
                    """,
                    [sorted(ack.leads)],
                )
            }
            found += [
                Finding(
                    LOST,
                    f"ack-lead:{lead}",
                    f"lead {lead} was answered 201 but is missing or incomplete",
                )
                for lead in sorted(ack.leads - whole)
            ]
        if ack.rejected:
            told = {
                lead
                for (lead,) in rows(
                    """
                    SELECT l.id FROM leads_lead l WHERE l.id = ANY(%s) AND l.status = 'rejected'
                      AND EXISTS (SELECT 1 FROM crm_outboxmessage m WHERE m.delivery_key =
                                  'marketing-feedback:lead-' || l.id || '-v' || l.version)
                    """,
                    [sorted(ack.rejected)],
                )
            }
            found += [
                Finding(
                    LOST,
                    f"ack-reject:{lead}",
                    f"lead {lead} rejected (200) but not rejected, or marketing not told",
                )
                for lead in sorted(ack.rejected - told)
            ]
        if ack.conversions:
            present = set(
                rows(
                    "SELECT lead_id, id FROM opportunities_opportunity WHERE lead_id = ANY(%s)",
                    [sorted(ack.conversions)],
                )
            )
            found += [
                Finding(
                    LOST,
                    f"ack-convert:{lead}",
                    f"lead {lead} converted (201, deal {deal}) but the deal is not there",
                )
                for lead, deal in sorted(ack.conversions.items())
                if (lead, deal) not in present
            ]
        return found


def _sent_by(handler: Any, payload: dict[str, Any]) -> list[Signature]:
    from django.core import mail
    from django.test.utils import override_settings

    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
        transaction.atomic(),
    ):
        mail.outbox = []
        handler(**payload)
        sent = [mail_of(m) for m in mail.outbox]
        transaction.set_rollback(True)
    return [signature(m.to, m.subject, m.body) for m in sent]


_LEAD_URL = re.compile(r"/leads/(\d+)/")


def _lead_in(url: str) -> int | None:
    match = _LEAD_URL.search(url or "")
    return int(match.group(1)) if match else None


def _digest(sig: Signature) -> str:
    return hashlib.sha1(repr(sig).encode()).hexdigest()[:12]  # noqa: S324 - a name, not a secret
