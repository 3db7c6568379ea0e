"""Conversion quality: premature, delayed, overrides and hand-offs, counted by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.models import Handoff
from opportunities.models import ConversionPolicy, ConversionRequest
from reports.models import ReportPolicy
from reports.selectors import funnel, quality
from reports.selectors.quality import pipeline_to_won, premature_conversion
from tests.factories import HandoffFactory, UserFactory
from tests.reports.conftest import at, lead, move, opportunity, request_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals():
    """Six deals created in March, one won in March that was created in February."""
    a = opportunity(at(1, 0), stage_name="Discovery", entered=at(1, 0), source="inbound")
    opportunity(at(20), stage_name="Discovery", entered=at(20), source="inbound")
    c = opportunity(at(3), stage_name="Closed Lost", closed=at(9), source="outbound")
    move(c, None, "Discovery", at(3))
    move(c, "Discovery", "Closed Lost", at(9), days_in=6)
    d = opportunity(at(3), stage_name="Closed Lost", closed=at(25), source="outbound")
    move(d, "Discovery", "Proposal", at(10), days_in=7)
    move(d, "Proposal", "Closed Lost", at(25), days_in=15)
    opportunity(
        at(4), stage_name="Closed Won", amount="2000", closed=at(25), is_override=True,
        source="referral",
    )  # fmt: skip
    opportunity(at(5), stage_name="Present/Demo", amount="5000", currency="EUR", source="event")
    opportunity(at(10, month=2), stage_name="Closed Won", closed=at(10), source="inbound")
    return a


def test_premature_is_died_or_stalled_in_an_early_stage(revops, deals):
    # given the policy's 45 days: `a` entered Discovery 45.5 days before NOW (stalled),
    # the other Discovery deal 26 days before (not stalled)
    assert ConversionPolicy.current().stall_age_days == 45
    result = premature_conversion(request_for(revops))
    total = result.total
    assert total["opportunities"] == 6
    assert total["stalled_early"] == 1
    assert total["lost_early"] == 1  # c; d died in Proposal
    assert total["lost"] == 2
    assert total["premature"] == 2
    assert total["premature_rate"] == pytest.approx(100 / 3)
    assert total["override"] == 1
    by_source = {row.key: row for row in result.rows}
    assert by_source["inbound"]["premature"] == 1
    assert by_source["outbound"]["premature"] == 1
    assert by_source["event"]["premature"] == 0


def test_stall_age_is_revops_setting(revops, deals):
    ConversionPolicy.objects.filter(pk=1).update(stall_age_days=20)
    total = premature_conversion(request_for(revops)).total
    assert total["stalled_early"] == 2  # both Discovery deals now count


def test_pipeline_to_won_is_per_currency(revops, deals):
    result = pipeline_to_won(request_for(revops))
    rows = {row.currency: row for row in result.rows}
    # USD: created 1000 × 4 + 2000 = 6000; won in March 2000 + 1000 (created in Feb).
    assert rows["USD"].created_amount == Decimal("6000")
    assert rows["USD"].won_amount == Decimal("3000")
    assert rows["USD"].ratio == pytest.approx(2.0)
    assert rows["USD"].status == "below"
    # EUR is never added to USD; nothing won in EUR: no ratio.
    assert rows["EUR"].created_amount == Decimal("5000")
    assert rows["EUR"].ratio is None and rows["EUR"].status is None

    ReportPolicy.objects.filter(pk=1).update(pipeline_to_won_low=1, pipeline_to_won_high=2)
    assert pipeline_to_won(request_for(revops)).rows[0].status == "within"


def test_delayed_overrides_and_handoffs(revops):
    # Lost to a competitor before conversion (counted) and after it (not).
    lead(at(2), lost_to_competitor="Acme CRM", status="disqualified", disqualified_at=at(9))
    lead(
        at(2), lost_to_competitor="Acme CRM", status="converted", qualified_at=at(3),
        converted_at=at(5),
    )  # fmt: skip
    lead(at(2))
    # Override requests: two in March (pending, approved), one in February.
    asker = UserFactory(ae=True)
    for state, when in (("pending", at(3)), ("approved", at(4)), ("declined", at(4, month=2))):
        request = ConversionRequest.objects.create(
            lead=lead(at(1)), requested_by=asker, data={}, unmet=[], rationale="x", state=state
        )
        ConversionRequest.objects.filter(pk=request.pk).update(requested_at=when)
    # Hand-offs in March rated 5, 3 and 1; one AE repeated discovery, one did not.
    for rating, repeated in ((5, False), (3, True), (1, None)):
        handoff = HandoffFactory(ae_rating=rating, ae_repeated_discovery=repeated)
        Handoff.objects.filter(pk=handoff.pk).update(created_at=at(6))
    HandoffFactory(ae_rating=5)  # created now (April): outside the period

    r = request_for(revops)
    q = quality(r, funnel=funnel(r))

    assert q.leads == 6 and q.lost_to_competitor == 1  # 3 + the 3 requests' leads
    assert q.lost_to_competitor_rate == pytest.approx(100 / 6)
    assert q.sql_to_opportunity_median == pytest.approx(2 * 86400, abs=1)
    assert q.requests == {"requested": 2, "pending": 1, "approved": 1, "declined": 0}
    handoffs = q.handoffs.total
    assert handoffs["handoffs"] == 3 and handoffs["rated"] == 3
    assert handoffs["average_rating"] == pytest.approx(3.0)
    assert handoffs["low_rating"] == 1
    assert (handoffs["answered"], handoffs["repeated"]) == (2, 1)
    assert handoffs["repeated_rate"] == pytest.approx(50.0)
    assert len(q.handoffs.rows) == 3  # one SDR per factory hand-off
