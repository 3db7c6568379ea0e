"""The medians read from the duration rows (`reports.rollups.durations`) equal the medians
of the source rows: the funnel's step times, the response times and the stays in a stage,
overall and per group, for every role, filter and time zone, on a randomized world, after
a full build and after incremental refreshes."""

from __future__ import annotations

import datetime
import random
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from leads.models import Lead
from opportunities.models import Opportunity, Stage, StageChange
from reports.cohorts import ReportRequest
from reports.filters import ReportFilters
from reports.models import LeadDuration, RollupState, StageStay
from reports.rollups.durations import _locate
from reports.rollups.reading import fresh_rollup_state
from reports.rollups.refresh import refresh
from reports.selectors import funnel, response_times
from reports.selectors.pipeline import open_by_stage, time_in_stage
from tests.factories import LeadFactory
from tests.reports import world
from tests.reports.test_rollups import same

pytestmark = pytest.mark.django_db


def medians(r: ReportRequest) -> dict[str, Any]:
    """Every median the report pages show, as plain data."""
    result: dict[str, Any] = {}
    for by in (None, "source", "owner", "team", "campaign"):
        f = funnel(r, by=by)
        groups = [*(f.breakdown.rows if f.breakdown else []), f.total]
        result[f"funnel_{by}"] = [
            (g.key, {k: v for k, v in g.values.items() if k.endswith(("_to_sal", "_to_sql",
             "_to_opportunity", "_to_won"))}) for g in groups
        ]  # fmt: skip
    for by in (None, "source", "owner"):
        t = response_times(r, by=by)
        result[f"response_{by}"] = [
            (g.key, g.get("first_contact_median"), g.get("acceptance_median"))
            for g in [*t.rows, t.total]
        ]
    open_rows = open_by_stage(r)[0]
    result["stays"] = [(t.stage.pk, t.median_seconds) for t in time_in_stage(r, open_rows)]
    return result


def compare(user, now, **filters) -> None:
    tz = zoneinfo.ZoneInfo(filters.pop("zone", "UTC"))
    today = timezone.localdate(now, tz)
    f = ReportFilters(
        start=filters.pop("start", today - datetime.timedelta(days=89)),
        end=filters.pop("end", today),
        tz=tz,
        **filters,
    )
    raw = medians(ReportRequest(user=user, filters=f, now=now))
    rolled = medians(ReportRequest(user=user, filters=f, now=now, rollups_as_of=now))
    assert any(v is not None for _key, v, _w in raw["response_None"])  # not vacuous
    for key in raw:
        same(rolled[key], raw[key], key)


def _scramble(seed: int) -> None:
    """Random milestone times (seconds to weeks apart, some equal, some out of order) so
    the medians fall anywhere in their buckets, with ties and even counts."""
    rng = random.Random(seed)
    for lead in Lead.objects.filter(assigned_at__isnull=False):
        start = lead.assigned_at
        lead.first_contacted_at = rng.choice(
            [None, start, start + datetime.timedelta(seconds=rng.expovariate(1 / 3600))]
        )
        if lead.accepted_at is not None:
            lead.accepted_at = start + datetime.timedelta(
                seconds=rng.choice([60, 60, 3600, rng.uniform(-600, 14 * 86400)])
            )
        Lead.objects.filter(pk=lead.pk).update(
            first_contacted_at=lead.first_contacted_at, accepted_at=lead.accepted_at
        )
    for change in StageChange.objects.filter(time_in_previous_stage__isnull=False):
        StageChange.objects.filter(pk=change.pk).update(
            time_in_previous_stage=datetime.timedelta(seconds=rng.uniform(0, 40 * 86400))
        )


@pytest.fixture
def built():
    w = world.people()
    world.build(w, scale=3)
    _scramble(14)
    long_ago = timezone.now() - datetime.timedelta(days=2)
    Lead.objects.update(updated_at=long_ago)
    Opportunity.objects.update(updated_at=long_ago)
    now = timezone.now()
    assert refresh(now=now).full
    assert LeadDuration.objects.exists() and StageStay.objects.exists()
    return w, now


@pytest.mark.parametrize("zone", ["UTC", "Asia/Jakarta", "America/New_York", "Asia/Kolkata"])
def test_medians_equal_raw_in_every_zone(built, revops, zone):
    w, now = built
    compare(revops, now, zone=zone)


@pytest.mark.parametrize("who", ["manager", "sdr", "other_sdr", "ae"])
def test_medians_equal_raw_in_every_scope(built, who):
    w, now = built
    compare(getattr(w, who), now, zone="Asia/Jakarta")


def test_medians_equal_raw_with_filters(built, revops):
    w, now = built
    compare(revops, now, zone="America/New_York", team=w.team)
    compare(revops, now, owner=w.ae)
    compare(revops, now, owner=w.sdr, source="inbound")
    today = now.date()
    compare(revops, now, start=today - datetime.timedelta(days=364), end=today)


def test_incremental_refresh_keeps_medians_exact(built, revops):
    w, now = built
    # given changes after the build: milestones moved, a reassignment, new rows
    later = now + datetime.timedelta(minutes=10)
    for lead in Lead.objects.filter(assigned_at__isnull=False)[:5]:
        lead.owner = w.other_sdr
        lead.first_contacted_at = lead.assigned_at + datetime.timedelta(hours=7)
        lead.save()
    LeadFactory(owner=w.sdr, team=w.team, source="event", assigned_at=now, mql_at=now)
    deal = Opportunity.objects.filter(stage__name="Discovery").first()
    StageChange.objects.create(
        opportunity=deal,
        from_stage=deal.stage,
        to_stage=Stage.objects.get(name="Closed Won"),
        changed_at=later,
        time_in_previous_stage=later - deal.stage_entered_at,
    )
    deal.stage = Stage.objects.get(name="Closed Won")
    deal.closed_at, deal.stage_entered_at = later, later
    deal.save()

    # when the incremental refresh runs
    report = refresh(now=later)

    # then every median equals the raw one again
    assert not report.full
    compare(revops, later, zone="Asia/Jakarta")
    compare(w.manager, later)
    compare(w.sdr, later)


def test_rollups_count_as_stale_until_the_durations_are_built(built):
    w, now = built
    assert fresh_rollup_state(now) is not None
    RollupState.objects.update(durations_built_at=None)  # as right after the migration
    assert fresh_rollup_state(now) is None
    report = refresh(now=now)
    assert not report.full  # only the duration rows are built in full
    assert fresh_rollup_state(now) is not None


def test_locate_walks_the_cumulative_counts():
    counts = {-3: 1, 0: 2, 5: 3}
    assert [_locate(counts, rank) for rank in range(6)] == [
        (-3, 0), (0, 0), (0, 1), (5, 0), (5, 1), (5, 2),
    ]  # fmt: skip
