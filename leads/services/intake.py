"""Intake: every new lead, from every channel, comes in through `lead_intake`.

One function, so the browser form, the API, the CSV import, web-to-lead forms and the
inbound webhook apply the same minimum-data rules, the same deduplication (one person,
one live lead: `leads.identity`, `leads.duplicates`), start the same SLA clocks and route
the lead the same way.

**Concurrency.** Two intakes of one new person at the same moment must not make two
leads. Before it looks, `lead_intake` takes a PostgreSQL advisory transaction lock
(`pg_advisory_xact_lock`) on a hash of each key the person can be matched on (e-mail,
name at domain), in sorted order; a second intake of the same person waits for the first
to commit and then finds its lead. An advisory lock rather than a partial unique index:
the name key is matched on the company domain in Python (`leads.identity`), which an index
cannot enforce; the database may already hold duplicates from before this rule (a unique
index would fail to build, and imports of historical leads may carry closed ones); and a
unique violation would abort the caller's transaction (an import batch) where a lock only
makes it wait. SQLite (development, tests) opens every transaction IMMEDIATE
(`crm.settings`), so writers are serialized there anyway.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.versioning import as_jsonable, save_with_version_bump
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.duplicates import find_duplicates, live_lead, person_leads, previous_lead, survivors
from leads.identity import lock_id, lock_keys, normalize_email, stored_domain
from leads.models import Lead, LeadEvent, Qualification
from leads.services._locking import lockable
from leads.services._records import record_event
from leads.services.assignment import _assign, _route
from leads.services.bulk_intake import INTAKE_GATE_LOCK
from leads.services.edits import EDITABLE_FIELDS
from leads.services.lifecycle import _transition

__all__ = ["CHANNELS", "IntakeResult", "find_duplicates", "lead_create", "lead_intake"]

Outcome = Literal["created", "deduplicated"]
# Where a lead came in: the browser form, the REST API, a CSV import, a public web-to-lead
# form, the marketing-automation webhook.
CHANNELS = ("form", "api", "import", "web_form", "webhook")
# What a touch always records when the submission gives it: where the person came from.
ATTRIBUTION = frozenset({"source", "campaign"})


@dataclass(frozen=True)
class IntakeResult:
    """What intake did: made `lead` ("created"; `previous` is the person's last closed
    lead it is linked to, if any), or recorded a touch on the person's live `lead`
    ("deduplicated"; `previous` is None)."""

    lead: Lead
    outcome: Outcome
    previous: Lead | None = None


def lead_intake(
    *,
    by: User | None,
    data: Mapping[str, Any],
    via: str,
    owner: User | None = None,
    form: str = "",
    at: datetime.datetime | None = None,
) -> IntakeResult:
    """Take in a lead: a new one, or a touch on the person's live lead.

    `data` holds `EDITABLE_FIELDS` only and must pass the intake rules (else
    `ValidationFailed` naming every problem, before anything is looked up). `at` is when
    the person came in (a web form's time, an import's "Created Date"); it dates the lead
    or the touch. SLA clocks always start now: they measure our response, which cannot
    begin before Threshold had the lead. `owner` (an SDR's own lead) applies to a new
    lead only; a touch never changes hands. `form` names the web form or import file.
    """
    if via not in CHANNELS:
        raise ValidationFailed(
            problems=[Problem("invalid_choice", "via", _("Unknown intake channel."))]
        )
    data = gate.canonical(data)
    _check(data)
    values = _cleaned(data)
    now = timezone.now()
    came_at = at or now
    with transaction.atomic():
        _lock_person(values)
        candidates = _locked_survivors(person_leads(values))
        live = live_lead(candidates)
        if live is not None:
            _record_touch(live, by=by, data=values, via=via, form=form, at=came_at)
            return IntakeResult(lead=live, outcome="deduplicated")
        previous = previous_lead(candidates)
        lead = _create(
            by=by, data=values, via=via, owner=owner, at=came_at, now=now, previous=previous
        )
    return IntakeResult(lead=lead, outcome="created", previous=previous)


def lead_create(
    *, by: User | None, data: Mapping[str, Any], owner: User | None = None, via: str = "form"
) -> Lead:
    """Create a lead without looking for the person's other leads.

    For callers that have decided there is no duplicate (tests, the demo). Every channel
    people use goes through `lead_intake`, which deduplicates."""
    data = gate.canonical(data)
    _check(data)
    now = timezone.now()
    with transaction.atomic():
        return _create(
            by=by, data=_cleaned(data), via=via, owner=owner, at=now, now=now, previous=None
        )


def _check(data: Mapping[str, Any]) -> None:
    """Refuse, with every problem named, data missing company, contact or source, or
    setting a field intake does not take."""
    problems = gate.intake_problems(data)
    problems += [
        Problem("unknown_field", f, _("This field cannot be set."))
        for f in sorted(set(data) - set(EDITABLE_FIELDS))
    ]
    if problems:
        raise ValidationFailed(problems=problems)


def _cleaned(data: Mapping[str, Any]) -> dict[str, Any]:
    """The values to store: no Nones, the e-mail without surrounding spaces (the
    `Lower("email")` index and `normalize_email` then agree), the web domain as a domain
    (`identity.stored_domain`, as an import stores it)."""
    values = {k: v for k, v in data.items() if v is not None}
    if isinstance(values.get("email"), str):
        values["email"] = values["email"].strip()
    if isinstance(values.get("company_domain"), str) and values["company_domain"].strip():
        values["company_domain"] = stored_domain(values["company_domain"].strip())
    return values


def _lock_person(data: Mapping[str, Any]) -> None:
    """Serialize intakes of one person until this transaction ends (module docstring).

    First the intake gate, shared: per-lead intakes never wait for each other on it, but
    an import batch takes it exclusively (`bulk_intake`: one lock per batch, not one per
    person), so a batch and a single intake each see the other's leads. Always the gate
    first, then the person keys in sorted order: no deadlock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [INTAKE_GATE_LOCK])
        for key in lock_keys(data):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(key)])


def _locked_survivors(leads: list[Lead]) -> list[Lead]:
    """The person's leads, each merged-away one replaced by the lead it was merged into
    (`survivors`), locked (id order: no deadlock) and read fresh. A lead merged away while
    this intake waited for its lock is followed to its survivor in turn."""
    locked: list[Lead] = []
    while leads:
        wanted = [lead.pk for lead in survivors(leads)]
        locked = list(lockable().filter(pk__in=wanted).order_by("pk"))
        if all(lead.merged_into_id is None for lead in locked):
            return locked
        leads = locked
    return locked


def _create(
    *,
    by: User | None,
    data: Mapping[str, Any],
    via: str,
    owner: User | None,
    at: datetime.datetime,
    now: datetime.datetime,
    previous: Lead | None,
) -> Lead:
    """Create the lead as MQL, start its clocks and route it (inside the caller's
    transaction)."""
    lead = Lead.objects.create(**data, previous_lead=previous)
    if at != now:
        # `auto_now_add` stamps the insert; an import keeps the lead's own date.
        lead.created_at = at
        lead.save(update_fields=["created_at"])
    Qualification.objects.create(lead=lead, updated_by=by)
    changes = {"previous_lead": [None, previous.pk]} if previous is not None else {}
    record_event(lead, LeadEvent.Kind.CREATED, by=by, at=at, changes=changes, note=via)
    _transition(lead, to=Lead.Status.MQL, by=by, reason=_("Passed intake validation"), at=at)
    lead.mql_at = at
    save_with_version_bump(lead, ["status", "mql_at"])
    clocks().on_event(lead=lead, event=ClockEvent.MQL, at=now)
    if owner is not None:
        _assign(lead, owner=owner, by=by, at=now, reason=_("Assigned at intake"))
    else:
        _route(lead, at=now)
    return lead


def _record_touch(
    lead: Lead,
    *,
    by: User | None,
    data: Mapping[str, Any],
    via: str,
    form: str,
    at: datetime.datetime,
) -> None:
    """The person came in again: a TOUCH event on their live (locked) lead, dated `at`.

    Its `changes` keep the history's `{name: [old, new]}` shape: `channel` and `form` as
    `[None, value]`; `source` and `campaign` when given, and every other field the
    submission gives differently, as `[value on the lead, value that came in]`, so
    nothing it carried is lost. The lead's own fields and version stay: nobody's open
    edit page goes stale because a form was filled in, and a person decides what to take
    over."""
    changes: dict[str, list[Any]] = {"channel": [None, via], "form": [None, form]}
    for name, value in data.items():
        current = as_jsonable(getattr(lead, name))
        if value == "":
            continue
        if name in ATTRIBUTION:
            # The touch's own attribution, kept even when it matches the lead's.
            changes[name] = [current, as_jsonable(value)]
            continue
        if current == as_jsonable(value):
            continue
        if name == "email" and normalize_email(value) == normalize_email(current):
            continue  # the same address, written differently
        changes[name] = [current, as_jsonable(value)]
    record_event(lead, LeadEvent.Kind.TOUCH, by=by, at=at, changes=changes)
