"""The hand-off rollup: hand-offs made per hour, how the AE rated them, and whether
discovery had to be repeated."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, QuerySet, Sum

from leads.models import Handoff
from reports.cohorts import ReportRequest, handoff_measures, handoffs_visible, scoped_handoffs
from reports.models import HandoffDay, LeadScope
from reports.rollups.reading import Rollup
from reports.rollups.storage import (
    HANDOFF_SCOPE,
    falls_on_days,
    grouped_with_scope,
    hour_bucket,
    hour_row_fields,
    replace_rows,
)


def handoff_rollup_measures(r: ReportRequest) -> dict[str, Any]:
    """The hand-off rollup's figures as aggregates over source hand-off rows."""
    m = handoff_measures()
    return {
        **{name: Count("pk", filter=m[name] or None) for name in m},
        "handoffs": Count("pk"),
        "rating_sum": Sum("ae_rating"),
    }


def _scoped_by_lead_scope(qs: QuerySet[Any], r: ReportRequest) -> QuerySet[Any]:
    """Hand-off rollup rows point at a LeadScope, not a Lead: scope through those."""
    return scoped_handoffs(qs, r, LeadScope.objects.all())


HANDOFFS = Rollup(
    HandoffDay, "created_at", _scoped_by_lead_scope, handoffs_visible, handoff_rollup_measures
)


def build_handoff_rollup(days: set[datetime.date] | None, r: ReportRequest) -> int:
    """Rebuild the hand-off rollup rows of `days` (None: all); rows written."""
    qs = Handoff.objects.filter(falls_on_days("created_at", days)).annotate(
        day=hour_bucket("created_at")
    )
    measures = handoff_rollup_measures(r)
    rows = [
        HandoffDay(
            **hour_row_fields(row["day"]),
            from_user_id=row["from_user_id"],
            to_user_id=row["to_user_id"],
            lead_id=scope,
            **{n: row[f"m_{n}"] or 0 for n in measures},
        )
        for row, scope in grouped_with_scope(
            qs,
            "lead__",
            ["day", "from_user_id", "to_user_id"],
            {f"m_{n}": measures[n] for n in measures},
            HANDOFF_SCOPE,
        )
    ]
    return replace_rows(HandoffDay, days, rows)
