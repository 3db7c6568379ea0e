"""Saved views for the demo logins, so the lists open with tabs in use: RevOps makes
"Overdue first" the SDRs' queue and "Closing soon" the AEs' deal list, and the manager
shares a team view of hot referrals. Written through `crm.saved_view_services`, so each
has its audit row; a login missing from `users` is skipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.models import User
from crm.saved_view_services import saved_view_create

# (owner's username, fields of the view)
DEMO_VIEWS: list[tuple[str, dict[str, Any]]] = [
    (
        "revops",
        {
            "list_key": "leads",
            "name": "Overdue first",
            "query": "due=overdue&ordering=next_due",
            "default_for_role": User.Role.SDR,
        },
    ),
    (
        "revops",
        {
            "list_key": "opportunities",
            "name": "Closing soon",
            "query": "state=open&ordering=expected_close_date",
            "default_for_role": User.Role.AE,
        },
    ),
    (
        "manager",
        {
            "list_key": "leads",
            "name": "Hot referrals",
            "query": "source=referral&ordering=-score&columns=lead,status,next_sla,owner,score",
            "shared": True,
        },
    ),
    (
        "manager",
        {"list_key": "sla_timers", "name": "Overdue clocks", "query": "state=overdue"},
    ),
]


def seed_saved_views(*, users: Mapping[str, User]) -> None:
    """Create the demo's saved views for the logins in `users` (by username)."""
    for username, fields in DEMO_VIEWS:
        owner = users.get(username)
        if owner is None:
            continue
        if fields.get("shared") and owner.team_id is None:
            fields = {**fields, "shared": False}
        saved_view_create(by=owner, **fields)
