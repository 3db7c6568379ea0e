"""Due times for a year of SLA clocks, fast: a calendar's working hours laid out once as a
table, then each due time is two binary searches.

Why not `sla.timers.due_times` per clock: it walks the calendar day by day from each
start (about a tenth of a millisecond a call), and a seed starts a few clocks per lead,
which at a hundred thousand leads is most of the seed. The table gives the same answer
for any calendar whose working hours do not begin or end inside a daylight-saving jump
(tests/demo/test_working_time.py checks it against `sla.timers.due_times`); a start or a
due time outside the table falls back to `due_times` itself.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sla.business_time import ELAPSED_UNITS, CalendarSpec, target_duration
from sla.timers import due_times

# Working time laid out this far before the history starts and after it ends: the longest
# default target is five business days, so a month either side is plenty.
MARGIN = timedelta(days=31)
MIDNIGHT = time(0)  # as work_ends: 24:00


class WorkingTime:
    """A calendar's working intervals over [first, last], with the working time before
    each, so "when has `duration` of working time passed since `start`?" is a lookup."""

    def __init__(self, spec: CalendarSpec, *, first: datetime, last: datetime) -> None:
        self.spec = spec
        self._targets: dict[tuple[int, str, int], tuple[timedelta, timedelta]] = {}
        zone = spec.zone
        opens: list[datetime] = []
        closes: list[datetime] = []
        day: date = (first - MARGIN).astimezone(zone).date()
        end: date = (last + MARGIN).astimezone(zone).date()
        while day <= end:
            if spec.is_working_date(day):
                closing_day = day + timedelta(days=1) if spec.work_ends == MIDNIGHT else day
                opens.append(_instant(day, spec.work_starts, zone))
                closes.append(_instant(closing_day, spec.work_ends, zone))
            day += timedelta(days=1)
        self.opens, self.closes = opens, closes
        # before[i]: working time in the intervals before i; through[i]: through i.
        self.before: list[timedelta] = []
        self.through: list[timedelta] = []
        total = timedelta(0)
        for opening, closing in zip(opens, closes, strict=True):
            self.before.append(total)
            total += closing - opening
            self.through.append(total)

    def due_times(
        self, start: datetime, value: int, unit: str, warn_percent: int
    ) -> tuple[datetime, datetime]:
        """(warn_at, due_at), as `sla.timers.due_times` computes them."""
        key = (value, unit, warn_percent)
        if key not in self._targets:
            duration = target_duration(value, unit, self.spec)
            self._targets[key] = (duration, duration * warn_percent / 100)
        duration, warn_after = self._targets[key]
        if unit in ELAPSED_UNITS:
            return start + warn_after, start + duration
        warn = self._add(start, warn_after)
        due = self._add(start, duration)
        if warn is None or due is None:
            return due_times(
                start=start, value=value, unit=unit, warn_percent=warn_percent, spec=self.spec
            )
        return warn, due

    def _add(self, start: datetime, duration: timedelta) -> datetime | None:
        """The earliest instant by which `duration` (> 0) of working time has passed since
        `start`; None when the table does not reach that far."""
        i = bisect_right(self.opens, start) - 1
        if i < 0:
            return None
        worked = self.before[i] + min(max(start - self.opens[i], timedelta(0)), self._length(i))
        target = worked + duration
        j = bisect_left(self.through, target)
        if j >= len(self.opens):
            return None
        return self.opens[j] + (target - self.before[j])

    def _length(self, i: int) -> timedelta:
        return self.closes[i] - self.opens[i]


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock in `zone` reads `day` `wall`."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
