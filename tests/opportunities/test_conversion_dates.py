"""The conversion wizard takes the dates every other interface takes (`crm.dates`)."""

from __future__ import annotations

import datetime

import pytest

from crm import dates
from opportunities import conversion

pytestmark = pytest.mark.django_db


def _date_problems(value: str) -> list[tuple[str, str]]:
    _data, problems = conversion.parse_input({"expected_close_date": value})
    return [(p.code, p.field) for p in problems if p.field == "expected_close_date"]


def test_the_wizard_reads_the_shared_bounds():
    assert (conversion.EARLIEST, conversion.LATEST) == (dates.EARLIEST, dates.LATEST)


@pytest.mark.parametrize("value", ["1900-01-01", "2999-12-31"])
def test_the_first_and_last_recordable_days_are_taken(value):
    data, _problems = conversion.parse_input({"expected_close_date": value})

    assert data.expected_close_date == datetime.date.fromisoformat(value)
    assert _date_problems(value) == []


@pytest.mark.parametrize("value", ["1899-12-31", "3000-01-01"])
def test_a_day_outside_them_is_out_of_range(value):
    assert _date_problems(value) == [("out_of_range", "expected_close_date")]
