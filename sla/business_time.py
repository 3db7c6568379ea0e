"""Business-time arithmetic for SLA due times: pure functions over a `CalendarSpec`.

An SLA timer stores `due_at` once, at start, so this module answers one question exactly:
"given a start instant and a target, when is it due?", plus its inverse "how much
working time lies between two instants?" (time left, in business terms).

The rules, in one place:

* Working time is the set of instants at which a clock on the office wall shows a
  working date (a `working_days` weekday that is not a holiday) and a time of day in
  ``[work_starts, work_ends)``, in the calendar's time zone. Nothing else is assumed,
  which makes daylight-saving changes fall out without special cases:

  - Gap (spring forward): local times that do not exist are never shown, so they are
    not worked. A day whose hours contain the gap is shorter, and a period that starts
    inside the gap (e.g. 02:30 on the night New York jumps from 02:00 to 03:00) opens
    at the first instant that exists after it (03:00 EDT).
  - Overlap (fall back): local times shown twice are worked twice, so a period that
    spans the repeated hour is longer, counting real elapsed time. If the period starts
    or ends inside the repeated hour, only the instants whose clock reading lies within
    the working hours count: hours 00:00-01:30 on New York's fall-back night work from
    00:00 to 01:30 EDT and again from 01:00 to 01:30 EST.

* Work is measured exactly, as `timedelta`, not in whole minutes: a start at 10:00:30
  inside working hours plus 1 business hour is due at 11:00:30.

* A due time is the earliest instant at which the target amount of working time has
  elapsed since the start. A target that is used up exactly at closing time is due at
  closing time (17:00), not at the next opening (09:00): nothing is worked in between.
  For any amount > 0 the due time is therefore strictly after the start: a timer is
  never late at the moment it starts.

* ``business_days``: N business days are N full working days of working time, i.e.
  ``N * (work_ends - work_starts)`` of business time. Started inside working hours on
  ordinary days this is "the same time of day N working days later" (Tuesday 10:00 + 1
  business day = Wednesday 10:00; Friday 16:00 + 1 = Monday 16:00). Started outside
  working hours, the count begins at the next opening and ends at the close of the N-th
  working day (Saturday + 1 business day = Monday 17:00): what a sales team means by
  "within one business day". Unlike "same wall time N days later" this needs no extra
  rule for starts outside hours or for days shortened by a DST gap, and it keeps
  `business_time_between(start, due)` equal to the target for every unit.

* ``minutes``, ``hours`` and ``days`` are elapsed time and ignore the calendar: one
  day is 24 hours, so across a DST change the local clock time of the due moment
  shifts by the change.

Holidays are the dates in `CalendarSpec.holidays`; `CalendarSpec.from_calendar` fills
them for a range of years only, so pass `years=holiday_years(start)` when computing a
due time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays as public_holidays

if TYPE_CHECKING:
    from sla.models import BusinessCalendar

__all__ = [
    "BUSINESS_UNITS",
    "ELAPSED_UNITS",
    "ROUND_THE_CLOCK",
    "CalendarSpec",
    "add_business_minutes",
    "add_business_time",
    "add_working_time",
    "business_minutes_between",
    "business_time_between",
    "holiday_years",
    "target_duration",
]

# The values of `SlaPolicy.Unit`, spelled out so this module needs no Django models.
ELAPSED_UNITS: dict[str, timedelta] = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
}
BUSINESS_UNITS: frozenset[str] = frozenset({"business_hours", "business_days"})

MIDNIGHT = time(0)
ALL_DAYS: frozenset[int] = frozenset(range(7))

# How far the search looks ahead at a time for a UTC-offset change. No real zone changes
# its offset twice within a day, so checking both ends of a day-long span is enough.
_SPAN = timedelta(days=1)
_ANY_DAY = date(2000, 1, 3)


@dataclass(frozen=True)
class CalendarSpec:
    """A business calendar reduced to plain values, so the arithmetic needs no database.

    `working_days` uses `date.weekday()` numbering (0 = Monday). `work_ends` of
    ``time(0)`` means midnight at the end of the day (24:00), so ``00:00-00:00`` is
    the whole day; otherwise `work_starts` must be before `work_ends`.
    """

    time_zone: str
    working_days: frozenset[int]
    work_starts: time
    work_ends: time
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Fail at construction, not in the middle of a sweep: a calendar without any
        # working time would make every due time infinitely far away.
        if not self.working_days or not self.working_days <= ALL_DAYS:
            raise ValueError(
                f"working_days must be a non-empty subset of 0..6: {self.working_days}"
            )
        if self.work_starts.tzinfo is not None or self.work_ends.tzinfo is not None:
            raise ValueError("work_starts and work_ends are local wall-clock times, without tzinfo")
        if self.work_ends != MIDNIGHT and self.work_starts >= self.work_ends:
            raise ValueError(
                f"work_starts {self.work_starts} is not before work_ends {self.work_ends}"
            )
        ZoneInfo(self.time_zone)  # raises ZoneInfoNotFoundError for an unknown zone

    @classmethod
    def for_rules(
        cls,
        *,
        time_zone: str,
        working_days: Iterable[int],
        work_starts: time,
        work_ends: time,
        holiday_country: str = "",
        holiday_subdivision: str = "",
        custom_holidays: Iterable[date] = (),
        years: range,
    ) -> CalendarSpec:
        """Build a spec from calendar settings, adding the country's public holidays."""
        dates = set(custom_holidays)
        if holiday_country:
            try:
                country = public_holidays.country_holidays(
                    holiday_country, subdiv=holiday_subdivision or None, years=years
                )
            except NotImplementedError as exc:
                raise ValueError(
                    f"no public holidays known for {holiday_country!r}/{holiday_subdivision!r}"
                ) from exc
            dates.update(country.keys())
        return cls(
            time_zone=time_zone,
            working_days=frozenset(working_days),
            work_starts=work_starts,
            work_ends=work_ends,
            holidays=frozenset(dates),
        )

    @classmethod
    def from_calendar(
        cls, calendar: BusinessCalendar, *, years: range | None = None
    ) -> CalendarSpec:
        """Read a `BusinessCalendar` and its custom holidays (one query) into a spec.

        Public holidays are known only for `years`: pass ``holiday_years(start)`` when
        computing a due time. Without it, last year to two years ahead are used.
        """
        if years is None:
            years = holiday_years(datetime.now(UTC))
        return cls.for_rules(
            time_zone=calendar.time_zone,
            working_days=calendar.working_days,
            work_starts=_as_time(calendar.work_starts),
            work_ends=_as_time(calendar.work_ends),
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
            custom_holidays=calendar.holidays.values_list("date", flat=True),
            years=years,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches instances per key

    @property
    def day_length(self) -> timedelta:
        """Working time in one ordinary working day: the length of a business day."""
        return _closing(_ANY_DAY, self) - _opening(_ANY_DAY, self)

    def is_round_the_clock(self) -> bool:
        """Every instant is working time, whatever the zone does with its clocks."""
        return (
            self.working_days == ALL_DAYS
            and self.work_starts == MIDNIGHT
            and self.work_ends == MIDNIGHT
            and not self.holidays
        )

    def is_working_date(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays


# For policies without a calendar: business time is elapsed time.
ROUND_THE_CLOCK = CalendarSpec(
    time_zone="UTC", working_days=ALL_DAYS, work_starts=MIDNIGHT, work_ends=MIDNIGHT
)


def holiday_years(start: datetime, *, ahead: int = 2) -> range:
    """The years whose holidays a timer started at `start` may meet.

    One year back because a UTC instant early on 1 January is still 31 December in
    zones west of UTC.
    """
    return range(start.year - 1, start.year + ahead + 1)


def target_duration(amount: int, unit: str, spec: CalendarSpec) -> timedelta:
    """The target as a duration: elapsed time for elapsed units, business time otherwise."""
    if amount < 0:
        raise ValueError(f"amount must not be negative: {amount}")
    if unit in ELAPSED_UNITS:
        return amount * ELAPSED_UNITS[unit]
    if unit == "business_hours":
        return timedelta(hours=amount)
    if unit == "business_days":
        return amount * spec.day_length
    raise ValueError(f"unknown SLA unit: {unit!r}")


def add_business_time(start: datetime, amount: int, unit: str, spec: CalendarSpec) -> datetime:
    """When a target of `amount` `unit`s started at `start` is due, as an aware UTC datetime.

    `unit` is a `SlaPolicy.Unit` value; elapsed units ignore `spec`.
    """
    _require_aware(start)
    duration = target_duration(amount, unit, spec)
    if unit in ELAPSED_UNITS:
        return start.astimezone(UTC) + duration
    return add_working_time(start, duration, spec)


def add_business_minutes(start: datetime, minutes: int, spec: CalendarSpec) -> datetime:
    """`start` plus `minutes` of working time; the building block of the business units."""
    return add_working_time(start, timedelta(minutes=minutes), spec)


def add_working_time(start: datetime, duration: timedelta, spec: CalendarSpec) -> datetime:
    """The earliest instant by which `duration` of working time has passed since `start`.

    Exact to the microsecond. Cost grows with the number of days spanned, not minutes.
    """
    _require_aware(start)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative: {duration}")
    start = start.astimezone(UTC)
    if duration == timedelta(0):
        return start
    if spec.is_round_the_clock():
        return start + duration
    remaining = duration
    for opens, closes in _working_intervals(start, spec):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: a valid calendar always has more working time")


def business_time_between(start: datetime, end: datetime, spec: CalendarSpec) -> timedelta:
    """Working time in ``[start, end)``; zero when `end` is not after `start`."""
    _require_aware(start)
    _require_aware(end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if spec.is_round_the_clock():
        return end - start
    total = timedelta(0)
    for opens, closes in _working_intervals(start, spec):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def business_minutes_between(start: datetime, end: datetime, spec: CalendarSpec) -> int:
    """Whole working minutes in ``[start, end)`` (rounded down), e.g. for "3 h 20 min left"."""
    return math.floor(business_time_between(start, end, spec) / timedelta(minutes=1))


def _as_time(value: time | str) -> time:
    """A model's `TimeField` still holds its string default ("09:00") until reloaded."""
    return time.fromisoformat(value) if isinstance(value, str) else value


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment!r}")


def _opening(day: date, spec: CalendarSpec) -> datetime:
    """The wall-clock reading at which `day`'s working hours start, labelled UTC.

    Wall-clock readings are kept as UTC-labelled datetimes so that they subtract exactly
    (a naive local datetime would invite mixing it up with a real instant).
    """
    return datetime.combine(day, spec.work_starts, tzinfo=UTC)


def _closing(day: date, spec: CalendarSpec) -> datetime:
    """The wall-clock reading at which `day`'s working hours end; midnight means 24:00."""
    if spec.work_ends == MIDNIGHT:
        return datetime.combine(day, MIDNIGHT, tzinfo=UTC) + timedelta(days=1)
    return datetime.combine(day, spec.work_ends, tzinfo=UTC)


def _working_intervals(start: datetime, spec: CalendarSpec) -> Iterator[tuple[datetime, datetime]]:
    """Working time from `start` (UTC) on, as ascending, disjoint ``[opens, closes)`` pairs.

    Walks UTC time in spans of constant UTC offset. Within one span the wall clock is
    just UTC shifted by the offset, so each local date's working hours become one UTC
    interval by subtracting the offset; gaps and overlaps are the seams between spans.
    Never ends: the caller stops.
    """
    zone = spec.zone
    cursor = start
    while True:
        span_end, offset = _constant_offset_span(cursor, zone)
        wall_from, wall_to = cursor + offset, span_end + offset
        day = wall_from.date()
        while True:
            if spec.is_working_date(day):
                opens = max(_opening(day, spec), wall_from)
                closes = min(_closing(day, spec), wall_to)
                if opens < closes:
                    yield opens - offset, closes - offset
            day += timedelta(days=1)
            if datetime.combine(day, MIDNIGHT, tzinfo=UTC) >= wall_to:
                break
        cursor = span_end


def _constant_offset_span(cursor: datetime, zone: ZoneInfo) -> tuple[datetime, timedelta]:
    """``(end, offset)`` such that `zone` has UTC offset `offset` throughout ``[cursor, end)``.

    `end` is a day after `cursor` (rounded down to the second) or the next offset change,
    whichever comes first. Offset changes happen on whole seconds, so a bisection over
    whole seconds finds the exact instant.
    """
    offset = _utcoffset(cursor, zone)
    low = math.floor(cursor.timestamp())  # still `offset`: no change in (low, cursor]
    high = low + int(_SPAN.total_seconds())
    if _utcoffset(_from_seconds(high), zone) == offset:
        return _from_seconds(high), offset
    while high - low > 1:
        middle = (low + high) // 2
        if _utcoffset(_from_seconds(middle), zone) == offset:
            low = middle
        else:
            high = middle
    return _from_seconds(high), offset


def _utcoffset(moment: datetime, zone: ZoneInfo) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # ZoneInfo always knows the offset of an aware instant
    return offset


def _from_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
