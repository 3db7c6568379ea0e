"""The seed's due-time table gives what the app's own SLA arithmetic gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from demo.working_time import WorkingTime
from sla.business_time import ROUND_THE_CLOCK, CalendarSpec
from sla.timers import due_times

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
START = NOW - timedelta(days=365)
YEARS = range(2023, 2027)

CALENDARS = {
    "default": CalendarSpec(
        time_zone="UTC",
        working_days=frozenset(range(5)),
        work_starts=time(9),
        work_ends=time(17),
    ),
    "jakarta with public holidays": CalendarSpec.for_rules(
        time_zone="Asia/Jakarta",
        working_days=range(5),
        work_starts=time(8, 30),
        work_ends=time(17, 30),
        holiday_country="ID",
        years=YEARS,
    ),
    "london, saturdays, until midnight": CalendarSpec.for_rules(
        time_zone="Europe/London",
        working_days=[0, 1, 2, 3, 5],
        work_starts=time(9),
        work_ends=time(0),
        holiday_country="GB",
        years=YEARS,
    ),
    "new york": CalendarSpec.for_rules(
        time_zone="America/New_York",
        working_days=range(5),
        work_starts=time(9),
        work_ends=time(17),
        years=YEARS,
    ),
    "round the clock": ROUND_THE_CLOCK,
}
TARGETS = [(5, "business_days"), (2, "business_days"), (3, "business_hours"), (24, "hours")]


@pytest.mark.parametrize("name", CALENDARS)
def test_due_times_match_the_sla_engine(name: str) -> None:
    spec = CALENDARS[name]
    table = WorkingTime(spec, first=START, last=NOW)
    rng = random.Random(name)
    for _ in range(400):
        start = START + timedelta(seconds=rng.uniform(0, 365 * 86400))
        if rng.random() < 0.3:  # on the edges of the working day
            start = start.replace(hour=rng.choice((8, 9, 16, 17)), minute=0, second=0)
        for value, unit in TARGETS:
            expected = due_times(start=start, value=value, unit=unit, warn_percent=75, spec=spec)
            assert table.due_times(start, value, unit, 75) == expected, (start, value, unit)


def test_a_start_outside_the_table_falls_back_to_the_engine() -> None:
    spec = CALENDARS["default"]
    table = WorkingTime(spec, first=START, last=NOW)
    later = NOW + timedelta(days=400)

    expected = due_times(start=later, value=5, unit="business_days", warn_percent=75, spec=spec)
    assert table.due_times(later, 5, "business_days", 75) == expected
