"""Finding a person's leads: the reads behind deduplication at intake, the browser's
"likely duplicates" warning and the merge page's suggestions.

Each lookup is an index probe on the keys `leads.identity` defines (`Lower("email")` and
`NameKey(first_name, last_name)` on `Lead`); the company domain, and for a warning the
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
)
from leads.models import ALLOWED_TRANSITIONS, Lead

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
    where one side has no e-mail, the same name at the same company domain), by id.

    Two index probes at most; merged-away leads are included (callers follow
    `merged_into`)."""
    rows = rows if rows is not None else Lead.objects.all()
    email = normalize_email(data.get("email"))
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    domain = identity_domain(data)
    found: dict[int, Lead] = {}
    if email:
        found.update((lead.pk, lead) for lead in _by_email(email, rows))
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
    return [found[pk] for pk in sorted(found)]


def _newest_first(leads: Iterable[Lead]) -> list[Lead]:
    return sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)


def live_lead(leads: Iterable[Lead]) -> Lead | None:
    """The lead that holds the person: the newest open one, else the newest nurtured or
    rejected one (the queues work open leads first); None when all are final."""
    live = [lead for lead in leads if lead.status in LIVE_STATUSES and lead.merged_into_id is None]
    open_ = [lead for lead in live if lead.is_open]
    ordered = _newest_first(open_) or _newest_first(live)
    return ordered[0] if ordered else None


def previous_lead(leads: Iterable[Lead]) -> Lead | None:
    """The person's newest closed lead, which a returning person's new lead links to. A
    merged-away duplicate is represented by the lead it was merged into."""
    final = [
        lead for lead in leads if lead.status in FINAL_STATUSES and lead.merged_into_id is None
    ]
    if final:
        return _newest_first(final)[0]
    merged = _newest_first(lead for lead in leads if lead.merged_into_id is not None)
    return merged[0].merged_into if merged else None


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
    name. Live leads first, then the newest; merged-away leads are left out (their
    survivor stands for them). `rows` scopes the search (pass the user's visible leads);
    `exclude` leaves one lead out (the one being merged into)."""
    rows = (rows if rows is not None else Lead.objects.all()).filter(merged_into__isnull=True)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    rows = rows.select_related("owner")
    email = normalize_email(data.get("email"))
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    domain = identity_domain(data)
    company = normalize_company_name(str(data.get("company_name") or ""))
    found: dict[int, Lead] = {}
    if email:
        found.update((lead.pk, lead) for lead in _by_email(email, rows)[: limit * 4])
    if name and (domain or company):
        for lead in _by_name(name, rows)[:200]:
            same_domain = bool(domain) and identity_domain(_lead_values(lead)) == domain
            same_company = bool(company) and normalize_company_name(lead.company_name) == company
            if same_domain or same_company:
                found.setdefault(lead.pk, lead)
    ordered = sorted(
        found.values(),
        key=lambda lead: (lead.status in LIVE_STATUSES, lead.created_at, lead.pk),
        reverse=True,
    )
    return ordered[:limit]
