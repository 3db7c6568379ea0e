"""The rows every report counts, and the named predicates it counts them with.

A number on a report is ``COUNT(*) FILTER (WHERE <predicate>)`` over one of the cohorts
below; the drill-down behind that number is ``<cohort>.filter(<predicate>)`` with the same
predicate object. Defining each once here is what keeps a figure and its list equal, and
the rollups (`reports.rollups`) build their sums from the same definitions.

Cohorts (all scoped with the models' `visible_to(user)`, then the report filters; a lead
merged into another is none of them, see `lead_rows`):

* leads created in the period (conversion, funnel, lead KPIs),
* leads assigned in the period (response times),
* opportunities created in the period (conversion quality, deal KPIs),
* opportunities closed in the period (win rate, cycle, velocity),
* opportunities open now (pipeline; the period does not apply to a snapshot), less those
  waiting for a manager's approval, which are counted apart,
* stage changes in the period (time in stage),
* hand-offs made in the period (hand-off quality),
* SLA timers falling due in the period (SLA compliance).

This module is the floor of the app's reading side: it imports only the models and the
filters, so the rollups, the selectors and the drill-downs can all stand on it.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext_lazy as _

from crm.models import User
from leads.models import Handoff, Lead, LeadQuerySet
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    Opportunity,
    OpportunityQuerySet,
    Stage,
    StageChange,
)
from reports.aggregates import Grouped
from reports.filters import ReportFilters
from sla.models import SlaTimer, SlaTimerQuerySet

# Figures a request has computed already, by (cohort key, grouping): the names computed
# and the figures per group (`reports.rollups.reading.precompute_figures`).
Memo = dict[tuple[Any, tuple[str, ...]], tuple[set[str], Grouped]]


@dataclass(frozen=True)
class ReportRequest:
    """Who asks (scope), for what (filters), and when (`now`, for ages and "open")."""

    user: User
    filters: ReportFilters
    now: datetime.datetime
    # When the daily rollups may be read instead of the source rows (pages, while they are
    # fresh): the time they are as of. None: read the source rows (API, tests, fallback).
    rollups_as_of: datetime.datetime | None = None
    # Figures already computed for this request: a page that shows a cohort by source and
    # by owner reads it once, grouped by both.
    memo: Memo = field(default_factory=dict, compare=False, repr=False)

    @property
    def rollups(self) -> bool:
        return self.rollups_as_of is not None

    def with_rollups(self, allowed: bool) -> ReportRequest:
        """This request, kept from the rollups when a figure cannot be read from them."""
        return self if allowed else dataclasses.replace(self, rollups_as_of=None)

    @cached_property
    def policy(self) -> ConversionPolicy:
        return ConversionPolicy.current()

    @cached_property
    def stages(self) -> list[Stage]:
        return list(Stage.objects.order_by("position"))

    @property
    def stall_before(self) -> datetime.datetime:
        """Early-stage deals that entered their stage before this have stalled."""
        return self.now - datetime.timedelta(days=self.policy.stall_age_days)


def system_reader() -> User:
    """The reader of scheduled work (the weekly e-mail, the rollup refresh): an unsaved
    user with the RevOps role, so every `visible_to` lets it see every record."""
    return User(username="threshold-system", role=User.Role.REVOPS)


# --- cohorts ---------------------------------------------------------------------------------
# `scoped_*` apply the reader's scope and the report filters to a queryset of the source
# model *or of a rollup whose fields are named like it* (reports.models): the scoping is
# the source model's own `visible_to`, called on that queryset, so there is one definition.
# (The `cast`s say so to the type checker: a rollup queryset is read as the source's.)


def lead_filters(qs: QuerySet[Any], f: ReportFilters, prefix: str = "") -> QuerySet[Any]:
    if f.team is not None:
        qs = qs.filter(**{f"{prefix}team": f.team})
    if f.owner is not None:
        # An SDR owns the lead; an AE's leads are the ones handed off to them.
        qs = qs.filter(Q(**{f"{prefix}owner": f.owner}) | Q(**{f"{prefix}ae": f.owner}))
    if f.source:
        qs = qs.filter(**{f"{prefix}source": f.source})
    return qs


def scoped_leads(qs: QuerySet[Any], r: ReportRequest) -> QuerySet[Any]:
    return lead_filters(LeadQuerySet.visible_to(cast(LeadQuerySet, qs), r.user), r.filters)


def scoped_opportunities(qs: QuerySet[Any], r: ReportRequest) -> QuerySet[Any]:
    f = r.filters
    qs = OpportunityQuerySet.visible_to(cast(OpportunityQuerySet, qs), r.user)
    if f.team is not None:
        qs = qs.filter(owner__team=f.team)
    if f.owner is not None:
        qs = qs.filter(owner=f.owner)
    if f.source:
        qs = qs.filter(source=f.source)
    return qs


def scoped_timers(qs: QuerySet[Any], r: ReportRequest) -> QuerySet[Any]:
    f = r.filters
    qs = SlaTimerQuerySet.visible_to(cast(SlaTimerQuerySet, qs), r.user)
    if f.team is not None:
        qs = qs.filter(lead__team=f.team)
    if f.owner is not None:
        qs = qs.filter(responsible=f.owner)
    if f.source:
        qs = qs.filter(lead__source=f.source)
    return qs


def scoped_handoffs(qs: QuerySet[Any], r: ReportRequest, leads: QuerySet[Any]) -> QuerySet[Any]:
    """`leads`: all rows of the model hand-offs point at (Lead, or a rollup's LeadScope)."""
    f = r.filters
    visible = LeadQuerySet.visible_to(cast(LeadQuerySet, leads), r.user)
    if f.team is not None:
        visible = visible.filter(team=f.team)
    if f.source:
        visible = visible.filter(source=f.source)
    qs = qs.filter(lead__in=visible.values("pk"))
    if f.owner is not None:
        qs = qs.filter(Q(from_user=f.owner) | Q(to_user=f.owner))
    return qs


def in_period(name: str, f: ReportFilters) -> Q:
    return Q(**{f"{name}__gte": f.start_at, f"{name}__lt": f.end_at})


def lead_rows() -> QuerySet[Lead]:
    """Every lead reports count: all but the duplicates merged into another lead.

    A merged-away duplicate (`Lead.merged_into` set, closed as disqualified by
    `leads.services.merge`) is the same person as its survivor, which took over its
    history, clocks and hand-offs: counted too, one person would be two leads created,
    two MQLs, and one of them disqualified. Almost every lead has no `merged_into`, so
    the condition is a plain filter (no index serves it better than the period's)."""
    return Lead.objects.filter(merged_into__isnull=True)


def leads_visible(r: ReportRequest) -> QuerySet[Lead]:
    return scoped_leads(lead_rows(), r)


def leads_created(r: ReportRequest) -> QuerySet[Lead]:
    return leads_visible(r).filter(in_period("created_at", r.filters))


def leads_assigned(r: ReportRequest) -> QuerySet[Lead]:
    return leads_visible(r).filter(in_period("assigned_at", r.filters))


def leads_with_event_in_period(r: ReportRequest, column: str) -> QuerySet[Lead]:
    """Leads whose `column` milestone (accepted_at, rejected_at, ...) falls in the period."""
    return leads_visible(r).filter(in_period(column, r.filters))


def opportunities_visible(r: ReportRequest) -> QuerySet[Opportunity]:
    return scoped_opportunities(Opportunity.objects.all(), r)


def opportunities_created(r: ReportRequest) -> QuerySet[Opportunity]:
    return opportunities_visible(r).filter(in_period("created_at", r.filters))


def opportunities_closed(r: ReportRequest) -> QuerySet[Opportunity]:
    return opportunities_visible(r).filter(in_period("closed_at", r.filters))


def opportunities_open(r: ReportRequest) -> QuerySet[Opportunity]:
    """The pipeline: open deals, less those waiting for a manager's approval."""
    return opportunities_visible(r).filter(IN_PIPELINE)


def opportunities_pending(r: ReportRequest) -> QuerySet[Opportunity]:
    """Open deals waiting for a manager's approval: shown apart, never pipeline."""
    return opportunities_visible(r).filter(OPEN & PENDING_APPROVAL)


def stage_changes_visible(r: ReportRequest) -> QuerySet[StageChange]:
    return StageChange.objects.filter(opportunity__in=opportunities_visible(r).values("pk"))


def stage_changes(r: ReportRequest) -> QuerySet[StageChange]:
    return stage_changes_visible(r).filter(in_period("changed_at", r.filters))


def handoffs_visible(r: ReportRequest) -> QuerySet[Handoff]:
    # Every lead, not `lead_rows()`: a merge moves the duplicate's hand-offs (and clocks)
    # to the survivor, so none points at a merged-away lead, and the hand-off rollup
    # (scoped through `LeadScope`, which knows no merges) counts the same rows.
    return scoped_handoffs(Handoff.objects.all(), r, Lead.objects.all())


def handoffs_made(r: ReportRequest) -> QuerySet[Handoff]:
    return handoffs_visible(r).filter(in_period("created_at", r.filters))


def conversion_requests(r: ReportRequest) -> QuerySet[ConversionRequest]:
    """Override requests made in the period. A request is a manager's decision, made
    whatever became of its lead: one for a lead merged away later still counts (the
    merge leaves it on the duplicate), scoped by that lead."""
    visible = scoped_leads(Lead.objects.all(), r)
    return ConversionRequest.objects.filter(
        in_period("requested_at", r.filters), lead__in=visible.values("pk")
    )


def timers_visible(r: ReportRequest) -> QuerySet[SlaTimer]:
    return scoped_timers(SlaTimer.objects.all(), r)


def timers_due(r: ReportRequest) -> QuerySet[SlaTimer]:
    """SLA clocks that fell (or fall) due in the period."""
    return timers_visible(r).filter(in_period("due_at", r.filters))


# --- predicates ------------------------------------------------------------------------------

CONVERTED = Q(converted_at__isnull=False)
# Pending is not pipeline: a deal waiting for a manager's approval is open but counts in no
# pipeline total, forecast, velocity or stall figure; reports show it apart.
OPEN = Q(stage__is_won=False, stage__is_lost=False)
PENDING_APPROVAL = Q(approval=Opportunity.Approval.PENDING)
IN_PIPELINE = OPEN & ~PENDING_APPROVAL


def lead_measures(r: ReportRequest) -> dict[str, Q]:
    """What is counted in a lead cohort. Reached a step = its milestone is set: a reopened
    lead starts its milestones over, so it counts once, at the step its latest pass reached."""
    return {
        "leads": Q(),
        "mql": Q(mql_at__isnull=False),
        "sal": Q(accepted_at__isnull=False),
        "sql": Q(qualified_at__isnull=False),
        "converted": CONVERTED,
        "won": Q(opportunity__stage__is_won=True),
        "lost_to_competitor": ~Q(lost_to_competitor="") & Q(converted_at__isnull=True),
        "first_contacted": Q(first_contacted_at__isnull=False),
        "accepted": Q(accepted_at__isnull=False),
        "handed_off": Q(handed_off_at__isnull=False),
    }


def lost_from_early_stage() -> Exists:
    """The deal was closed lost straight from an early stage (it died young)."""
    return Exists(
        StageChange.objects.filter(
            opportunity=OuterRef("pk"), to_stage__is_lost=True, from_stage__counts_as_early=True
        )
    )


def stale_q(r: ReportRequest) -> Q:
    """Open deals older in their stage than the stage's rot age (as the deal list's filter)."""
    condition = Q(pk__in=[])
    for stage in r.stages:
        if stage.rot_days is not None and not stage.is_closed:
            condition |= Q(
                stage=stage.pk,
                stage_entered_at__lt=r.now - datetime.timedelta(days=stage.rot_days),
            )
    return condition


def opportunity_measures(r: ReportRequest) -> dict[str, Q]:
    open_ = IN_PIPELINE
    stalled_early = open_ & Q(stage__counts_as_early=True, stage_entered_at__lt=r.stall_before)
    lost_early = Q(lost_from_early_stage())
    return {
        "opportunities": Q(),
        "open": open_,
        "won": Q(stage__is_won=True),
        "lost": Q(stage__is_lost=True),
        "lost_early": lost_early,
        "stalled_early": stalled_early,
        "premature": lost_early | stalled_early,
        "override": Q(is_override=True),
        "decision_maker": Q(primary_contact__is_decision_maker=True),
        "stale": open_ & stale_q(r),
        "pending": OPEN & PENDING_APPROVAL,
    }


def handoff_measures() -> dict[str, Q]:
    return {
        "handoffs": Q(),
        "rated": Q(ae_rating__isnull=False),
        "low_rating": Q(ae_rating__lte=2),
        "answered": Q(ae_repeated_discovery__isnull=False),
        "repeated": Q(ae_repeated_discovery=True),
        "discovery_held": Q(discovery_held_at__isnull=False),
    }


def timer_measures(r: ReportRequest) -> dict[str, Q]:
    """As `sla.models.SlaTimerQuerySet`: met / missed / overdue / running, cancelled."""
    stopped, running = Q(stopped_at__isnull=False), Q(stopped_at__isnull=True)
    return {
        "timers": Q(),
        "met": stopped & Q(met=True),
        "breached": stopped & Q(met=False),
        "overdue": running & Q(due_at__lte=r.now),
        "missed": (stopped & Q(met=False)) | (running & Q(due_at__lte=r.now)),
        "running": running & Q(due_at__gt=r.now),
        "cancelled": stopped & Q(met__isnull=True),
    }


# --- open deals: age, weight, progress ----------------------------------------------------

MONEY: DecimalField[Any, Any] = DecimalField(max_digits=20, decimal_places=2)

# Days in the current stage: (key, label, from days, to days exclusive)
AGE_BUCKETS: tuple[tuple[str, Any, int, int | None], ...] = (
    ("age_0_7", _("0–7 days"), 0, 8),
    ("age_8_30", _("8–30 days"), 8, 31),
    ("age_31_60", _("31–60 days"), 31, 61),
    ("age_61_90", _("61–90 days"), 61, 91),
    ("age_91", _("Over 90 days"), 91, None),
)


def age_bucket_q(now: datetime.datetime, low_days: int, high_days: int | None) -> Q:
    """Deals that entered their stage `low_days` (inclusive) to `high_days` (exclusive)
    days before `now`; None: no upper end."""
    condition = Q(stage_entered_at__lte=now - datetime.timedelta(days=low_days))
    if high_days is not None:
        condition &= Q(stage_entered_at__gt=now - datetime.timedelta(days=high_days))
    return condition


def age_bucket_case(now: datetime.datetime) -> Case:
    """The key of the age bucket a deal falls in, as an SQL expression."""
    buckets = [
        When(age_bucket_q(now, low, high), then=Value(key)) for key, _l, low, high in AGE_BUCKETS
    ]
    return Case(*buckets, default=Value(AGE_BUCKETS[0][0]))


def weighted_amount() -> ExpressionWrapper:
    """Amount × probability: what a deal adds to the weighted forecast."""
    return ExpressionWrapper(F("amount") * F("probability") / Value(100), output_field=MONEY)


def with_furthest_stage(opportunities: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate `furthest` (position of the furthest non-lost stage the deal entered, from
    its stage history and its current stage) and `reached_won`."""
    history = StageChange.objects.filter(opportunity=OuterRef("pk"), to_stage__is_lost=False)
    furthest_moved = Subquery(
        history.order_by().values("opportunity").annotate(p=Max("to_stage__position")).values("p"),
        output_field=IntegerField(),
    )
    current = Case(
        When(stage__is_lost=False, then=F("stage__position")),
        default=Value(-1),
        output_field=IntegerField(),
    )
    return opportunities.annotate(
        furthest=Greatest(
            Coalesce(furthest_moved, Value(-1)), current, output_field=IntegerField()
        ),
        reached_won=Exists(history.filter(to_stage__is_won=True)),
    )
