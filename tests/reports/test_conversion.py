"""Conversion by source against the benchmarks: hand-counted cohorts and their edges."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from reports.models import BenchmarkRange
from reports.selectors import conversion_by_source, funnel
from reports.selectors.conversion import benchmark_status
from tests.factories import UserFactory
from tests.reports.conftest import END, START, at, lead, request_for

pytestmark = pytest.mark.django_db


def rows(report) -> dict:
    return {row.key: row for row in report.rows}


def test_no_leads_gives_zero_counts_and_no_rate(revops):
    report = conversion_by_source(request_for(revops))
    assert report.overall["leads"] == 0
    assert report.overall["rate"] is None
    assert report.overall["status"] is None
    assert all(row["leads"] == 0 and row["rate"] is None for row in report.rows)


def test_cohort_is_leads_created_in_the_period_converted_at_any_time(revops):
    # given: 4 inbound leads in March, one converted in March, one converted in May
    lead(at(2), source="inbound", status="converted", converted_at=at(20))
    lead(at(3), source="inbound", status="converted", converted_at=at(5, month=5))
    lead(at(4), source="inbound")
    lead(at(31, 23), source="inbound")
    # and leads outside the period, converted inside it: not in the cohort
    lead(at(28, month=2), source="inbound", status="converted", converted_at=at(2))
    lead(at(1, 0, month=4), source="inbound")

    report = conversion_by_source(request_for(revops))

    inbound = rows(report)["inbound"]
    assert (inbound["leads"], inbound["converted"]) == (4, 2)
    assert inbound["rate"] == pytest.approx(50.0)
    assert inbound["status"] == "above"  # 50 % > 25 %
    assert (report.overall["leads"], report.overall["converted"]) == (4, 2)


def test_a_source_with_zero_conversions_is_below_its_range(revops):
    for day in (2, 3, 4):
        lead(at(day), source="referral")
    report = conversion_by_source(request_for(revops))
    referral = rows(report)["referral"]
    assert (referral["leads"], referral["converted"], referral["rate"]) == (3, 0, 0.0)
    assert referral["status"] == "below"
    assert str(referral["reading"]).startswith("Below the range")


@pytest.mark.parametrize(
    ("converted", "leads", "expected"),
    [
        (3, 20, "within"),  # 15 % exactly: the low end is inside the range
        (5, 20, "within"),  # 25 % exactly: the high end too
        (1, 7, "below"),  # 14.28 %
        (26, 100, "above"),
    ],
)
def test_status_compares_exactly_at_the_range_ends(converted, leads, expected):
    inbound = BenchmarkRange(source="inbound", low_percent=Decimal(15), high_percent=Decimal(25))
    assert benchmark_status(converted, leads, inbound) == expected


def test_revops_edits_and_adds_ranges(revops):
    lead(at(2), source="partner", status="converted", converted_at=at(3))
    lead(at(2), source="partner")
    report = conversion_by_source(request_for(revops))
    assert rows(report)["partner"]["status"] is None  # no range for partners by default

    BenchmarkRange.objects.create(source="partner", low_percent=10, high_percent=60)
    BenchmarkRange.objects.filter(source="overall").update(low_percent=60, high_percent=70)
    report = conversion_by_source(request_for(revops))
    assert rows(report)["partner"]["status"] == "within"
    assert rows(report)["partner"]["benchmark_high"] == Decimal(60)
    assert report.overall["status"] == "below"


def test_period_is_read_in_the_readers_time_zone(revops):
    jakarta = zoneinfo.ZoneInfo("Asia/Jakarta")  # UTC+7
    # 28 Feb 18:00 UTC is 1 March 01:00 in Jakarta: inside a Jakarta March.
    lead(datetime.datetime(2026, 2, 28, 18, tzinfo=datetime.UTC), source="event")
    # 31 March 18:00 UTC is 1 April 01:00 in Jakarta: outside it.
    lead(datetime.datetime(2026, 3, 31, 18, tzinfo=datetime.UTC), source="event")
    in_utc = conversion_by_source(request_for(revops, start=START, end=END))
    in_jakarta = conversion_by_source(request_for(revops, start=START, end=END, tz=jakarta))
    assert rows(in_utc)["event"]["leads"] == 1
    assert rows(in_jakarta)["event"]["leads"] == 1
    assert in_utc.overall["leads"] == in_jakarta.overall["leads"] == 1
    # ... but not the same lead: the UTC one is the 31 March lead.
    from reports.cohorts import leads_created

    utc_ids = set(leads_created(request_for(revops)).values_list("pk", flat=True))
    jkt_ids = set(leads_created(request_for(revops, tz=jakarta)).values_list("pk", flat=True))
    assert utc_ids.isdisjoint(jkt_ids)


def test_scope_manager_sees_their_team_rep_their_own(revops, boss, rep, outsider, team):
    lead(at(2), source="inbound", owner=rep, team=team)
    lead(at(2), source="inbound", owner=rep, team=team, status="converted", converted_at=at(9))
    lead(at(2), source="inbound", owner=outsider, team=outsider.team)
    colleague = UserFactory(sdr=True, team=team, manager=boss)
    lead(at(2), source="outbound", owner=colleague, team=team)

    assert conversion_by_source(request_for(revops)).overall["leads"] == 4
    assert conversion_by_source(request_for(boss)).overall["leads"] == 3
    mine = conversion_by_source(request_for(rep))
    assert (mine.overall["leads"], mine.overall["converted"]) == (2, 1)
    assert conversion_by_source(request_for(outsider)).overall["leads"] == 1


def test_filters_team_owner_and_source(revops, rep, outsider, team):
    lead(at(2), source="inbound", owner=rep, team=team)
    lead(at(2), source="outbound", owner=rep, team=team)
    lead(at(2), source="inbound", owner=outsider, team=outsider.team)

    assert conversion_by_source(request_for(revops, team=team)).overall["leads"] == 2
    assert conversion_by_source(request_for(revops, owner=outsider)).overall["leads"] == 1
    only_inbound = conversion_by_source(request_for(revops, source="inbound"))
    assert [row.key for row in only_inbound.rows] == ["inbound"]
    assert only_inbound.overall["leads"] == 2


def test_source_rows_and_ranges_are_read_in_one_statement(revops, django_assert_num_queries):
    """The API's path (source rows): the counts and the benchmark ranges come back from one
    statement, and the answer is the one the separate reads (counts reused) give."""
    # given: leads of two sources, one converted, and a range for one of them
    lead(at(2), source="inbound", status="converted", converted_at=at(3))
    lead(at(4), source="inbound")
    lead(at(5), source="referral")
    BenchmarkRange.objects.update_or_create(
        source="referral", defaults={"low_percent": Decimal("2.50"), "high_percent": Decimal("7")}
    )
    r = request_for(revops)
    # when
    with django_assert_num_queries(1):
        report = conversion_by_source(r)
    # then
    separate = conversion_by_source(r, counts=funnel(r, by="source", medians=False).breakdown)
    assert [row.values for row in report.rows] == [row.values for row in separate.rows]
    assert report.overall.values == separate.overall.values
    by_source = rows(report)
    assert (by_source["inbound"]["leads"], by_source["inbound"]["converted"]) == (2, 1)
    assert by_source["referral"]["benchmark_low"] == Decimal("2.50")
    assert by_source["referral"]["status"] == "below"  # 0 of 1 converted
