"""The lead rollups: leads created per hour (where they are now in the funnel, and the value
won from them per currency) and leads assigned per hour (contacted, accepted, and the time
it took, as sums), by source, campaign, team and people."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from reports.aggregates import SecondsBetween
from reports.cohorts import (
    ReportRequest,
    lead_measures,
    lead_rows,
    leads_visible,
    scoped_leads,
)
from reports.models import LeadAssignedDay, LeadCreatedDay
from reports.rollups.reading import Rollup
from reports.rollups.storage import falls_on_days, hour_of, replace_rows_from, unowned_status

CREATED_FIGURES = (
    "leads",
    "mql",
    "sal",
    "sql",
    "converted",
    "won",
    "lost_to_competitor",
    "score_sum",
    "won_amount",
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
        "won_amount": Sum("opportunity__amount", filter=Q(opportunity__stage__is_won=True)),
        "assigned": Count("pk"),
        "first_contacted": Count("pk", filter=m["first_contacted"]),
        "accepted": Count("pk", filter=m["accepted"]),
        "first_contact_seconds": Sum(SecondsBetween(F("first_contacted_at"), F("assigned_at"))),
        "acceptance_seconds": Sum(SecondsBetween(F("accepted_at"), F("assigned_at"))),
    }


def with_deal_currency(leads: QuerySet[Any]) -> QuerySet[Any]:
    """Leads annotated with the currency of the deal each became (empty when none): how
    the created rollup splits its rows, so value won is never summed across currencies."""
    return leads.annotate(currency=Coalesce(F("opportunity__currency"), Value("")))


def leads_with_deal_currency(r: ReportRequest) -> QuerySet[Any]:
    """The visible leads, grouped as the created rollup is (see `with_deal_currency`)."""
    return with_deal_currency(leads_visible(r))


LEADS_CREATED = Rollup(
    LeadCreatedDay, "created_at", scoped_leads, leads_visible, lead_rollup_measures
)
LEADS_ASSIGNED = Rollup(
    LeadAssignedDay, "assigned_at", scoped_leads, leads_visible, lead_rollup_measures
)


def build_lead_rollup(days: set[datetime.date] | None, r: ReportRequest, *, assigned: bool) -> int:
    """Rebuild the created (or assigned) rollup rows of `days` (None: all); rows written.
    One INSERT ... SELECT of the hour rows (`replace_rows_from`)."""
    field = "assigned_at" if assigned else "created_at"
    model = LeadAssignedDay if assigned else LeadCreatedDay
    measures = lead_rollup_measures(r)
    names = ASSIGNED_FIGURES if assigned else CREATED_FIGURES
    leads: QuerySet[Any] = (
        lead_rows()
        .filter(falls_on_days(field, days), **{f"{field}__isnull": False})
        .annotate(**hour_of(field), scope_status=unowned_status())
    )
    dims = ["day", "hour", "source", "campaign", "team_id", "owner_id", "ae_id", "scope_status"]
    if not assigned:
        leads = with_deal_currency(leads)
        dims.append("currency")
    fields = {field.name: field for field in model._meta.concrete_fields}
    grouped = leads.values(*dims).annotate(
        **{f"m_{n}": Coalesce(measures[n], Value(0), output_field=fields[n]) for n in names}
    )
    columns = {d: d for d in dims if d not in ("day", "hour", "scope_status")}
    columns["status"] = "scope_status"
    columns.update({n: f"m_{n}" for n in names})
    return replace_rows_from(model, days, grouped, columns)
