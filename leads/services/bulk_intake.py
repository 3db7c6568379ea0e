"""Bulk intake: a batch of leads (thousands) in one transaction, set-based: the CSV import.

`lead_intake` takes one lead in about a dozen statements (locks, two index probes, the
lead, its qualification, events, transition, clocks, routing, a notification): right for
a form, far too slow for a file of a million rows. `leads_bulk_intake` takes a batch and
writes the very rows the per-lead path writes, a table at a time: the person lookups are
two queries for the whole batch (the `Lower("email")` index, and the `NameKey` one, among
the leads without an address for the rows that have one: `_PersonIndex`), the leads,
qualifications, transitions and events are one COPY each (PostgreSQL; executemany
elsewhere), the clocks one INSERT ... SELECT per SLA policy (`LeadClocks.on_events_bulk`).

**The same as `lead_intake`:** the intake rules (`gate.intake_problems`, same codes and
messages); who a person is (`leads.identity`) and which lead holds them
(`leads.duplicates.live_lead`, a merged-away lead standing for its survivor,
`merged_survivors`; a person with only closed leads gets a new lead linked to the newest,
`previous_lead`); `at` dates the lead (created_at, mql_at, the CREATED event, the
NEW -> MQL transition) while routing and clocks use now; and routing: the same rules in
the same order with the same round-robin pointers, advanced in memory row by row and
saved once, so a batch assigns exactly as one `_route` per row in file order would.

**On purpose different:** a person who is already live is not a TOUCH: the import's
`on_duplicate` says skip, fill blanks or overwrite (an EDITED event, old -> new), so
importing a file twice leaves every timeline as it was. Owners are told once per import
(the caller sums `BulkResult.owners`), not once per lead. A file may carry a status beyond
MQL (SAL, nurture, disqualified; `IMPORT_STATUSES`): the move is recorded as at intake,
without marketing's e-mail (history, not news); a nurtured or disqualified lead has left
the flow: it gets no clocks and is not routed (no one's round-robin turn, no Unassigned
queue), keeping only an owner the file or the import names.

**Concurrency.** Each batch takes one exclusive advisory lock, `INTAKE_GATE_LOCK` (not one
per person: a batch would need ~10,000, more than PostgreSQL's lock table holds), and
`lead_intake` takes it shared before its per-person locks: an import batch and a web form
never both create the same new person, nor two imports. The routing pointers are locked
as `_route` locks them.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem
from crm.models import User
from crm.versioning import as_jsonable
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.duplicates import (
    FINAL_STATUSES,
    live_lead,
    merged_survivors,
    previous_lead,
    record_values,
)
from leads.identity import (
    NameKey,
    PersonKeys,
    identity_domain,
    normalize_email,
    normalize_name,
    person_keys,
    record_key,
)
from leads.models import Lead, LeadEvent, LeadTransition, Qualification
from leads.services._records import keep_former_addresses
from leads.services.bulk_rehearsal import Rehearsal
from leads.services.bulk_routing import Assignment, BatchRouter
from leads.services.bulk_rows import (
    EVENT_COLUMNS,
    TRANSITION_COLUMNS,
    BulkRow,
    any_of,
    json_value,
    lead_spec,
    qualification_rows,
    reserve_lead_ids,
    row_problems,
    server_binding,
    write_rows,
)
from leads.services.edits import EDITABLE_FIELDS

Status = Lead.Status
OnDuplicate = Literal["skip", "fill", "overwrite"]
ON_DUPLICATE: tuple[OnDuplicate, ...] = ("skip", "fill", "overwrite")
# pg_advisory_xact_lock key: "lead-intake-gate" (module docstring).
INTAKE_GATE_LOCK = 0x1EAD_1A7E_6A7E
# Clock events per imported status, in the order they happen at intake.
_CLOCK_EVENTS: dict[str, tuple[ClockEvent, ...]] = {
    Status.MQL: (ClockEvent.MQL, ClockEvent.ASSIGNED),
    Status.SAL: (ClockEvent.MQL, ClockEvent.ASSIGNED, ClockEvent.DECIDED),
}
# The milestone each imported status beyond MQL stamps.
_MILESTONES: dict[str, str] = {
    Status.SAL: "accepted_at",
    Status.NURTURE: "nurtured_at",
    Status.DISQUALIFIED: "disqualified_at",
}


@dataclass(frozen=True)
class BulkOutcome:
    outcome: Literal["created", "updated", "skipped", "failed"]
    lead_id: int | None = None
    problems: tuple[Problem, ...] = ()
    # The same person as this earlier row of the batch (its index): fed into its lead.
    follows: int | None = None


@dataclass
class BulkResult:
    outcomes: list[BulkOutcome]
    owners: Counter[int] = field(default_factory=Counter)  # new leads per owner id


# --- the batch ------------------------------------------------------------------------------


def leads_bulk_intake(
    *,
    rows: Sequence[BulkRow],
    by: User | None,
    via: str = "import",
    on_duplicate: OnDuplicate = "skip",
    assignment: Assignment | None = None,
    may_update: Callable[[Lead], bool] | None = None,
    dry_run: bool = False,
    rehearsal: Rehearsal | None = None,
    now: datetime.datetime | None = None,
) -> BulkResult:
    """Take in `rows` in one transaction (a savepoint inside the caller's): one outcome per
    row, in order. A row a person already has a live lead for updates it as
    `on_duplicate` says, if `may_update(lead)`; a later row of a person earlier in the batch
    does the same to that row's new lead. `dry_run` answers the same without writing;
    its `rehearsal` (a dry run of several batches) remembers the leads earlier batches
    would have created, so a person met again counts as the real run counts them."""
    now = now or timezone.now()
    assignment = assignment or Assignment()
    outcomes: list[BulkOutcome | None] = [None] * len(rows)
    valid: list[int] = []
    # Rows that leave out a required value only: fine for a person who has a lead already
    # (the lead has it), judged once their person is known (`_Plan`, `_updates`).
    unfinished: dict[int, tuple[Problem, ...]] = {}
    for index, row in enumerate(rows):
        problems = row_problems(row)
        if problems and all(p.code in _MISSING for p in problems):
            unfinished[index] = tuple(problems)
        if problems and index not in unfinished:
            outcomes[index] = BulkOutcome("failed", problems=tuple(problems))
        else:
            if isinstance(row.data.get("email"), str):
                row.data["email"] = row.data["email"].strip()
            valid.append(index)
    with transaction.atomic():
        if not dry_run and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INTAKE_GATE_LOCK])
        keys = [person_keys(rows[i].data) for i in valid]
        with server_binding():
            people = _PersonIndex(keys, rehearsal if dry_run else None)
        plan = _Plan(rows, valid, keys, people, unfinished)
        for index in plan.refused:
            outcomes[index] = BulkOutcome("failed", problems=unfinished[index])
        updates = _updates(plan, rows, on_duplicate, may_update, dry_run, outcomes, unfinished)
        if dry_run:
            for index in plan.new:
                outcomes[index] = BulkOutcome("created")
            if rehearsal is not None:
                rehearsal.remember(
                    updated=updates.values(),
                    created=[rows[index] for index in plan.new],
                    owner=assignment.owner,
                    now=now,
                )
            return BulkResult(_complete(outcomes, plan, {}))
        lead_ids = reserve_lead_ids(len(plan.new))
        new_ids = dict(zip(plan.new, lead_ids, strict=True))
        owners = _create(rows, plan, new_ids, by=by, via=via, assignment=assignment, now=now)
        _save_updates(updates, by=by, via=via, now=now)
    return BulkResult(_complete(outcomes, plan, new_ids), owners)


def _complete(
    outcomes: list[BulkOutcome | None], plan: _Plan, new_ids: dict[int, int]
) -> list[BulkOutcome]:
    """Fill in the new leads' outcomes, and the ids of the leads later rows fed into."""
    done: list[BulkOutcome] = []
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            outcome = BulkOutcome("created", new_ids.get(index))
        elif index in plan.follows:
            leader = plan.follows[index]
            outcome = BulkOutcome(outcome.outcome, new_ids.get(leader), follows=leader)
        done.append(outcome)
    return done


# --- who is who -----------------------------------------------------------------------------


class _PersonIndex:
    """The existing leads of the batch's people: one query by e-mail, one by name."""

    def __init__(self, keys: list[PersonKeys], rehearsal: Rehearsal | None = None) -> None:
        emails = {email for email, _name, _domain in keys} - {""}
        names = {name for _email, name, _domain in keys} - {""}
        # A row with an address is the same person as a lead of its name only when that
        # lead has no address (`leads_of`): its name is looked up among those alone, a
        # small index (`lead_name_key_no_email_idx`), not among every lead.
        anyone = {name for email, name, _domain in keys if not email} - {""}
        self.by_email: dict[str, list[Lead]] = {}
        self.by_name: dict[str, list[Lead]] = {}
        # What telling people apart needs, not whole leads: a batch of known people is
        # thousands of rows (an import run twice), and a full Lead costs ten times more.
        rows = Lead.objects.only(*_IDENTITY_FIELDS).order_by()
        if emails:
            found = rows.filter(any_of(Lower("email"), emails)).exclude(email="")
            for lead in found:
                self.by_email.setdefault(normalize_email(lead.email), []).append(lead)
            # The leads that had one of these addresses before (a merge, an overwrite).
            former = rows.filter(any_of(F("former_addresses__email"), emails)).annotate(
                former=F("former_addresses__email")
            )
            for lead in former:
                address: str = lead.former  # type: ignore[attr-defined]  # annotated above
                self.by_email.setdefault(address, []).append(lead)
        named = ~Q(last_name="")
        for wanted, where in ((anyone, named), (names - anyone, named & Q(email=""))):
            if not wanted:
                continue
            found = rows.filter(any_of(NameKey("first_name", "last_name"), wanted), where)
            for lead in found:
                name = normalize_name(lead.first_name, lead.last_name)
                self.by_name.setdefault(name, []).append(lead)
        # A merged-away lead's person is held by its survivor (`leads.duplicates`): the
        # survivors of the whole batch in one query (one more per link of a longer chain).
        known = [lead for found in self.by_email.values() for lead in found]
        known += [lead for found in self.by_name.values() for lead in found]
        self.survivor = merged_survivors(known, rows=rows)
        for lead in rehearsal.leads(emails, names) if rehearsal else ():
            email = normalize_email(lead.email)
            if email in emails:
                self.by_email.setdefault(email, []).append(lead)
            name = normalize_name(lead.first_name, lead.last_name)
            if name in names:
                self.by_name.setdefault(name, []).append(lead)

    def leads_of(self, data: dict[str, Any], email: str, name: str, domain: str) -> list[Lead]:
        """`leads.duplicates.person_leads` through `survivors`, from the lookups (`email`,
        `name` and `domain` are the row's, normalized)."""
        found = {lead.pk: lead for lead in self.by_email.get(email, ())} if email else {}
        same_name = self.by_name.get(name, ()) if name else ()
        record = "" if email or domain or not same_name else record_key(data)
        for lead in same_name:
            if email and lead.email:
                continue  # two addresses are two people
            lead_values = {"company_domain": lead.company_domain, "email": lead.email}
            if (domain and identity_domain(lead_values) == domain) or (
                record and not lead.email and record_key(record_values(lead)) == record
            ):
                found.setdefault(lead.pk, lead)
        held: dict[int, Lead] = {}
        for lead in found.values():
            if lead.merged_into_id is None:
                held.setdefault(lead.pk, lead)
            elif (survivor := self.survivor.get(lead.pk)) is not None:
                held.setdefault(survivor.pk, survivor)
        return [held[pk] for pk in sorted(held)]


_IDENTITY_FIELDS = (
    "email", "first_name", "last_name", "company_name", "company_domain", "phone", "status",
    "created_at", "merged_into",
)  # fmt: skip


class _Plan:
    """Each valid row's fate: a new lead (`new`, in file order, with `previous`), a row
    fed into an earlier row's new lead (`follows`), or an existing lead (`existing`). An
    `unfinished` row (a required value left out) may only feed a lead: one that would be
    new is `refused`, and no later row is matched to it."""

    def __init__(
        self,
        rows: Sequence[BulkRow],
        valid: list[int],
        keys: list[PersonKeys],
        people: _PersonIndex,
        unfinished: Container[int] = (),
    ) -> None:
        self.new: list[int] = []
        self.refused: list[int] = []
        self.previous: dict[int, int] = {}
        self.follows: dict[int, int] = {}
        self.existing: dict[int, Lead] = {}
        by_email: dict[str, int] = {}
        by_name: dict[str, int] = {}
        by_name_without_email: dict[str, int] = {}
        for index, (email, name, domain) in zip(valid, keys, strict=True):
            row = rows[index]
            data = row.data
            candidates = people.leads_of(data, email, name, domain)
            holder = live_lead(candidates)
            if holder is None and row.status in FINAL_STATUSES:
                # A closed lead coming in again is the same record, not a returning person.
                holder = previous_lead(candidates)
            if holder is not None:
                self.existing[index] = holder
                continue
            key = f"{name}|{domain}" if name and domain else ""
            if not email and not key:
                key = record_key(data)
            earlier = by_email.get(email) if email else None
            if earlier is None and key:
                earlier = (by_name_without_email if email else by_name).get(key)
            if earlier is not None:
                self.follows[index] = earlier
                continue
            if index in unfinished:
                self.refused.append(index)
                continue
            self.new.append(index)
            closed = previous_lead(candidates)
            if closed is not None:
                self.previous[index] = closed.pk
            if email:
                by_email[email] = index
            if key:
                by_name.setdefault(key, index)
                if not email:
                    by_name_without_email.setdefault(key, index)


# --- duplicates: skip, fill blanks, overwrite --------------------------------------------------


# Where the lead came from: kept by every update, as intake keeps it for a returning person.
ATTRIBUTION = frozenset({"source", "campaign"})
# The intake problems of a value left out: a row updating a lead is judged with the lead's.
_MISSING = frozenset({"required", "contact_unreachable"})


def _incoming_changes(
    current: dict[str, Any], incoming: dict[str, Any], mode: OnDuplicate
) -> dict[str, Any]:
    """What `incoming` changes: never blanks a value; "fill" only sets blank ones.

    A placeholder ("N/A", "TBD", "-") is no answer on either side (`gate.is_blank`): it
    never replaces a value, even in "overwrite", and "fill" fills it like a blank. The
    lead's source and campaign are its attribution (DOMAIN.md: the original lead source
    goes to the opportunity): an overwrite leaves them, as a touch does."""
    changes = {}
    for name, value in incoming.items():
        if name not in EDITABLE_FIELDS or gate.is_blank(value):
            continue
        old = current.get(name)
        if (mode == "fill" or name in ATTRIBUTION) and not gate.is_blank(old):
            continue
        if old == value or (
            name == "email" and normalize_email(old) == normalize_email(value) and old
        ):
            continue
        changes[name] = value
    return changes


def _updates(
    plan: _Plan,
    rows: Sequence[BulkRow],
    mode: OnDuplicate,
    may_update: Callable[[Lead], bool] | None,
    dry_run: bool,
    outcomes: list[BulkOutcome | None],
    unfinished: Container[int] = (),
) -> dict[int, tuple[Lead, dict[str, Any]]]:
    """Outcomes of the rows of people already known; the changes to write, by lead id.
    An `unfinished` row (a required value left out) is judged by the lead it would leave:
    the lead's values with the row's changes, as an edit is (`leads.services.edits`)."""
    for index, leader in plan.follows.items():
        if mode == "skip":
            outcomes[index] = BulkOutcome("skipped")
            continue
        target = rows[leader].data
        changes = _incoming_changes(target, rows[index].data, mode)
        target.update(changes)
        outcomes[index] = BulkOutcome("updated" if changes else "skipped")
    if mode == "skip":
        for index, lead in plan.existing.items():
            outcomes[index] = BulkOutcome("skipped", lead.pk)
        return {}
    if plan.existing:
        # The whole leads now, with whom `may_update` asks about; locked unless a dry run.
        ids = sorted({lead.pk for lead in plan.existing.values()})
        found = Lead.objects.filter(any_of(F("id"), ids)).select_related("owner", "team")
        if not dry_run:
            found = found.select_for_update(of=("self",))
        fresh = {lead.pk: lead for lead in found.order_by("pk")}
        plan.existing = {i: fresh.get(lead.pk, lead) for i, lead in plan.existing.items()}
    updates: dict[int, tuple[Lead, dict[str, Any]]] = {}
    for index, lead in plan.existing.items():
        if may_update is not None and not may_update(lead):
            problem = Problem(
                "not_yours",
                "email",
                _("This person already has a lead (#%(id)d) that you may not change.")
                % {"id": lead.pk},
            )
            outcomes[index] = BulkOutcome("failed", lead.pk, (problem,))
            continue
        pending = updates.get(lead.pk, (lead, {}))[1]
        current = {name: getattr(lead, name) for name in EDITABLE_FIELDS} | pending
        changes = _incoming_changes(current, rows[index].data, mode)
        if index in unfinished:
            missing = [p for p in gate.intake_problems(current | changes) if p.code in _MISSING]
            if missing:
                outcomes[index] = BulkOutcome("failed", lead.pk, tuple(missing))
                continue
        updates[lead.pk] = (lead, pending | changes)
        outcomes[index] = BulkOutcome("updated" if changes else "skipped", lead.pk)
    return {pk: update for pk, update in updates.items() if update[1]}


def _save_updates(
    updates: dict[int, tuple[Lead, dict[str, Any]]],
    *,
    by: User | None,
    via: str,
    now: datetime.datetime,
) -> None:
    """Write the changed leads (version bumped) and an EDITED event each, old -> new."""
    if not updates:
        return
    fields: set[str] = set()
    events = []
    leads = []
    audit_of: dict[int, dict[str, list[Any]]] = {}
    for lead, changes in updates.values():
        audit = {
            name: [as_jsonable(getattr(lead, name)), as_jsonable(value)]
            for name, value in changes.items()
        }
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.version += 1
        lead.updated_at = now
        fields.update(changes)
        leads.append(lead)
        by_id = by.pk if by else None
        events.append((lead.pk, LeadEvent.Kind.EDITED.value, by_id, now, audit, via))
        audit_of[lead.pk] = audit
    Lead.objects.bulk_update(leads, [*sorted(fields), "version", "updated_at"], batch_size=500)
    write_rows(LeadEvent, EVENT_COLUMNS, events)
    keep_former_addresses(
        (lead.pk, *audit_of[lead.pk]["email"]) for lead in leads if "email" in audit_of[lead.pk]
    )


# --- new leads ------------------------------------------------------------------------------


def _create(
    rows: Sequence[BulkRow],
    plan: _Plan,
    new_ids: dict[int, int],
    *,
    by: User | None,
    via: str,
    assignment: Assignment,
    now: datetime.datetime,
) -> Counter[int]:
    """Write the new leads as `lead_intake._create` makes them; return leads per owner."""
    if not plan.new:
        return Counter()
    router = BatchRouter(assignment)
    by_id = by.pk if by else None
    spec = lead_spec()
    # Each lead is the model's defaults with its own values put in place: a list copied
    # and filled by column position, no dictionary per lead.
    position = {name: i for i, name in enumerate(spec.columns)}
    template = [spec.defaults[name] for name in spec.columns]
    at_, version_, owner_, team_, assigned_, previous_ = (
        position[name]
        for name in ("created_at", "version", "owner_id", "team_id", "assigned_at",
                     "previous_lead_id")
    )  # fmt: skip
    template[position["updated_at"]] = now
    id_, status_, mql_at_ = position["id"], position["status"], position["mql_at"]
    people = {u.pk: u for u in router.sdrs}
    leads, transitions, events = [], [], []
    clocked: dict[tuple[ClockEvent, ...], list[int]] = {}
    owners: Counter[int] = Counter()
    intake_reason = _("Passed intake validation")
    created_kind, assigned_kind = LeadEvent.Kind.CREATED.value, LeadEvent.Kind.ASSIGNED.value
    new_status, mql_status = Status.NEW.value, Status.MQL.value
    moves: dict[tuple[str, str], str] = {}  # (status, label as the file wrote it) -> reason
    # The JSON of the events, serialized once per distinct value (`json_value`).
    no_change = json_value({})
    owner_changes: dict[int, Any] = {}
    ordinary = (mql_status,)
    for index in plan.new:
        row, lead_id = rows[index], new_ids[index]
        at = row.at or now
        owner, team_id, reason = router.decide(row.data, row.owner, status=row.status)
        values = template.copy()
        for name, value in row.data.items():
            if value is not None:
                values[position[name]] = value
        values[id_], values[status_] = lead_id, row.status
        values[at_] = values[mql_at_] = at
        values[team_] = team_id or None
        previous = plan.previous.get(index)
        if previous:
            values[previous_] = previous
            created = json_value({"previous_lead": [None, previous]})
        else:
            created = no_change
        events.append((lead_id, created_kind, by_id, at, created, via))
        transitions.append((lead_id, new_status, mql_status, by_id, intake_reason, at))
        if owner is not None:
            owner_id = owner.pk
            values[owner_], values[assigned_], values[version_] = owner_id, now, 3
            owners[owner_id] += 1
            # Routing assigns as the system; an owner chosen for the lead, as its importer.
            actor = by_id if (row.owner or assignment.owner) else None
            change = owner_changes.get(owner_id)
            if change is None:
                name = str(people.setdefault(owner_id, owner))
                change = owner_changes[owner_id] = json_value({"owner": [None, name]})
            events.append((lead_id, assigned_kind, actor, now, change, reason))
        else:
            values[version_] = 2
        if row.status not in ordinary:
            values[position[_MILESTONES[row.status]]] = now
            values[version_] += 1
            moved = moves.get((row.status, row.status_label))
            if moved is None:
                label = row.status_label or Lead.Status(row.status).label
                moved = moves[row.status, row.status_label] = _("Imported with status “%s”") % label
            transitions.append((lead_id, mql_status, row.status, by_id, moved, now))
            if row.status == Status.DISQUALIFIED:
                values[position["disqualification_note"]] = moved
        events_at_intake = _CLOCK_EVENTS.get(row.status, ())
        if owner is None:
            events_at_intake = events_at_intake[:1]
        if events_at_intake:
            clocked.setdefault(events_at_intake, []).append(lead_id)
        leads.append(values)
    write_rows(Lead, spec.columns, leads)
    write_rows(Qualification, *qualification_rows(new_ids.values(), by_id, now))
    write_rows(LeadTransition, TRANSITION_COLUMNS, transitions)
    write_rows(LeadEvent, EVENT_COLUMNS, events)
    with server_binding():  # each statement carries the batch's lead ids
        for clock_events, ids in clocked.items():
            clocks().on_events_bulk(lead_ids=ids, events=clock_events, at=now, new=True)
    router.save()
    return owners
