"""Saving a lead and recording what happened to it, the same way in every service.

Every save bumps `Lead.version` (what `check_version` compares against), and every change
other than a status move leaves a `LeadEvent` row, so the lead's history is complete.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse

from crm.models import User
from leads.identity import normalize_email
from leads.models import Lead, LeadAddress, LeadEvent


def record_event(
    lead: Lead,
    kind: str,
    *,
    by: User | None,
    at: datetime.datetime,
    changes: Mapping[str, Any] | None = None,
    note: str = "",
) -> None:
    """Write the history row for a change that is not a status move."""
    LeadEvent.objects.create(
        lead=lead, kind=kind, actor=by, created_at=at, changes=dict(changes or {}), note=note
    )


def keep_former_addresses(changed: Iterable[tuple[int, Any, Any]]) -> None:
    """For each (lead id, old e-mail, new e-mail) where the address really changed, keep
    the old one (`LeadAddress`): the person is still found by it. One INSERT; an address
    the lead had before is not stored twice."""
    rows = [
        LeadAddress(lead_id=pk, email=normalize_email(old))
        for pk, old, new in changed
        if normalize_email(old) and normalize_email(old) != normalize_email(new)
    ]
    if rows:
        LeadAddress.objects.bulk_create(rows, ignore_conflicts=True)


def lead_url(lead: Lead) -> str:
    """The lead's page, linked from the notifications the services send."""
    return reverse("leads:detail", args=[lead.pk])
