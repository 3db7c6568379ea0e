"""The rollups equal the raw aggregates: every dashboard figure computed from the daily
rollups (plus source rows for the partial days at the period's ends) is the figure
computed from the source rows alone - for every role, filter and time zone, after a full
build and after incremental refreshes."""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.celery import app
from leads.models import Lead
from opportunities.models import Opportunity, Stage, StageChange
from reports.cohorts import ReportRequest
from reports.filters import ReportFilters
from reports.models import LeadCreatedDay, OpenPipeline, RollupState
from reports.rollups.reading import fresh_rollup_state, rollup_max_age
from reports.rollups.refresh import refresh
from reports.selectors import (
    compliance,
    conversion_by,
    conversion_by_source,
    funnel,
    kpis_by,
    pipeline,
    response_times,
)
from reports.selectors.marketing import mql_delivery, revenue_by
from reports.selectors.quality import handoff_quality, pipeline_to_won, premature_conversion
from reports.tasks import refresh_rollups_task
from sla.models import SlaPolicy, SlaTimer
from tests.factories import LeadFactory, UserFactory
from tests.reports import world

pytestmark = pytest.mark.django_db

ZONES = ["UTC", "Asia/Jakarta", "America/New_York", "Asia/Kolkata"]
UTC = datetime.UTC
D = datetime.timedelta(days=1)


def figures(r: ReportRequest) -> dict[str, Any]:
    """Every additive figure the dashboard shows, as plain data."""
    f = funnel(r, by="source", medians=False)
    p = pipeline(r, medians=False)
    return {
        "conversion": [(g.key, g["leads"], g["converted"]) for g in conversion_by_source(r).rows],
        "funnel": [(g.key, dict(g.values)) for g in [*f.breakdown.rows, f.total]],
        "premature": _tally(premature_conversion(r)),
        "to_won": [dataclasses.astuple(row) for row in pipeline_to_won(r).rows],
        "handoffs": _tally(handoff_quality(r)),
        "sla": {by: _tally(compliance(r, by=by)) for by in ("policy", "owner", "team", "source")},
        "response": _tally(response_times(r, by="owner", medians=False)),
        "stages": [(row.stage.pk, row.count, row.amount.items(), row.weighted.items(),
                    row.stale, row.stalled_early, dict(row.buckets)) for row in p.stages],
        "forecast": [dataclasses.astuple(row) for row in p.forecast],
        "reach": [(row.label, row.reached) for row in p.reach],
        "times": [(t.stage.pk, t.moves, t.average_seconds) for t in p.times],
        "flows": [(c.currency, c.open_count, c.won, c.lost, c.won_amount, c.cycle_seconds,
                   c.created_count, c.created_amount) for c in p.currencies],
        "people": [(x.key, x.leads, x.converted, x.average_score, x.open_count,
                    x.open_amount.items(), x.won, x.lost, x.won_amount.items())
                   for x in kpis_by(r, "owner")],
        "ages": [row.age_seconds_sum for row in p.stages],
        "pending": (p.pending.count, p.pending.amount.items(), p.pending.by_currency),
        "by_campaign": [(g.key, g["leads"], g["converted"])
                        for g in conversion_by(r, "campaign").rows],
        "funnel_campaign": _tally(funnel(r, by="campaign", medians=False).breakdown),
        "revenue": {by: [(x.key, x.leads, x.mql, x.converted, x.won, x.won_amount.items())
                         for x in [*revenue.rows, revenue.total]]
                    for by in ("source", "campaign") for revenue in [revenue_by(r, by)]},
        "mql_delivery": [dataclasses.astuple(row) for row in mql_delivery(r).rows],
    }  # fmt: skip


def _tally(t) -> list:
    return [(g.key, dict(g.values)) for g in [*t.rows, t.total]]


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats to a millisecond (SQLite keeps instants to the microsecond as text)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-3), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, Decimal) or isinstance(b, Decimal):
        assert Decimal(a or 0) == Decimal(b or 0), path
    else:
        assert a == b, (path, a, b)


def compare(user, now, **filters) -> None:
    tz = zoneinfo.ZoneInfo(filters.pop("zone", "UTC"))
    today = timezone.localdate(now, tz)
    f = ReportFilters(
        start=filters.pop("start", today - datetime.timedelta(days=89)),
        end=filters.pop("end", today),
        tz=tz,
        **filters,
    )
    raw = figures(ReportRequest(user=user, filters=f, now=now))
    rolled = figures(ReportRequest(user=user, filters=f, now=now, rollups_as_of=now))
    for key in raw:
        same(rolled[key], raw[key], key)


@pytest.fixture
def built():
    w = world.people()
    world.build(w, scale=3)
    # Rows written long ago: only what a test changes afterwards is "changed".
    long_ago = timezone.now() - datetime.timedelta(days=2)
    Lead.objects.update(updated_at=long_ago)
    Opportunity.objects.update(updated_at=long_ago)
    now = timezone.now()
    report = refresh(now=now)
    assert report.full
    assert LeadCreatedDay.objects.exists() and OpenPipeline.objects.exists()
    return w, now


@pytest.mark.parametrize("zone", ZONES)
def test_full_build_equals_raw_in_every_zone(built, revops, zone):
    w, now = built
    compare(revops, now, zone=zone)


@pytest.mark.parametrize("who", ["manager", "sdr", "other_sdr", "ae"])
def test_full_build_equals_raw_in_every_scope(built, who):
    w, now = built
    compare(getattr(w, who), now, zone="Asia/Jakarta")


def test_full_build_equals_raw_with_filters(built, revops):
    w, now = built
    compare(revops, now, zone="America/New_York", team=w.team)
    compare(revops, now, owner=w.ae)
    compare(revops, now, owner=w.sdr, source="inbound")
    compare(revops, now, zone="Asia/Kolkata", source="referral")
    # A period of whole UTC days (no raw edges) and one shorter than a day (no rollup).
    today = now.date()
    compare(revops, now, start=today - datetime.timedelta(days=30), end=today)
    compare(revops, now, zone="Asia/Jakarta", start=today, end=today)


def test_incremental_refresh_follows_changes(built, revops):
    w, now = built
    # given changes of every kind after the build
    later = now + datetime.timedelta(minutes=10)
    lead = Lead.objects.filter(status="mql", assigned_at__isnull=False).first()
    lead.owner = w.other_sdr  # reassigned: its old owner's figures must drop it
    lead.accepted_at = later
    lead.save()
    fresh = LeadFactory(owner=w.sdr, team=w.team, source="event")  # a new lead, now
    deal = Opportunity.objects.filter(stage__name="Discovery").first()
    StageChange.objects.create(
        opportunity=deal,
        from_stage=deal.stage,
        to_stage=Stage.objects.get(name="Closed Won"),
        changed_at=later,
        time_in_previous_stage=later - deal.stage_entered_at,
    )
    deal.stage = Stage.objects.get(name="Closed Won")
    deal.closed_at = later
    deal.stage_entered_at = later
    deal.save()
    timer = SlaTimer.objects.filter(stopped_at__isnull=True).first()
    timer.stopped_at, timer.met = later, False
    timer.save()
    timer.lead.save()  # services save the lead with its clocks
    approved = Opportunity.objects.filter(approval=Opportunity.Approval.PENDING).first()
    approved.approval = Opportunity.Approval.APPROVED  # a manager lets it into the pipeline
    approved.save()
    won_again = Opportunity.objects.filter(stage__name="Closed Won").last()
    won_again.amount += 1  # the value won from its lead changes
    won_again.save()

    # when the incremental refresh runs
    report = refresh(now=later)

    # then only touched days were rebuilt, and every figure equals the raw one again
    assert not report.full
    assert 0 < report.days["created"] <= 6  # the leads touched, the new one, the deals'
    compare(revops, later, zone="Asia/Jakarta")
    compare(w.manager, later)
    compare(revops, later, owner=w.other_sdr)
    assert fresh.pk


def test_deletions_trigger_a_rebuild(built, revops):
    w, now = built
    Lead.objects.filter(pk=LeadFactory(owner=w.sdr).pk).delete()
    refresh(now=now)
    victim = Lead.objects.filter(opportunity__isnull=True, handoffs__isnull=True).first()
    SlaTimer.objects.filter(lead=victim).delete()
    victim.delete()
    report = refresh(now=now + datetime.timedelta(minutes=1))
    assert report.full
    compare(revops, now + datetime.timedelta(minutes=1))


def test_pages_use_rollups_only_while_fresh(client, built, revops):
    w, now = built
    assert fresh_rollup_state(now) is not None
    assert fresh_rollup_state(now + datetime.timedelta(hours=1)) is None
    RollupState.objects.update(refreshed_at=None)
    assert fresh_rollup_state(now) is None


def test_dashboard_reads_rollups_with_fewer_source_scans(client, built, revops):
    w, now = built
    refresh()  # fresh for the real clock
    client.force_login(revops)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["r"].rollups


def test_refresh_task_and_command(built):
    refresh_rollups_task()
    refresh_rollups_task(full=True)
    call_command("refresh_report_rollups", "--full", verbosity=0)
    assert RollupState.objects.get().rebuilt_at is not None


def test_what_beat_runs_keeps_the_rollups_fresh(built, settings):
    w, now = built
    incremental = settings.CELERY_BEAT_SCHEDULE["report-rollups"]
    nightly = settings.CELERY_BEAT_SCHEDULE["report-rollups-rebuild"]
    LeadFactory(owner=w.sdr, team=w.team, source="event")  # a lead the rollups lack
    before = LeadCreatedDay.objects.filter(source="event").count()

    # Beat sends the name; the worker runs whatever is registered under it.
    app.tasks[incremental["task"]].delay(**incremental.get("kwargs", {})).get()

    state = RollupState.objects.get()
    assert state.rebuilt_at == now  # incremental: the last rebuild is the fixture's
    assert LeadCreatedDay.objects.filter(source="event").count() > before
    assert fresh_rollup_state(timezone.now()) is not None
    # Pages read the rollups only while younger than the max age: beat refreshes well
    # within it, so a running beat keeps the dashboard on the rollups.
    assert incremental["schedule"] * 2 <= rollup_max_age().total_seconds()

    app.tasks[nightly["task"]].delay(**nightly.get("kwargs", {})).get()

    assert RollupState.objects.get().rebuilt_at > now


def test_clocks_around_the_current_hour(built, revops):
    """Running clocks due before the current hour are overdue, after it on track; the
    current hour itself is read from the source rows."""
    w, now = built
    policy = SlaPolicy.objects.get(key="first-contact")
    responsible = UserFactory(sdr=True, team=w.team, manager=w.manager)
    hour = now.replace(minute=0, second=0, microsecond=0)
    next_hour = hour + datetime.timedelta(hours=1)
    due_times = {
        "overdue_before_this_hour": hour - datetime.timedelta(hours=3),
        "overdue_just_now": now - datetime.timedelta(seconds=1),
        "on_track_later_this_hour": now + (next_hour - now) / 2,
        "on_track_after_this_hour": hour + datetime.timedelta(hours=2),
    }
    timers = {}
    for name, due in due_times.items():
        lead = LeadFactory(owner=responsible, team=w.team)
        timers[name] = SlaTimer.objects.create(
            policy=policy, lead=lead, responsible=responsible,
            started_at=due - datetime.timedelta(days=1),
            warn_at=due - datetime.timedelta(hours=1), due_at=due, target_value=24,
            target_unit="hours",
        )  # fmt: skip
    refresh(now=now, full=True)
    today = timezone.localdate(now, datetime.UTC)
    filters = ReportFilters(start=today - datetime.timedelta(days=89), end=today + D, tz=UTC)

    def clocks_of_responsible(rollups_as_of: datetime.datetime | None) -> dict[str, Any]:
        r = ReportRequest(user=revops, filters=filters, now=now, rollups_as_of=rollups_as_of)
        by_owner = {group.key: group for group in compliance(r, by="owner").rows}
        group = by_owner[responsible.pk]
        return {name: group[name] for name in ("timers", "overdue", "running", "met")}

    # Two overdue (one before the current hour, one in it), two on track (one later in the
    # current hour, one after it): from the rollups as from the source rows.
    expected = {"timers": 4, "overdue": 2, "running": 2, "met": 0}
    assert clocks_of_responsible(rollups_as_of=now) == expected
    assert clocks_of_responsible(rollups_as_of=None) == expected
    for zone in ZONES:
        compare(revops, now, zone=zone, end=today + D)

    # A clock of the current hour stopped after the refresh counts at once on the rolled
    # page too: that hour comes from the source rows, not from the rollup.
    SlaTimer.objects.filter(pk=timers["on_track_later_this_hour"].pk).update(
        stopped_at=now, met=True
    )
    expected = {"timers": 4, "overdue": 2, "running": 1, "met": 1}
    assert clocks_of_responsible(rollups_as_of=now) == expected
    assert clocks_of_responsible(rollups_as_of=None) == expected
