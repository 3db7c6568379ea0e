"""Exact medians: percentile_cont on PostgreSQL, window functions elsewhere; both agree."""

from __future__ import annotations

import datetime
import statistics

import pytest
from django.db.models import Count, F

from leads.models import Lead
from reports.aggregates import (
    Median,
    SecondsBetween,
    grouped_aggregates,
    has_percentile_cont,
    window_medians,
)
from tests.reports.conftest import at, lead

pytestmark = pytest.mark.django_db

HOURS = {"inbound": [5, 1, 3], "outbound": [2, 8, 4, 6], "event": [7]}


@pytest.fixture
def leads():
    for source, hours in HOURS.items():
        for h in hours:
            lead(at(2), source=source, accepted_at=at(2) + datetime.timedelta(hours=h))
        lead(at(2), source=source)  # no acceptance: NULL, ignored


def expected(values: list[int]) -> float:
    return statistics.median(values) * 3600


def test_grouped_medians_match_the_definition(leads):
    duration = SecondsBetween(F("accepted_at"), F("mql_at"))
    result = grouped_aggregates(
        Lead.objects.all(), ["source"], {"n": Count("pk")}, medians={"m": duration}
    )
    for source, hours in HOURS.items():
        assert result[(source,)]["n"] == len(hours) + 1
        assert result[(source,)]["m"] == pytest.approx(expected(hours), abs=0.5)
    overall = grouped_aggregates(Lead.objects.all(), [], {}, medians={"m": duration})
    assert overall[()]["m"] == pytest.approx(expected(sum(HOURS.values(), [])), abs=0.5)


def test_window_medians_agree_with_percentile_cont(leads, is_postgres):
    duration = SecondsBetween(F("accepted_at"), F("mql_at"))
    window = window_medians(Lead.objects.all(), ["source"], {"m": duration})
    assert {k[0]: round(v["m"]) for k, v in window.items()} == {
        source: round(expected(hours)) for source, hours in HOURS.items()
    }
    if is_postgres:
        native = dict(
            Lead.objects.order_by()
            .values_list("source")
            .annotate(m=Median(duration))
            .values_list("source", "m")
        )
        assert {k: round(v) for k, v in native.items()} == {
            k[0]: round(v["m"]) for k, v in window.items()
        }
    assert has_percentile_cont() is is_postgres


def test_median_of_nothing_is_none(db):
    duration = SecondsBetween(F("accepted_at"), F("mql_at"))
    assert grouped_aggregates(Lead.objects.none(), [], {}, medians={"m": duration}) == {
        (): {"m": None}
    }
