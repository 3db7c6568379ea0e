"""Keeping the rollups up to date with the source tables.

`refresh()` runs every 30 seconds (beat) and rebuilds only the days touched by what
changed since the last run (rows updated or created, lead events and transitions, stage
changes), with a safety overlap for transactions that commit late; once a night it
rebuilds everything, which also heals writes that bypass `updated_at` (bulk updates).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from leads.models import Handoff, Lead, LeadEvent
from opportunities.models import Opportunity, StageChange
from reports.cohorts import ReportRequest, system_reader
from reports.filters import ReportFilters
from reports.models import (
    HandoffDay,
    LeadAssignedDay,
    LeadCreatedDay,
    LeadDuration,
    LeadScope,
    OpenForecast,
    OpenPipeline,
    OpportunityClosedDay,
    OpportunityCreatedDay,
    RollupState,
    StageMoveDay,
    StageStay,
    TimerDay,
)
from reports.rollups.durations import LEAD_DURATIONS, STAGE_STAYS, build_durations
from reports.rollups.handoffs import build_handoff_rollup
from reports.rollups.leads import build_lead_rollup
from reports.rollups.opportunities import (
    build_open_pipeline,
    build_opportunity_rollup,
    build_stage_move_rollup,
)
from reports.rollups.periods import UTC
from reports.rollups.timers import build_timer_rollup
from sla.models import SlaTimer

# Transactions commit after their `updated_at` was taken: look back this far past the
# watermark so a late commit is not missed.
OVERLAP = datetime.timedelta(minutes=5)
# Above this many changed rows an incremental refresh is slower than a rebuild.
INCREMENTAL_LIMIT = 50_000

ROLLUP_MODELS = (
    LeadCreatedDay, LeadAssignedDay, OpportunityCreatedDay, OpportunityClosedDay,
    StageMoveDay, HandoffDay, TimerDay, OpenPipeline, OpenForecast, LeadScope,
    LeadDuration, StageStay,
)  # fmt: skip
# Rewritten in bulk: their index-only scans need the visibility map a VACUUM sets.
VACUUMED_MODELS = (LeadDuration, StageStay)

# The days each dated rollup must rebuild; None: all of them.
RebuildPlan = dict[str, set[datetime.date] | None]
PLAN_KEYS = ("created", "assigned", "opp_created", "opp_closed", "moves", "handoffs", "timers")


@dataclass
class RefreshReport:
    full: bool
    seconds: float
    rows: dict[str, int]
    days: dict[str, int]


def refresh(*, now: datetime.datetime | None = None, full: bool = False) -> RefreshReport:
    """Bring every rollup up to date with the source tables (see the module docstring)."""
    started = time.monotonic()
    now = now or timezone.now()
    r = _system_request(now)
    rows: dict[str, int] = {}
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get_or_create(pk=1)[0]
        changed = None
        last_refresh = state.refreshed_at
        if not full and last_refresh is not None:
            changed = _changed_ids(last_refresh - OVERLAP, state)
        if changed is None or last_refresh is None:
            full = True
            plan: RebuildPlan = dict.fromkeys(PLAN_KEYS)
        else:
            full = False
            plan = _days_to_rebuild(*changed)
            plan["opp_created"] = (plan["opp_created"] or set()) | _stall_crossings(last_refresh, r)
        rows["leads_created"] = build_lead_rollup(plan["created"], r, assigned=False)
        rows["leads_assigned"] = build_lead_rollup(plan["assigned"], r, assigned=True)
        rows["opportunities_created"] = build_opportunity_rollup(
            plan["opp_created"], r, closed=False
        )
        rows["opportunities_closed"] = build_opportunity_rollup(plan["opp_closed"], r, closed=True)
        rows["stage_moves"] = build_stage_move_rollup(plan["moves"], r)
        rows["handoffs"] = build_handoff_rollup(plan["handoffs"], r)
        rows["timers"] = build_timer_rollup(plan["timers"], r)
        rows["open_pipeline"] = build_open_pipeline(r)
        durations_full = full or state.durations_built_at is None
        rows["durations"] = _build_durations(plan, full=durations_full)
        if durations_full:
            state.durations_built_at = now
        days = {k: (-1 if v is None else len(v)) for k, v in plan.items()}
        _record_watermarks(state)
        state.refreshed_at = now
        if full:
            state.rebuilt_at = now
        state.last_seconds = time.monotonic() - started
        state.save()
    if full or durations_full:
        _refresh_planner_statistics()
    elif rows["durations"]:
        _vacuum_rewritten()
    return RefreshReport(full=full, seconds=time.monotonic() - started, rows=rows, days=days)


def _build_durations(plan: RebuildPlan, *, full: bool) -> int:
    """The duration rows of the medians, on the days the day rollups rebuild (all when
    `full`: also the first time, after they were added)."""
    if full:
        plan = dict.fromkeys(PLAN_KEYS)
    return build_durations(
        LEAD_DURATIONS, {"created_at": plan["created"], "assigned_at": plan["assigned"]}
    ) + build_durations(STAGE_STAYS, {"changed_at": plan["moves"]})


def _system_request(now: datetime.datetime) -> ReportRequest:
    """A request that sees every row: what the rollups are built with."""
    today = now.date()
    return ReportRequest(
        user=system_reader(), filters=ReportFilters(start=today, end=today), now=now
    )


def _record_watermarks(state: RollupState) -> None:
    """How far the source tables go now: the next refresh looks for changes past these."""
    state.lead_count = Lead.objects.count()
    state.lead_max_id = Lead.objects.aggregate(m=Max("pk"))["m"] or 0
    state.opportunity_count = Opportunity.objects.count()
    state.opportunity_max_id = Opportunity.objects.aggregate(m=Max("pk"))["m"] or 0
    state.timer_max_id = SlaTimer.objects.aggregate(m=Max("pk"))["m"] or 0
    state.handoff_max_id = Handoff.objects.aggregate(m=Max("pk"))["m"] or 0
    state.stage_change_max_id = StageChange.objects.aggregate(m=Max("pk"))["m"] or 0


def _utc_dates(values: Iterable[datetime.datetime | None]) -> set[datetime.date]:
    return {v.astimezone(UTC).date() for v in values if v is not None}


def _changed_ids(since: datetime.datetime, state: RollupState) -> tuple[set[int], set[int]] | None:
    """Ids of the leads and opportunities whose rollup days need rebuilding; None when a
    rebuild is cheaper (or rows were deleted)."""
    if (
        Lead.objects.count() < state.lead_count
        or Opportunity.objects.count() < state.opportunity_count
    ):
        return None
    leads = set(
        Lead.objects.filter(Q(updated_at__gte=since) | Q(pk__gt=state.lead_max_id)).values_list(
            "pk", flat=True
        )[: INCREMENTAL_LIMIT + 1]
    )
    # Lifecycle moves save the lead; the discovery rating (hand-off) only writes an event.
    # A merge saves both leads, so the days of both are rebuilt: the duplicate's drop it
    # (`reports.cohorts.lead_rows`), and its clocks and hand-offs, moved to the survivor,
    # are found through the survivor below (`_days_to_rebuild` reads every lead).
    leads |= set(LeadEvent.objects.filter(created_at__gte=since).values_list("lead_id", flat=True))
    # Clocks start and stop with lead changes; new ones are new rows.
    leads |= set(
        SlaTimer.objects.filter(pk__gt=state.timer_max_id).values_list("lead_id", flat=True)
    )
    leads |= set(
        Handoff.objects.filter(pk__gt=state.handoff_max_id).values_list("lead_id", flat=True)
    )
    opportunities = set(
        Opportunity.objects.filter(
            Q(updated_at__gte=since) | Q(pk__gt=state.opportunity_max_id)
        ).values_list("pk", flat=True)[: INCREMENTAL_LIMIT + 1]
    )
    opportunities |= set(
        StageChange.objects.filter(
            Q(changed_at__gte=since) | Q(pk__gt=state.stage_change_max_id)
        ).values_list("opportunity_id", flat=True)
    )
    # A deal's outcome is its lead's "won"; a lead's owner is its deals' scope.
    leads |= {
        lead_id
        for lead_id in Opportunity.objects.filter(
            pk__in=opportunities, lead__isnull=False
        ).values_list("lead_id", flat=True)
        if lead_id is not None
    }
    opportunities |= set(Opportunity.objects.filter(lead__in=leads).values_list("pk", flat=True))
    if len(leads) > INCREMENTAL_LIMIT or len(opportunities) > INCREMENTAL_LIMIT:
        return None
    return leads, opportunities


def _stall_crossings(last: datetime.datetime, r: ReportRequest) -> set[datetime.date]:
    """Creation days of the deals that became "stalled early" since the last refresh:
    open in an early stage, entered it between the two refreshes' stall cutoffs."""
    stall = datetime.timedelta(days=r.policy.stall_age_days)
    crossed = Opportunity.objects.filter(
        stage__counts_as_early=True,
        stage__is_won=False,
        stage__is_lost=False,
        stage_entered_at__gte=last - OVERLAP - stall,
        stage_entered_at__lt=r.now - stall,
    )
    return _utc_dates(crossed.values_list("created_at", flat=True))


def _refresh_planner_statistics() -> None:
    """Fresh planner statistics after a rebuild (PostgreSQL), or the first dashboard
    queries are planned for the empty tables they were before."""
    if connection.vendor != "postgresql":
        return
    names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in ROLLUP_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
    _vacuum_rewritten()


def _vacuum_rewritten() -> None:
    """VACUUM the duration rollups after their days were rewritten (PostgreSQL, outside a
    transaction): the medians read them by index-only scans, which fall back to a heap
    fetch per row on every page a rebuild touched until the visibility map is set again;
    at a million leads a 90-day median then took 260 ms instead of 110. VACUUM skips the
    pages still all-visible, so after an incremental refresh it costs a few milliseconds
    (38 ms for 2 million rows with nothing to do)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in VACUUMED_MODELS:
            cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")


def _days_to_rebuild(leads: set[int], opportunities: set[int]) -> RebuildPlan:
    """The UTC days each rollup must rebuild for these changed rows: the days they fall on
    now, and for timestamps that can move, the days they fell on before."""
    lead_rows = Lead.objects.filter(pk__in=leads)
    assigned_before = LeadEvent.objects.filter(
        lead__in=leads, kind=LeadEvent.Kind.ASSIGNED
    ).values_list("created_at", flat=True)
    opp_rows = Opportunity.objects.filter(pk__in=opportunities)
    closed_before = StageChange.objects.filter(
        Q(to_stage__is_won=True) | Q(to_stage__is_lost=True), opportunity__in=opportunities
    ).values_list("changed_at", flat=True)
    return {
        "created": _utc_dates(lead_rows.values_list("created_at", flat=True)),
        "assigned": _utc_dates(lead_rows.values_list("assigned_at", flat=True))
        | _utc_dates(assigned_before),
        "opp_created": _utc_dates(opp_rows.values_list("created_at", flat=True)),
        "opp_closed": _utc_dates(opp_rows.values_list("closed_at", flat=True))
        | _utc_dates(closed_before),
        "moves": _utc_dates(
            StageChange.objects.filter(opportunity__in=opportunities).values_list(
                "changed_at", flat=True
            )
        ),
        "handoffs": _utc_dates(
            Handoff.objects.filter(lead__in=leads).values_list("created_at", flat=True)
        ),
        "timers": _utc_dates(
            SlaTimer.objects.filter(lead__in=leads).values_list("due_at", flat=True)
        ),
    }
