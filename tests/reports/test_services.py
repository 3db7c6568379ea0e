"""Benchmark edits: one service for the page and the admin, RevOps only, all or nothing,
and an audit row (who, when, old -> new) for every range and threshold that changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.exceptions import NotAllowed, ValidationFailed
from reports.models import BenchmarkChange, BenchmarkRange, ReportPolicy
from reports.services import RangeEdit, ThresholdsEdit, benchmarks_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _edit(source: str, low: str, high: str, *, delete: bool = False) -> RangeEdit:
    existing = BenchmarkRange.objects.filter(source=source).first()
    return RangeEdit(
        benchmark_id=existing.pk if existing else None,
        source=source,
        low_percent=Decimal(low),
        high_percent=Decimal(high),
        delete=delete,
    )


def test_revops_edit_is_applied_and_audited(revops):
    inbound = BenchmarkRange.objects.get(source="inbound")
    old_high = f"{inbound.high_percent:.2f}"

    changes = benchmarks_update(
        by=revops,
        ranges=[_edit("inbound", str(inbound.low_percent), "30"), _edit("partner", "10", "20")],
        thresholds=ThresholdsEdit(
            pipeline_to_won_low=Decimal("2"), pipeline_to_won_high=Decimal("6")
        ),
    )

    assert [(c.source, c.old, c.new) for c in changes] == [
        ("inbound", {"high_percent": old_high}, {"high_percent": "30.00"}),
        ("partner", {}, {"source": "partner", "low_percent": "10.00", "high_percent": "20.00"}),
        (
            "",
            {"pipeline_to_won_low": "3.00", "pipeline_to_won_high": "5.00"},
            {"pipeline_to_won_low": "2.00", "pipeline_to_won_high": "6.00"},
        ),
    ]
    assert {c.actor for c in changes} == {revops}
    assert BenchmarkRange.objects.get(source="inbound").high_percent == 30
    assert ReportPolicy.current().pipeline_to_won_high == 6


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_only_revops_edits_benchmarks(role):
    user = UserFactory(**{role: True})

    with pytest.raises(NotAllowed):
        benchmarks_update(by=user, ranges=[_edit("inbound", "1", "2")])

    assert BenchmarkRange.objects.get(source="inbound").high_percent != 2
    assert not BenchmarkChange.objects.exists()


def test_a_refused_edit_changes_nothing(revops):
    inbound_before = BenchmarkRange.objects.get(source="inbound").high_percent
    good = _edit("inbound", "1", "50")

    # an inverted range is refused before anything is written
    with pytest.raises(ValidationFailed) as inverted:
        benchmarks_update(by=revops, ranges=[good, _edit("outbound", "40", "10")])
    assert [p.field for p in inverted.value.problems] == ["high_percent"]

    # a second range for a source found only while writing rolls the first edit back too
    duplicate = RangeEdit(None, "outbound", Decimal(1), Decimal(2))
    with pytest.raises(ValidationFailed):
        benchmarks_update(by=revops, ranges=[good, duplicate])

    assert BenchmarkRange.objects.get(source="inbound").high_percent == inbound_before
    assert not BenchmarkChange.objects.exists()


def test_unchanged_ranges_record_nothing_and_deletions_keep_their_audit(revops):
    event = BenchmarkRange.objects.get(source="event")
    same = _edit("event", str(event.low_percent), str(event.high_percent))

    assert benchmarks_update(by=revops, ranges=[same]) == []

    (deleted,) = benchmarks_update(by=revops, ranges=[_edit("event", "0", "0", delete=True)])
    assert not BenchmarkRange.objects.filter(source="event").exists()
    deleted.refresh_from_db()
    assert (deleted.source, deleted.benchmark, deleted.new) == ("event", None, {})
    assert deleted.old["high_percent"] == f"{event.high_percent:.2f}"


def test_admin_edits_go_through_the_service(client):
    admin = UserFactory(admin=True)
    inbound = BenchmarkRange.objects.get(source="inbound")
    client.force_login(admin)

    response = client.post(
        f"/admin/reports/benchmarkrange/{inbound.pk}/change/",
        {"source": "inbound", "low_percent": str(inbound.low_percent), "high_percent": "33"},
    )

    assert response.status_code == 302, response.content.decode()[:1000]
    change = BenchmarkChange.objects.get()
    assert (change.actor, change.benchmark, change.new) == (
        admin,
        inbound,
        {"high_percent": "33.00"},
    )


def test_admin_thresholds_go_through_the_service(client):
    admin = UserFactory(admin=True)
    policy = ReportPolicy.current()
    client.force_login(admin)

    response = client.post(
        f"/admin/reports/reportpolicy/{policy.pk}/change/",
        {"pipeline_to_won_low": "2", "pipeline_to_won_high": "5"},
    )

    assert response.status_code == 302, response.content.decode()[:1000]
    change = BenchmarkChange.objects.get()
    assert (change.actor, change.source, change.new) == (admin, "", {"pipeline_to_won_low": "2.00"})
