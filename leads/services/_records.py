"""Saving a lead and recording what happened to it, the same way in every service.

Every save bumps `Lead.version` (what `check_version` compares against), and every change
other than a status move leaves a `LeadEvent` row, so the lead's history is complete.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.urls import reverse

from crm.models import User
from leads.models import Lead, LeadEvent


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


def lead_url(lead: Lead) -> str:
    """The lead's page, linked from the notifications the services send."""
    return reverse("leads:detail", args=[lead.pk])
