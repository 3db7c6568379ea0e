"""The deal list's close month takes the dates every other interface takes (`crm.dates`)."""

from __future__ import annotations

import datetime

import pytest
from django import forms

from crm import dates
from crm.api import serializers
from opportunities.forms import CloseMonthField


@pytest.mark.parametrize(
    ("value", "day"),
    [("1900-01", datetime.date(1900, 1, 1)), ("2999-12", datetime.date(2999, 12, 1))],
)
def test_the_first_and_last_recordable_months_are_taken(value, day):
    assert CloseMonthField().clean(value) == day


@pytest.mark.parametrize("value", ["1899-12", "3000-01"])
def test_a_month_outside_them_is_a_field_error_naming_the_bounds(value):
    with pytest.raises(forms.ValidationError, match="between 1900 and 2999"):
        CloseMonthField().clean(value)


def test_the_api_reads_the_same_bounds():
    assert (serializers.EARLIEST, serializers.LATEST) == (dates.EARLIEST, dates.LATEST)
