"""Business-time arithmetic: worked examples, then properties against a brute-force oracle.

No database: `CalendarSpec` is plain values. The oracle walks UTC minute by minute and asks
the wall clock whether each minute is worked, which is the module's definition of working
time stated as literally as possible.
"""

from __future__ import annotations

import time as perf
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sla.business_time import (
    ROUND_THE_CLOCK,
    CalendarSpec,
    add_business_minutes,
    add_business_time,
    add_working_time,
    business_minutes_between,
    business_time_between,
    holiday_years,
    target_duration,
)
from sla.models import SlaPolicy

NEW_YORK = ZoneInfo("America/New_York")
JAKARTA = ZoneInfo("Asia/Jakarta")
WEEKDAYS = frozenset(range(5))
MINUTE = timedelta(minutes=1)

# 2026-01-05 is a Monday.
MON, TUE, WED, FRI, SAT = (date(2026, 1, d) for d in (5, 6, 7, 9, 10))
NEXT_MON, NEXT_TUE, NEXT_FRI = date(2026, 1, 12), date(2026, 1, 13), date(2026, 1, 16)


def office(
    time_zone: str = "UTC",
    *,
    days: frozenset[int] = WEEKDAYS,
    starts: time = time(9),
    ends: time = time(17),
    holidays: frozenset[date] = frozenset(),
) -> CalendarSpec:
    return CalendarSpec(
        time_zone=time_zone,
        working_days=days,
        work_starts=starts,
        work_ends=ends,
        holidays=holidays,
    )


def at(day: date, hour: int, minute: int = 0, *, zone: ZoneInfo | None = None) -> datetime:
    """A local wall-clock time, as a UTC instant (first occurrence if the clock repeats).

    UTC because Python compares and adds datetimes that share a ZoneInfo on the wall
    clock, ignoring `fold` and DST, which is exactly the mistake these tests look for.
    """
    local = datetime.combine(day, time(hour, minute), tzinfo=zone or UTC)
    return local.astimezone(UTC)


# --- worked examples: a 09:00-17:00, Monday-Friday office in UTC unless stated -----------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        pytest.param(at(MON, 10), 3, at(MON, 13), id="weekday-within-hours"),
        pytest.param(at(MON, 15), 3, at(TUE, 10), id="carries-into-next-morning"),
        pytest.param(at(MON, 9), 8, at(MON, 17), id="used-up-at-closing-is-due-at-closing"),
        pytest.param(at(FRI, 16), 5, at(NEXT_MON, 13), id="friday-16h-plus-5-is-monday-13h"),
        pytest.param(at(SAT, 11), 2, at(NEXT_MON, 11), id="start-on-saturday"),
        pytest.param(at(TUE, 18, 30), 1, at(WED, 10), id="start-after-hours"),
        pytest.param(at(TUE, 7), 1, at(TUE, 10), id="start-before-hours"),
        pytest.param(at(MON, 17), 1, at(TUE, 10), id="start-at-closing"),
        pytest.param(at(MON, 9), 40, at(FRI, 17), id="a-full-week"),
    ],
)
def test_business_hours(start: datetime, hours: int, due: datetime) -> None:
    assert add_business_time(start, hours, "business_hours", office()) == due


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(at(TUE, 10), 1, at(WED, 10), id="same-time-next-working-day"),
        pytest.param(at(FRI, 16), 1, at(NEXT_MON, 16), id="over-the-weekend"),
        pytest.param(at(TUE, 10), 5, at(NEXT_TUE, 10), id="a-working-week"),
        pytest.param(at(MON, 9), 1, at(MON, 17), id="from-opening-to-close-of-that-day"),
        pytest.param(at(MON, 9), 5, at(FRI, 17), id="five-from-monday-opening"),
        pytest.param(at(SAT, 11), 1, at(NEXT_MON, 17), id="weekend-start-is-due-at-close"),
        pytest.param(at(SAT, 11), 5, at(NEXT_FRI, 17), id="weekend-start-five-days"),
        pytest.param(at(FRI, 17), 1, at(NEXT_MON, 17), id="start-at-friday-closing"),
        pytest.param(at(TUE, 20), 1, at(WED, 17), id="evening-start-is-due-next-close"),
    ],
)
def test_business_days(start: datetime, days: int, due: datetime) -> None:
    assert add_business_time(start, days, "business_days", office()) == due


def test_business_days_skip_holidays() -> None:
    spec = office(holidays=frozenset({WED}))

    assert add_business_time(at(TUE, 10), 1, "business_days", spec) == at(date(2026, 1, 8), 10)


def test_business_day_is_the_calendars_working_day() -> None:
    spec = office(starts=time(8, 30), ends=time(12))

    assert target_duration(2, "business_days", spec) == timedelta(hours=7)
    assert add_business_time(at(MON, 11), 1, "business_days", spec) == at(TUE, 11)


def test_public_holidays_from_the_country() -> None:
    # 4 July 2026 is a Saturday, observed on Friday 3 July; Christmas 2026 is a Friday.
    spec = CalendarSpec.for_rules(
        time_zone="America/New_York",
        working_days=[0, 1, 2, 3, 4],
        work_starts=time(9),
        work_ends=time(17),
        holiday_country="US",
        years=holiday_years(datetime(2026, 6, 1, tzinfo=UTC)),
    )

    assert {date(2026, 7, 3), date(2026, 12, 25)} <= spec.holidays
    thursday_before_july_4th = at(date(2026, 7, 2), 16, zone=NEW_YORK)
    assert add_business_time(thursday_before_july_4th, 2, "business_hours", spec) == at(
        date(2026, 7, 6), 10, zone=NEW_YORK
    )
    christmas_eve = at(date(2026, 12, 24), 16, zone=NEW_YORK)
    assert add_business_time(christmas_eve, 2, "business_hours", spec) == at(
        date(2026, 12, 28), 10, zone=NEW_YORK
    )


def test_subdivision_and_custom_holidays_are_merged() -> None:
    spec = CalendarSpec.for_rules(
        time_zone="America/Los_Angeles",
        working_days=[0, 1, 2, 3, 4],
        work_starts=time(9),
        work_ends=time(17),
        holiday_country="US",
        holiday_subdivision="CA",
        custom_holidays=[date(2026, 8, 14)],
        years=range(2026, 2027),
    )

    assert date(2026, 3, 31) in spec.holidays  # Cesar Chavez Day, California only
    assert date(2026, 8, 14) in spec.holidays
    assert date(2026, 7, 3) in spec.holidays


def test_custom_holiday() -> None:
    spec = office(holidays=frozenset({TUE}))

    assert add_business_time(at(MON, 16), 2, "business_hours", spec) == at(WED, 10)


def test_unknown_holiday_country_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no public holidays"):
        CalendarSpec.for_rules(
            time_zone="UTC",
            working_days=[0],
            work_starts=time(9),
            work_ends=time(17),
            holiday_country="XX",
            years=range(2026, 2027),
        )


def test_jakarta_calendar_with_a_utc_start() -> None:
    # 09:00 UTC on Monday is 16:00 in Jakarta (UTC+7): one hour left that day.
    spec = office("Asia/Jakarta")

    due = add_business_time(at(MON, 9), 2, "business_hours", spec)

    assert due == at(TUE, 10, zone=JAKARTA)
    assert due.tzinfo is UTC
    assert due == at(TUE, 3)


def test_new_york_across_spring_forward() -> None:
    # Clocks go 02:00 EST -> 03:00 EDT on Sunday 8 March 2026; office hours are untouched.
    spec = office("America/New_York")
    friday = at(date(2026, 3, 6), 16, zone=NEW_YORK)

    due = add_business_time(friday, 2, "business_hours", spec)

    assert due == at(date(2026, 3, 9), 10, zone=NEW_YORK)
    assert due == datetime(2026, 3, 9, 14, tzinfo=UTC)  # EDT, not 15:00 as in EST
    assert add_business_time(friday, 1, "business_days", spec) == at(
        date(2026, 3, 9), 16, zone=NEW_YORK
    )


def test_new_york_across_fall_back() -> None:
    # Clocks go 02:00 EDT -> 01:00 EST on Sunday 1 November 2026.
    spec = office("America/New_York")
    friday = at(date(2026, 10, 30), 16, zone=NEW_YORK)

    due = add_business_time(friday, 2, "business_hours", spec)

    assert due == datetime(2026, 11, 2, 15, tzinfo=UTC)  # 10:00 EST


def test_elapsed_days_are_24_hours_across_dst() -> None:
    saturday_noon = at(date(2026, 3, 7), 12, zone=NEW_YORK)

    due = add_business_time(saturday_noon, 1, "days", office("America/New_York"))

    assert due == saturday_noon + timedelta(hours=24)
    assert due.astimezone(NEW_YORK).hour == 13


# A night shift in New York, 00:00-04:00 every day, meets both DST changes inside its hours.
NIGHT_SHIFT = office("America/New_York", days=frozenset(range(7)), starts=time(0), ends=time(4))
SPRING_FORWARD, FALL_BACK = date(2026, 3, 8), date(2026, 11, 1)


def local_day(day: date, spec: CalendarSpec) -> tuple[datetime, datetime]:
    zone = ZoneInfo(spec.time_zone)
    return at(day, 0, zone=zone), at(day + timedelta(days=1), 0, zone=zone)


def test_dst_gap_shortens_a_working_period() -> None:
    # 02:00-02:59 never shows on the clock: 00:00-02:00 EST and 03:00-04:00 EDT are worked.
    midnight, next_midnight = local_day(SPRING_FORWARD, NIGHT_SHIFT)

    assert business_time_between(midnight, next_midnight, NIGHT_SHIFT) == timedelta(hours=3)
    due = add_business_minutes(midnight, 150, NIGHT_SHIFT)
    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert due.astimezone(NEW_YORK).time() == time(3, 30)


def test_working_period_starting_in_the_dst_gap_opens_when_the_clock_jumps() -> None:
    # 02:30 does not exist on that night; the first instant after it is 03:00 EDT.
    spec = office("America/New_York", days=frozenset(range(7)), starts=time(2, 30), ends=time(4))
    midnight, next_midnight = local_day(SPRING_FORWARD, spec)

    assert business_time_between(midnight, next_midnight, spec) == timedelta(hours=1)
    assert add_business_minutes(midnight, 1, spec) == datetime(2026, 3, 8, 7, 1, tzinfo=UTC)


def test_dst_overlap_lengthens_a_working_period() -> None:
    # 01:00-01:59 shows twice: 00:00 EDT to 04:00 EST is five real hours.
    midnight, next_midnight = local_day(FALL_BACK, NIGHT_SHIFT)

    assert business_time_between(midnight, next_midnight, NIGHT_SHIFT) == timedelta(hours=5)
    due = add_business_minutes(midnight, 150, NIGHT_SHIFT)
    assert due == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    second_half_past_one = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert due == second_half_past_one.astimezone(UTC)


def test_working_hours_ending_inside_the_overlap_are_worked_twice() -> None:
    # 00:00-01:30 EDT, then the clock reads 01:00 again: 01:00-01:30 EST is worked too.
    spec = office("America/New_York", days=frozenset(range(7)), starts=time(0), ends=time(1, 30))
    midnight, next_midnight = local_day(FALL_BACK, spec)

    assert business_time_between(midnight, next_midnight, spec) == timedelta(hours=2)
    assert add_business_minutes(midnight, 100, spec) == datetime(
        2026, 11, 1, 1, 10, fold=1, tzinfo=NEW_YORK
    ).astimezone(UTC)


def test_working_hours_starting_inside_the_overlap_pause_while_the_clock_is_early() -> None:
    # 01:30-02:00 EDT, then 01:00-01:30 EST is before opening, then 01:30-04:00 EST.
    spec = office("America/New_York", days=frozenset(range(7)), starts=time(1, 30), ends=time(4))
    midnight, next_midnight = local_day(FALL_BACK, spec)

    assert business_time_between(midnight, next_midnight, spec) == timedelta(hours=3)
    assert add_business_minutes(midnight, 31, spec) == datetime(2026, 11, 1, 6, 31, tzinfo=UTC)


def test_sub_minute_start_inside_hours_counts_exact_seconds() -> None:
    start = datetime(2026, 1, 5, 10, 0, 30, 500_000, tzinfo=UTC)

    assert add_business_time(start, 1, "business_hours", office()) == start + timedelta(hours=1)
    late = datetime(2026, 1, 5, 16, 59, 30, tzinfo=UTC)
    assert add_business_time(late, 1, "business_hours", office()) == datetime(
        2026, 1, 6, 9, 59, 30, tzinfo=UTC
    )


def test_sub_minute_start_outside_hours_counts_from_opening() -> None:
    start = datetime(2026, 1, 10, 10, 0, 30, 123, tzinfo=UTC)

    assert add_business_time(start, 1, "business_hours", office()) == at(NEXT_MON, 10)


def test_business_minutes_between_rounds_partial_minutes_down() -> None:
    spec = office()
    before_close = datetime(2026, 1, 5, 16, 59, tzinfo=UTC)

    assert (
        business_minutes_between(before_close, datetime(2026, 1, 6, 9, 0, 30, tzinfo=UTC), spec)
        == 1
    )
    assert business_time_between(
        before_close, datetime(2026, 1, 6, 9, 0, 30, tzinfo=UTC), spec
    ) == timedelta(seconds=90)
    assert business_minutes_between(at(TUE, 10), at(MON, 10), spec) == 0
    assert business_minutes_between(at(FRI, 16), at(NEXT_MON, 13), spec) == 300


@pytest.mark.parametrize("unit", SlaPolicy.Unit.values)
@pytest.mark.parametrize("start", [at(MON, 10), at(FRI, 17), at(SAT, 3)])
def test_a_timer_is_never_due_when_it_starts(unit: str, start: datetime) -> None:
    assert add_business_time(start, 1, unit, office()) > start
    assert add_business_time(start, 0, unit, office()) == start


@pytest.mark.parametrize(
    ("unit", "elapsed"),
    [
        ("minutes", timedelta(minutes=30)),
        ("hours", timedelta(hours=30)),
        ("days", timedelta(days=30)),
    ],
)
def test_elapsed_units_ignore_the_calendar(unit: str, elapsed: timedelta) -> None:
    saturday = at(SAT, 3, zone=JAKARTA)

    due = add_business_time(saturday, 30, unit, office(holidays=frozenset({SAT})))

    assert due == saturday + elapsed
    assert due.tzinfo is UTC


def test_round_the_clock_is_elapsed_time() -> None:
    start = datetime(2026, 3, 7, 23, 59, 59, 1, tzinfo=NEW_YORK).astimezone(UTC)

    assert add_business_time(start, 30, "business_hours", ROUND_THE_CLOCK) == start + timedelta(
        hours=30
    )
    assert add_business_time(start, 2, "business_days", ROUND_THE_CLOCK) == start + timedelta(
        days=2
    )
    assert business_time_between(start, start + timedelta(days=3), ROUND_THE_CLOCK) == timedelta(
        days=3
    )


def test_ten_thousand_business_hours_are_exact_and_fast() -> None:
    # 10,000 h of 8-hour days is 1,250 working days: 250 weeks from Monday 09:00.
    spec = office("America/New_York")
    start = at(MON, 9, zone=NEW_YORK)

    began = perf.perf_counter()
    due = add_business_time(start, 10_000, "business_hours", spec)
    took = perf.perf_counter() - began

    assert due == at(MON + timedelta(weeks=249, days=4), 17, zone=NEW_YORK)
    assert business_time_between(start, due, spec) == timedelta(hours=10_000)
    assert took < 1.0


def test_holiday_years_reach_back_for_zones_west_of_utc() -> None:
    assert holiday_years(datetime(2026, 1, 1, 0, 30, tzinfo=UTC)) == range(2025, 2029)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"days": frozenset()}, ValueError),
        ({"days": frozenset({7})}, ValueError),
        ({"starts": time(17), "ends": time(9)}, ValueError),
        ({"starts": time(9), "ends": time(9)}, ValueError),
        ({"starts": time(9, tzinfo=UTC)}, ValueError),
        ({"time_zone": "Mars/Olympus_Mons"}, ZoneInfoNotFoundError),
    ],
)
def test_invalid_calendars_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        office(**kwargs)  # type: ignore[arg-type]


def test_midnight_end_means_the_end_of_the_day() -> None:
    spec = office(starts=time(20), ends=time(0))

    assert spec.day_length == timedelta(hours=4)
    assert add_business_time(at(MON, 23), 2, "business_hours", spec) == at(TUE, 21)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: add_business_time(datetime(2026, 1, 5, 9), 1, "hours", office()), "naive"),  # noqa: DTZ001
        (lambda: add_business_time(at(MON, 9), -1, "business_hours", office()), "negative"),
        (lambda: add_business_time(at(MON, 9), 1, "fortnights", office()), "unknown"),
        (lambda: add_working_time(at(MON, 9), -MINUTE, office()), "negative"),
    ],
)
def test_bad_arguments_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- properties against a brute-force oracle ---------------------------------------------

ZONES = [
    "UTC",
    "Asia/Jakarta",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
]
# Every UTC-offset change of the DST zones above in 2026-2027 (checked below), so that a
# good share of examples straddle one instead of relying on luck.
DST_CHANGES = [
    (zone, datetime.fromisoformat(moment))
    for zone, moments in {
        "America/New_York": ["2026-03-08T07:00Z", "2026-11-01T06:00Z", "2027-03-14T07:00Z"],
        "Europe/Berlin": ["2026-03-29T01:00Z", "2026-10-25T01:00Z", "2027-10-31T01:00Z"],
        "Australia/Sydney": ["2026-04-04T16:00Z", "2026-10-03T16:00Z", "2027-04-03T16:00Z"],
    }.items()
    for moment in moments
]
HORIZON_DAYS = 12  # bounds the oracle's walk: 17,280 minutes per example
TWO_YEARS_OF_MINUTES = 2 * 365 * 24 * 60
MIDNIGHT = time(0)


def half_hour(index: int) -> time:
    """Half-hour `index` of the day; 48 is 24:00, spelled 00:00 as `CalendarSpec` expects."""
    return time((index // 2) % 24, 30 * (index % 2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[datetime, CalendarSpec]:
    """A start instant on a whole minute and an arbitrary calendar around it."""
    if draw(st.booleans()):
        zone, change = draw(st.sampled_from(DST_CHANGES))
        start = change + draw(st.integers(-(HORIZON_DAYS - 1) * 24 * 60, 24 * 60)) * MINUTE
    else:
        zone = draw(st.sampled_from(ZONES))
        start = (
            datetime(2026, 1, 1, tzinfo=UTC) + draw(st.integers(0, TWO_YEARS_OF_MINUTES)) * MINUTE
        )
    opens = draw(st.integers(0, 47))
    closes = draw(st.integers(opens + 1, 48))
    first_day = start.date() - timedelta(days=1)
    holiday_offsets = draw(st.frozensets(st.integers(0, HORIZON_DAYS + 1), max_size=4))
    spec = CalendarSpec(
        time_zone=zone,
        working_days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        work_starts=half_hour(opens),
        work_ends=half_hour(closes),
        holidays=frozenset(first_day + timedelta(days=offset) for offset in holiday_offsets),
    )
    return start, spec


def oracle_working_minutes(start: datetime, spec: CalendarSpec) -> list[datetime]:
    """Every worked UTC minute in the horizon, asking the local wall clock minute by minute."""
    zone = ZoneInfo(spec.time_zone)
    worked = []
    for index in range(HORIZON_DAYS * 24 * 60):
        minute = start + index * MINUTE
        local = minute.astimezone(zone)
        if local.weekday() not in spec.working_days or local.date() in spec.holidays:
            continue
        if local.time() < spec.work_starts:
            continue
        if spec.work_ends != MIDNIGHT and local.time() >= spec.work_ends:
            continue
        worked.append(minute)
    return worked


PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_matches_the_minute_by_minute_oracle(
    scenario: tuple[datetime, CalendarSpec], data: st.DataObject
) -> None:
    start, spec = scenario
    worked = oracle_working_minutes(start, spec)
    assume(worked)
    minutes = data.draw(st.integers(1, min(len(worked), 5000)), label="minutes")
    more = data.draw(st.integers(minutes, min(len(worked), 5000)), label="more")

    due = add_business_minutes(start, minutes, spec)

    # the m-th working minute ends at the due time
    assert due == worked[minutes - 1] + MINUTE
    assert due > start
    assert business_minutes_between(start, due, spec) == minutes
    assert add_business_minutes(start, more, spec) >= due
    # time left, measured to any whole minute in the horizon
    end = start + data.draw(st.integers(0, HORIZON_DAYS * 24 * 60), label="end") * MINUTE
    assert business_minutes_between(start, end, spec) == bisect_left(worked, end)
    # a start part-way through a minute: only the rest of a working minute counts
    fraction = timedelta(microseconds=data.draw(st.integers(1, 59_999_999), label="fraction"))
    assume(minutes < len(worked))
    first_minute_worked = worked[0] == start
    expected = worked[minutes] + fraction if first_minute_worked else worked[minutes - 1] + MINUTE
    assert add_business_minutes(start + fraction, minutes, spec) == expected


@PROPERTY_SETTINGS
@given(
    scenario=scenarios(),
    offset=st.integers(0, 59_999_999),
    duration=st.integers(1, 300 * 3_600_000_000),
    split=st.floats(0, 1),
)
def test_adding_and_measuring_are_exact_inverses(
    scenario: tuple[datetime, CalendarSpec], offset: int, duration: int, split: float
) -> None:
    start, spec = scenario
    start += timedelta(microseconds=offset)
    amount = timedelta(microseconds=duration)
    first = timedelta(microseconds=int(duration * split))

    due = add_working_time(start, amount, spec)

    assert due > start
    assert business_time_between(start, due, spec) == amount
    assert add_working_time(add_working_time(start, first, spec), amount - first, spec) == due
    middle = start + (due - start) * split
    assert (
        business_time_between(start, middle, spec) + business_time_between(middle, due, spec)
        == amount
    )


def test_dst_changes_used_by_the_properties_are_real() -> None:
    for zone, change in DST_CHANGES:
        before = (change - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).utcoffset()
        assert change.astimezone(ZoneInfo(zone)).utcoffset() != before, (zone, change)
