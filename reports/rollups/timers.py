"""The SLA clock rollup: clocks falling due per hour, met, breached, cancelled, and those
still running at the refresh (overdue or on track depends on the reading time)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Case, Count, DateTimeField, Q, Value, When

from reports.cohorts import ReportRequest, scoped_timers, timer_measures, timers_visible
from reports.models import STOPPED, TimerDay
from reports.rollups.reading import Rollup
from reports.rollups.storage import (
    TIMER_SCOPE,
    falls_on_days,
    grouped_with_scope,
    hour_bucket,
    hour_row_fields,
    replace_rows,
)
from sla.models import SlaTimer

STORED_FIGURES = ("timers", "met", "breached", "cancelled")


def timer_rollup_measures(r: ReportRequest) -> dict[str, Any]:
    """The clock rollup's figures as aggregates over source timer rows."""
    m = timer_measures(r)
    return {name: Count("pk", filter=m[name] or None) for name in m} | {"timers": Count("pk")}


TIMERS = Rollup(TimerDay, "due_at", scoped_timers, timers_visible, timer_rollup_measures)


def build_timer_rollup(days: set[datetime.date] | None, r: ReportRequest) -> int:
    """Rebuild the clock rollup rows of `days` (None: all); rows written."""
    qs = SlaTimer.objects.filter(falls_on_days("due_at", days)).annotate(
        day=hour_bucket("due_at"),
        stopped=Case(
            When(stopped_at__isnull=True, then=Value(None)),
            default=Value(STOPPED),
            output_field=DateTimeField(),
        ),
    )
    measures = timer_rollup_measures(r)
    rows = [
        TimerDay(
            **hour_row_fields(row["day"]),
            policy_id=row["policy_id"],
            responsible_id=row["responsible_id"],
            lead_id=scope,
            stopped_at=row["stopped"],
            running=row["m_running"],
            **{n: row[f"m_{n}"] for n in STORED_FIGURES},
        )
        for row, scope in grouped_with_scope(
            qs,
            "lead__",
            ["day", "policy_id", "responsible_id", "stopped"],
            {
                **{f"m_{n}": measures[n] for n in STORED_FIGURES},
                "m_running": Count("pk", filter=Q(stopped_at__isnull=True)),
            },
            TIMER_SCOPE,
        )
    ]
    return replace_rows(TimerDay, days, rows)
