"""The deal rollups: opportunities created and closed per hour, stage moves per hour, and
the snapshot of the deals open now (by stage and age, and by expected close month)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth

from opportunities.models import Opportunity, StageChange
from reports.aggregates import DurationSeconds, SecondsBetween
from reports.cohorts import (
    OPEN,
    PENDING_APPROVAL,
    ReportRequest,
    age_bucket_case,
    opportunities_visible,
    opportunity_measures,
    scoped_opportunities,
    stage_changes_visible,
    weighted_amount,
    with_furthest_stage,
)
from reports.models import (
    REACH_POSITIONS,
    OpenForecast,
    OpenPipeline,
    OpportunityClosedDay,
    OpportunityCreatedDay,
    StageMoveDay,
)
from reports.rollups.reading import Rollup
from reports.rollups.storage import (
    OPPORTUNITY_SCOPE,
    falls_on_days,
    grouped_with_scope,
    hour_bucket,
    hour_row_fields,
    replace_rows,
)

CLOSED_FIGURES = ("won", "lost", "won_amount", "cycle_seconds")
CREATED_FIGURES = (
    "opportunities", "lost", "lost_early", "stalled_early", "won", "override",
    "decision_maker", "amount_sum",
)  # fmt: skip


def opportunity_rollup_measures(r: ReportRequest) -> dict[str, Any]:
    """The deal rollups' figures as aggregates over source opportunity rows."""
    m = opportunity_measures(r)
    won = Q(stage__is_won=True)
    return {
        **{name: Count("pk", filter=m[name] or None) for name in m},
        "opportunities": Count("pk"),
        "amount_sum": Sum("amount"),
        "won_amount": Sum("amount", filter=won),
        "cycle_seconds": Sum(SecondsBetween(F("closed_at"), F("created_at")), filter=won),
    }


def reach_measures() -> dict[str, Any]:
    """Over opportunities annotated by `with_furthest_stage`: reached a won stage, and
    reached (or passed) each stage position."""
    return {
        "won_reach": Count("pk", filter=Q(stage__is_won=True) | Q(reached_won=True)),
        **{f"reach_{p}": Count("pk", filter=Q(furthest__gte=p)) for p in range(REACH_POSITIONS)},
    }


def _stage_move_measures(r: ReportRequest) -> dict[str, Any]:
    return {"moves": Count("pk"), "seconds": Sum(DurationSeconds("time_in_previous_stage"))}


def _stage_moves_out(r: ReportRequest) -> QuerySet[StageChange]:
    """Visible moves out of a stage (a deal's first stage change has none to leave)."""
    return stage_changes_visible(r).filter(
        from_stage__isnull=False, time_in_previous_stage__isnull=False
    )


OPPORTUNITIES_CREATED = Rollup(
    OpportunityCreatedDay,
    "created_at",
    scoped_opportunities,
    opportunities_visible,
    opportunity_rollup_measures,
)
OPPORTUNITIES_CLOSED = Rollup(
    OpportunityClosedDay,
    "closed_at",
    scoped_opportunities,
    opportunities_visible,
    opportunity_rollup_measures,
)
STAGE_MOVES = Rollup(
    StageMoveDay, "changed_at", scoped_opportunities, _stage_moves_out, _stage_move_measures
)


def build_opportunity_rollup(
    days: set[datetime.date] | None, r: ReportRequest, *, closed: bool
) -> int:
    """Rebuild the created (or closed) rollup rows of `days` (None: all); rows written."""
    field = "closed_at" if closed else "created_at"
    model = OpportunityClosedDay if closed else OpportunityCreatedDay
    measures = opportunity_rollup_measures(r)
    qs: QuerySet[Any] = Opportunity.objects.filter(
        falls_on_days(field, days), **{f"{field}__isnull": False}
    )
    qs = qs.annotate(day=hour_bucket(field))
    dims = ["day", "owner_id", "source", "currency"]
    names = list(CLOSED_FIGURES if closed else CREATED_FIGURES)
    if not closed:
        qs = with_furthest_stage(qs)
        measures = measures | reach_measures()
        names += ["won_reach", *(f"reach_{p}" for p in range(REACH_POSITIONS))]
    rows = []
    aggregates = {f"m_{n}": measures[n] for n in names}
    for row, scope in grouped_with_scope(qs, "lead__", dims, aggregates, OPPORTUNITY_SCOPE):
        rows.append(
            model(
                **hour_row_fields(row["day"]),
                owner_id=row["owner_id"],
                lead_id=scope,
                source=row["source"],
                currency=row["currency"],
                **{n: row[f"m_{n}"] or 0 for n in names},
            )
        )
    return replace_rows(model, days, rows)


def build_stage_move_rollup(days: set[datetime.date] | None, r: ReportRequest) -> int:
    """Rebuild the stage-move rollup rows of `days` (None: all); rows written."""
    qs = StageChange.objects.filter(
        falls_on_days("changed_at", days),
        from_stage__isnull=False,
        time_in_previous_stage__isnull=False,
    ).annotate(day=hour_bucket("changed_at"))
    measures = _stage_move_measures(r)
    dims = ["day", "from_stage_id", "opportunity__owner_id", "opportunity__source"]
    rows = [
        StageMoveDay(
            **hour_row_fields(row["day"]),
            from_stage_id=row["from_stage_id"],
            owner_id=row["opportunity__owner_id"],
            lead_id=scope,
            source=row["opportunity__source"],
            moves=row["m_moves"],
            seconds=row["m_seconds"] or 0,
        )
        for row, scope in grouped_with_scope(
            qs,
            "opportunity__lead__",
            dims,
            {f"m_{n}": measures[n] for n in measures},
            OPPORTUNITY_SCOPE,
        )
    ]
    return replace_rows(StageMoveDay, days, rows)


def build_open_pipeline(r: ReportRequest) -> int:
    """The open deals as of `r.now`, by stage (those waiting for approval flagged `pending`)
    and, in the pipeline, by close month: rebuilt whole on every refresh (they are few, and
    their ages move with the clock)."""
    measures = opportunity_measures(r)
    open_deals = Opportunity.objects.filter(OPEN).annotate(
        pending=ExpressionWrapper(PENDING_APPROVAL, output_field=BooleanField())
    )
    money = {
        "m_count": Count("pk"),
        "m_amount": Sum("amount"),
        "m_weighted": Sum(weighted_amount()),
    }
    by_stage = grouped_with_scope(
        open_deals.annotate(age_bucket=age_bucket_case(r.now)),
        "lead__",
        ["stage_id", "owner_id", "source", "currency", "age_bucket", "pending"],
        {
            **money,
            "m_age": Sum(SecondsBetween(Value(r.now), F("stage_entered_at"))),
            "m_probability": Sum("probability"),
            "m_stale": Count("pk", filter=measures["stale"]),
            "m_stalled": Count("pk", filter=measures["stalled_early"]),
        },
        OPPORTUNITY_SCOPE,
    )
    by_month = grouped_with_scope(
        open_deals.filter(pending=False).annotate(month=TruncMonth("expected_close_date")),
        "lead__",
        ["month", "owner_id", "source", "currency"],
        money,
        OPPORTUNITY_SCOPE,
    )

    def common(row: dict[str, Any], scope: int) -> dict[str, Any]:
        return {
            "owner_id": row["owner_id"],
            "lead_id": scope,
            "source": row["source"],
            "currency": row["currency"],
            "count": row["m_count"],
            "amount_sum": row["m_amount"] or Decimal(0),
            "weighted_sum": row["m_weighted"] or Decimal(0),
        }

    stage_rows = [
        OpenPipeline(
            stage_id=row["stage_id"],
            age_bucket=row["age_bucket"],
            pending=row["pending"],
            age_seconds=row["m_age"] or 0,
            probability_sum=row["m_probability"] or 0,
            stale=row["m_stale"],
            stalled_early=row["m_stalled"],
            **common(row, scope),
        )
        for row, scope in by_stage
    ]
    month_rows = [
        OpenForecast(
            month=row["month"].date()
            if isinstance(row["month"], datetime.datetime)
            else row["month"],
            **common(row, scope),
        )
        for row, scope in by_month
    ]
    OpenPipeline.objects.all().delete()
    OpenForecast.objects.all().delete()
    OpenPipeline.objects.bulk_create(stage_rows, batch_size=5000)
    OpenForecast.objects.bulk_create(month_rows, batch_size=5000)
    return len(stage_rows) + len(month_rows)
