"""Marketing's MQL targets per month and source, set against what the year delivered: most
months a little under what came in (met), some a little over (missed), the current month
against its pace, and next month planned, so the marketing SLA report has both to show."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from leads.models import Source
from reports.models import MqlTarget

# Share of past months whose target was met.
MET_SHARE = 0.65


def month_of(moment: datetime) -> date:
    return moment.date().replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def mql_targets(
    delivered: Counter[tuple[date, str]], *, start: datetime, now: datetime, rng: random.Random
) -> list[MqlTarget]:
    """Targets for every source, from the first whole month of the history to next month.
    `delivered`: MQLs by (month the lead was created, source)."""
    current = month_of(now)
    first = month_of(start)
    if start > _midnight(first):  # the history begins in the middle of that month
        first = next_month(first)
    month_start, month_end = _midnight(current), _midnight(next_month(current))
    elapsed = max(0.05, (now - month_start) / (month_end - month_start))
    rows = []
    for source in Source.values:
        month, last_whole = first, 0
        while month <= next_month(current):
            count = delivered[(month, source)]
            if month < current:
                base = float(count)
                last_whole = count
            elif month == current:
                base = count / elapsed  # on the month's pace
            else:
                base = last_whole * rng.uniform(1.0, 1.12)
            met = rng.random() < MET_SHARE
            factor = rng.uniform(0.82, 0.97) if met else rng.uniform(1.05, 1.3)
            rows.append(MqlTarget(month=month, source=source, target=_round(base * factor)))
            month = next_month(month)
    return rows


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _round(value: float) -> int:
    """Targets people set: round tens, fives or units."""
    if value >= 100:
        return int(round(value, -1))
    if value >= 20:
        return int(5 * round(value / 5))
    return max(1, round(value))
