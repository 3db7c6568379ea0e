"""The lead rollups: leads created per hour (where they are now in the funnel) and leads
assigned per hour (contacted, accepted, and the time it took, as sums)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, F, Sum

from leads.models import Lead
from reports.aggregates import SecondsBetween
from reports.cohorts import ReportRequest, lead_measures, leads_visible, scoped_leads
from reports.models import LeadAssignedDay, LeadCreatedDay
from reports.rollups.reading import Rollup
from reports.rollups.storage import falls_on_days, hour_bucket, hour_row_fields, replace_rows

CREATED_FIGURES = (
    "leads",
    "mql",
    "sal",
    "sql",
    "converted",
    "won",
    "lost_to_competitor",
    "score_sum",
)
ASSIGNED_FIGURES = (
    "assigned", "first_contacted", "accepted", "first_contact_seconds", "acceptance_seconds",
)  # fmt: skip


def lead_rollup_measures(r: ReportRequest) -> dict[str, Any]:
    """The lead rollups' figures as aggregates over source lead rows."""
    m = lead_measures(r)
    return {
        "leads": Count("pk"),
        **{
            name: Count("pk", filter=m[name])
            for name in ("mql", "sal", "sql", "converted", "won", "lost_to_competitor")
        },
        "score_sum": Sum("score"),
        "assigned": Count("pk"),
        "first_contacted": Count("pk", filter=m["first_contacted"]),
        "accepted": Count("pk", filter=m["accepted"]),
        "first_contact_seconds": Sum(SecondsBetween(F("first_contacted_at"), F("assigned_at"))),
        "acceptance_seconds": Sum(SecondsBetween(F("accepted_at"), F("assigned_at"))),
    }


LEADS_CREATED = Rollup(
    LeadCreatedDay, "created_at", scoped_leads, leads_visible, lead_rollup_measures
)
LEADS_ASSIGNED = Rollup(
    LeadAssignedDay, "assigned_at", scoped_leads, leads_visible, lead_rollup_measures
)


def build_lead_rollup(days: set[datetime.date] | None, r: ReportRequest, *, assigned: bool) -> int:
    """Rebuild the created (or assigned) rollup rows of `days` (None: all); rows written."""
    field = "assigned_at" if assigned else "created_at"
    model = LeadAssignedDay if assigned else LeadCreatedDay
    measures = lead_rollup_measures(r)
    names = ASSIGNED_FIGURES if assigned else CREATED_FIGURES
    qs = (
        Lead.objects.filter(falls_on_days(field, days), **{f"{field}__isnull": False})
        .annotate(day=hour_bucket(field))
        .values("day", "source", "team_id", "owner_id", "ae_id")
        .annotate(**{f"m_{n}": measures[n] for n in names})
        .order_by()
    )
    rows = [
        model(
            **hour_row_fields(row["day"]),
            source=row["source"],
            team_id=row["team_id"],
            owner_id=row["owner_id"],
            ae_id=row["ae_id"],
            **{n: row[f"m_{n}"] or 0 for n in names},
        )
        for row in qs
    ]
    return replace_rows(model, days, rows)
