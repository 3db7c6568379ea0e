"""A report period as rollup rows plus source rows.

A period in the reader's zone rarely starts at UTC midnight. `cover_period` splits it
into the rollup rows it covers whole (a row per month, per day and per hour, UTC) and the
source ranges of what is left (the minutes at its ends in zones off the whole hour).
"""

from __future__ import annotations

import datetime
import functools
import operator
from dataclasses import dataclass

from django.db.models import Q

from reports.models import DAY as DAY_GRAIN  # the grains; DAY and HOUR below are timedeltas
from reports.models import HOUR as HOUR_GRAIN
from reports.models import MONTH

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


def floor_to(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    """The start of the UTC day or hour (`step`) `moment` falls in."""
    moment = moment.astimezone(UTC)
    if step == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def ceil_to(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    floor = floor_to(moment, step)
    return floor if floor == moment else floor + step


def either(a: Q | None, b: Q | None) -> Q | None:
    """``a | b``, where None is "no rows" (not "every row", as an empty Q would be)."""
    if a is None:
        return b
    return a if b is None else a | b


@dataclass
class PeriodCover:
    """An interval as rollup rows (whole months, days and hours, UTC) plus the source
    ranges of what is left."""

    rollup_rows: Q | None
    source_ranges: list[tuple[datetime.datetime, datetime.datetime]]

    def source_rows_q(self, field: str) -> Q | None:
        """The source rows whose `field` falls in the left-over ranges (None: none)."""
        condition = None
        for low, high in self.source_ranges:
            part = Q(**{f"{field}__gte": low, f"{field}__lt": high})
            condition = part if condition is None else condition | part
        return condition


def cover_period(start: datetime.datetime, end: datetime.datetime) -> PeriodCover:
    result = PeriodCover(None, [])
    if start >= end:
        return result
    first_day, last_day = ceil_to(start, DAY), floor_to(end, DAY)
    if first_day < last_day:
        result.rollup_rows = _day_rows_q(first_day.date(), (last_day - DAY).date())
        edges = [(start, first_day), (last_day, end)]
    else:
        edges = [(start, end)]
    for low, high in edges:
        if low >= high:
            continue
        first_hour, last_hour = ceil_to(low, HOUR), floor_to(high, HOUR)
        if first_hour < last_hour:
            result.rollup_rows = either(result.rollup_rows, _hour_rows_q(first_hour, last_hour))
            result.source_ranges += [
                (a, b) for a, b in ((low, first_hour), (last_hour, high)) if a < b
            ]
        else:
            result.source_ranges.append((low, high))
    return result


def _day_rows_q(first: datetime.date, last: datetime.date) -> Q:
    """The rows of the days `first`..`last` (not empty): a month row per month they
    cover whole."""
    parts = []
    day = first
    while day <= last:
        month_start = day.replace(day=1)
        following = (month_start + datetime.timedelta(days=32)).replace(day=1)
        month_end = following - DAY
        if day == month_start and month_end <= last:
            part = Q(grain=MONTH, day=month_start)
        else:
            part = Q(grain=DAY_GRAIN, day__gte=day, day__lte=min(month_end, last))
        parts.append(part)
        day = following
    return functools.reduce(operator.or_, parts)


def _hour_rows_q(first: datetime.datetime, last: datetime.datetime) -> Q:
    """The hour rows of ``[first, last)`` (whole UTC hours, not empty, possibly across
    midnight)."""
    parts = []
    moment = first
    while moment < last:
        day_end = floor_to(moment, DAY) + DAY
        stop = min(day_end, last)
        part = Q(grain=HOUR_GRAIN, day=moment.date(), hour__gte=moment.hour)
        if stop < day_end:
            part &= Q(hour__lt=stop.hour)
        parts.append(part)
        moment = stop
    return functools.reduce(operator.or_, parts)
