"""Finding a person's leads: the reads behind deduplication at intake, the browser's
"likely duplicates" warning and the merge page's suggestions.

Each lookup is an index probe on the keys `leads.identity` defines (`Lower("email")` and
`NameKey(first_name, last_name)` on `Lead`, and the addresses leads had before, in
`LeadAddress`); the company domain, and for a warning the
company name, are then compared in Python on the handful of rows the probe returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Lower

from crm.models import normalize_company_name
from leads.identity import (
    NameKey,
    identity_domain,
    normalize_email,
    normalize_name,
    record_key,
)
from leads.models import ALLOWED_TRANSITIONS, Lead, LeadAddress

# A lead that can still move on (DOMAIN.md lists a next status) holds its person: a
# returning person is a touch on it, not a second lead. That is every open status and
# also NURTURE and REJECTED, which may be reopened to MQL: a second lead beside them
# would split one person's history, and reopening would then leave two open leads.
# CONVERTED and DISQUALIFIED are final: the person starts a new lead, linked back.
LIVE_STATUSES: tuple[str, ...] = tuple(
    status for status, following in ALLOWED_TRANSITIONS.items() if following
)
FINAL_STATUSES: tuple[str, ...] = tuple(
    status for status, following in ALLOWED_TRANSITIONS.items() if not following
)


def _by_email(email: str, rows: QuerySet[Lead]) -> QuerySet[Lead]:
    return rows.alias(email_key=Lower("email")).filter(email_key=email).exclude(email="")


def _by_former_address(email: str, rows: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads that had `email` before taking another address (`LeadAddress`): a probe
    of its (email, lead) constraint's index, then the leads by key."""
    return rows.filter(pk__in=LeadAddress.objects.filter(email=email).values("lead_id"))


def _by_name(name: str, rows: QuerySet[Lead]) -> QuerySet[Lead]:
    return (
        rows.alias(name_key=NameKey("first_name", "last_name"))
        .filter(name_key=name)
        .exclude(last_name="")
    )


def _lead_values(lead: Lead) -> dict[str, Any]:
    return {"company_domain": lead.company_domain, "email": lead.email}


def person_leads(data: Mapping[str, Any], *, rows: QuerySet[Lead] | None = None) -> list[Lead]:
    """Every lead of the person `data` describes (`leads.identity`: the same e-mail; or,
    where one side has no e-mail, the same name at the same company domain; or, with
    neither an e-mail nor a domain, the same name, company and phone as a lead without an
    e-mail, `leads.identity.record_key`), by id.

    Two index probes at most; merged-away leads are included (callers pass the list
    through `survivors`, which puts the lead each was merged into in its place)."""
    rows = rows if rows is not None else Lead.objects.all()
    email = normalize_email(data.get("email"))
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    domain = identity_domain(data)
    found: dict[int, Lead] = {}
    if email:
        found.update((lead.pk, lead) for lead in _by_email(email, rows))
        found.update((lead.pk, lead) for lead in _by_former_address(email, rows))
    if name and domain:
        by_name = _by_name(name, rows)
        if email:
            # Two different addresses are two people; an address and none may be one.
            by_name = by_name.filter(email="")
        found.update(
            (lead.pk, lead)
            for lead in by_name
            if identity_domain(_lead_values(lead)) == domain and lead.pk not in found
        )
    elif name and not email and (record := record_key(data)):
        # No address and no domain: the same record (name, company, phone digits) as a
        # lead that has no address either is the same person, as an import judges it.
        found.update(
            (lead.pk, lead)
            for lead in _by_name(name, rows).filter(email="")
            if record_key(record_values(lead)) == record
        )
    return [found[pk] for pk in sorted(found)]


def record_values(lead: Lead) -> dict[str, Any]:
    """What `leads.identity.record_key` reads of a lead (the import matches on it too)."""
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company_name": lead.company_name,
        "phone": lead.phone,
    }


def _newest_first(leads: Iterable[Lead]) -> list[Lead]:
    return sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)


def merged_survivors(
    leads: Iterable[Lead], *, rows: QuerySet[Lead] | None = None
) -> dict[int, Lead]:
    """For each merged-away lead of `leads`, by its id, the lead that now holds its person:
    the one it was merged into, followed along the chain (a survivor may itself have been
    merged later). A merged-away lead is a closed record; its person lives on in the
    survivor, which is what deduplication and the warnings must see.

    One query per link of the longest chain (almost always one; none when nothing was
    merged). `rows` loads the survivors (a narrowed `.only(...)`, or a user's scope: a
    survivor outside it is left out)."""
    pointers = {lead.pk: lead.merged_into_id for lead in leads if lead.merged_into_id is not None}
    base = rows if rows is not None else Lead.objects.all()
    links: dict[int, int | None] = {}  # lead id -> the lead it was merged into, if any
    ends: dict[int, Lead] = {}
    wanted = set(pointers.values())
    while wanted:
        loaded = {lead.pk: lead for lead in base.filter(pk__in=wanted).order_by()}
        links.update((pk, lead.merged_into_id) for pk, lead in loaded.items())
        ends.update((pk, lead) for pk, lead in loaded.items() if lead.merged_into_id is None)
        if hidden := wanted - set(loaded):
            # A link `rows` leaves out (another team's lead) may still lead to one it has.
            links.update(dict.fromkeys(hidden))
            found = Lead.objects.filter(pk__in=hidden).values_list("pk", "merged_into_id")
            links.update(found.order_by())
        wanted = {into for into in links.values() if into is not None and into not in links}
    held: dict[int, Lead] = {}
    for pk, first in pointers.items():
        at: int | None = first
        for _hop in range(len(links) + 1):  # a chain, never a cycle; bounded all the same
            if at is None or at in ends:
                break
            at = links.get(at)
        if at is not None and at in ends:
            held[pk] = ends[at]
    return held


def survivors(leads: Iterable[Lead], *, rows: QuerySet[Lead] | None = None) -> list[Lead]:
    """`leads` with each merged-away one replaced by its survivor (`merged_survivors`),
    each lead once, by id."""
    leads = list(leads)
    held = merged_survivors(leads, rows=rows)
    found = {lead.pk: lead for lead in leads if lead.merged_into_id is None}
    for lead in held.values():
        found.setdefault(lead.pk, lead)
    return [found[pk] for pk in sorted(found)]


def live_lead(leads: Iterable[Lead]) -> Lead | None:
    """The lead that holds the person: the newest open one, else the newest nurtured or
    rejected one (the queues work open leads first); None when all are final. Pass the
    person's leads through `survivors` first: a merged-away lead holds no one."""
    live = [lead for lead in leads if lead.status in LIVE_STATUSES and lead.merged_into_id is None]
    open_ = [lead for lead in live if lead.is_open]
    ordered = _newest_first(open_) or _newest_first(live)
    return ordered[0] if ordered else None


def previous_lead(leads: Iterable[Lead]) -> Lead | None:
    """The person's newest closed lead, which a returning person's new lead links to.
    Pass the person's leads through `survivors` first: a merged-away duplicate is
    represented by the lead it was merged into, which may be open (then it is the
    `live_lead`, and there is no previous lead) or closed (then it may be this one)."""
    final = [
        lead for lead in leads if lead.status in FINAL_STATUSES and lead.merged_into_id is None
    ]
    return _newest_first(final)[0] if final else None


def find_duplicates(
    data: Mapping[str, Any],
    *,
    limit: int = 5,
    rows: QuerySet[Lead] | None = None,
    exclude: int | None = None,
) -> list[Lead]:
    """Likely duplicates of `data`, open and closed, for a person to judge (the intake
    form's warning, the merge page's suggestions): the same e-mail; the same name at the
    same company domain, whatever the e-mails; the same name at a company of the same
    name. Live leads first, then the newest. A merged-away lead that matches is shown as
    its survivor (`survivors`): that lead now holds the person, whatever its own e-mail.
    `rows` scopes the search (pass the user's visible leads); `exclude` leaves one lead
    out (the one being merged into)."""
    rows = (rows if rows is not None else Lead.objects.all()).select_related("owner")
    email = normalize_email(data.get("email"))
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    domain = identity_domain(data)
    company = normalize_company_name(str(data.get("company_name") or ""))
    found: dict[int, Lead] = {}
    if email:
        found.update((lead.pk, lead) for lead in _by_email(email, rows)[: limit * 4])
        found.update((lead.pk, lead) for lead in _by_former_address(email, rows)[:limit])
    if name and (domain or company):
        for lead in _by_name(name, rows)[:200]:
            same_domain = bool(domain) and identity_domain(_lead_values(lead)) == domain
            same_company = bool(company) and normalize_company_name(lead.company_name) == company
            if same_domain or same_company:
                found.setdefault(lead.pk, lead)
    matches = [lead for lead in survivors(found.values(), rows=rows) if lead.pk != exclude]
    ordered = sorted(
        matches,
        key=lambda lead: (lead.status in LIVE_STATUSES, lead.created_at, lead.pk),
        reverse=True,
    )
    return ordered[:limit]
