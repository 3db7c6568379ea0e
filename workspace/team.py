"""The manager's team view on My work: each rep's queue health — open leads, overdue SLA
clocks, hand-offs waiting, stale deals — and the rows behind each figure.

Each figure is defined once, as a queryset over the rows it counts (`METRICS`): the
counts are correlated subqueries over those querysets in one SQL statement for the whole
team (whatever its size), and the drill-down lists the very same rows. Every figure is
also limited to what the manager may see (`visible_to`), so a count never names a row
the drill-down would hide.

The team: active people who report to the manager or sit in a team they manage.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.exceptions import NotFound
from crm.models import User
from leads.models import Handoff, Lead
from opportunities.models import Opportunity
from sla.models import SlaTimer
from workspace.db import planner_settings

DRILL_LIMIT = 200
# Counting stops here, as the bell's count does: "99+" says what a manager needs to know,
# and a count of a rep's ten thousand open leads (the demo's) would read them all, per rep,
# on every visit to My work.
COUNT_CAP = 99


class SubqueryCount(Subquery):
    """`(SELECT count(*) FROM (<subquery>))`: a per-row count without GROUP BY."""

    template = "(SELECT count(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def waiting_for_handoff() -> Q:
    """SQL leads not handed off since they were qualified: the SDR's hand-off to make."""
    return Q(status=Lead.Status.SQL) & (
        Q(handed_off_at__isnull=True) | Q(handed_off_at__lt=F("qualified_at"))
    )


def waiting_for_discovery() -> Q:
    """SQL leads handed off this round whose discovery call is not recorded: the AE's."""
    held = Handoff.objects.filter(
        lead=OuterRef("pk"),
        discovery_held_at__isnull=False,
        created_at__gte=OuterRef("handed_off_at"),
    )
    return (
        Q(status=Lead.Status.SQL, handed_off_at__isnull=False)
        & (Q(qualified_at__isnull=True) | Q(handed_off_at__gte=F("qualified_at")))
        & ~Q(Exists(held))
    )


def _open_leads(manager: User, rep: Any, now: datetime.datetime) -> QuerySet[Lead]:
    return Lead.objects.visible_to(manager).filter(
        Q(owner=rep) | Q(ae=rep), status__in=Lead.OPEN_STATUSES
    )


def _overdue_clocks(manager: User, rep: Any, now: datetime.datetime) -> QuerySet[SlaTimer]:
    return SlaTimer.objects.visible_to(manager).overdue(now).filter(responsible=rep)


def _handoffs_waiting(manager: User, rep: Any, now: datetime.datetime) -> QuerySet[Lead]:
    return Lead.objects.visible_to(manager).filter(
        (Q(owner=rep) & waiting_for_handoff()) | (Q(ae=rep) & waiting_for_discovery())
    )


def _stale_deals(manager: User, rep: Any, now: datetime.datetime) -> QuerySet[Opportunity]:
    return Opportunity.objects.visible_to(manager).open().stale(now).filter(owner=rep)


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any  # lazy translations
    help: Any
    rows: Callable[[User, Any, datetime.datetime], QuerySet[Any]]


METRICS = {
    metric.key: metric
    for metric in (
        Metric(
            "open_leads",
            _("Open leads"),
            _("New, MQL, SAL or SQL leads they own or were handed."),
            _open_leads,
        ),
        Metric(
            "overdue_clocks",
            _("Overdue SLA clocks"),
            _("Running clocks they answer for that are past due."),
            _overdue_clocks,
        ),
        Metric(
            "handoffs_waiting",
            _("Hand-offs waiting"),
            _(
                "SDR: qualified leads not yet handed off. AE: hand-offs whose discovery call is "
                "not recorded."
            ),  # fmt: skip
            _handoffs_waiting,
        ),
        Metric(
            "stale_deals",
            _("Stale deals"),
            _("Open deals past their stage's age."),
            _stale_deals,
        ),
    )
}


@dataclass(frozen=True)
class RepHealth:
    rep: User
    counts: dict[str, int]

    @property
    def cells(self) -> list[tuple[Metric, int, str]]:
        """(figure, count, as shown) in the table's column order, for the template."""
        return [
            (metric, self.counts[key], shown(self.counts[key])) for key, metric in METRICS.items()
        ]


@dataclass(frozen=True)
class TeamHealth:
    reps: list[RepHealth]
    totals: dict[str, int]
    metrics: list[Metric]

    @property
    def total_cells(self) -> list[tuple[Metric, int, str]]:
        capped = {
            m.key for m in self.metrics if any(r.counts[m.key] > COUNT_CAP for r in self.reps)
        }
        return [
            (
                m,
                self.totals[m.key],
                f"{self.totals[m.key]}+" if m.key in capped else str(self.totals[m.key]),
            )
            for m in self.metrics
        ]


def shown(count: int) -> str:
    """A count as the table shows it: past COUNT_CAP, "99+"."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def team_of(manager: User) -> QuerySet[User]:
    """The manager's reps: active people reporting to them or in a team they manage."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(manager=manager) | Q(team__manager=manager))
        .exclude(pk=manager.pk)
    )


def team_health(manager: User, *, now: datetime.datetime) -> TeamHealth:
    """Each rep's figures, in two queries whatever the team's size: the stages' rot ages
    (for "stale"), then one statement counting every figure for every rep, each count
    stopping past COUNT_CAP (a total over a capped count is shown as "at least")."""
    # Coalesce: a figure with nothing to count at all (no stage has a rot age, so nothing
    # can be stale) compiles to NULL instead of a subquery.
    counts = {
        key: Coalesce(
            SubqueryCount(
                metric.rows(manager, OuterRef("pk"), now).order_by().values("pk")[: COUNT_CAP + 1]
            ),
            Value(0),
        )
        for key, metric in METRICS.items()
    }
    rows = (
        team_of(manager)
        .select_related("team")
        .annotate(**counts)
        .order_by("team__name", "first_name", "last_name", "pk")
    )
    # Its cost estimate (a subquery per figure and rep) would make PostgreSQL compile it
    # to machine code first: 200 ms of JIT for a statement that runs in a fraction of that.
    with planner_settings(jit="off"):
        reps = list(rows)
    health = [RepHealth(rep, {key: getattr(rep, key) for key in METRICS}) for rep in reps]
    totals = {key: sum(row.counts[key] for row in health) for key in METRICS}
    return TeamHealth(reps=health, totals=totals, metrics=list(METRICS.values()))


@dataclass(frozen=True)
class Drill:
    metric: Metric
    rep: User
    rows: list[Any]
    limit: int


def team_drill(manager: User, *, metric: str, rep_id: Any, now: datetime.datetime) -> Drill:
    """The rows behind one figure of one rep. Raises `NotFound` for an unknown figure or
    someone outside the manager's team (as for a record one may not see)."""
    chosen = METRICS.get(metric)
    rep = team_of(manager).filter(pk=rep_id).first() if str(rep_id).isdigit() else None
    if chosen is None or rep is None or not manager.is_manager:
        raise NotFound(gettext("No such figure for your team."))
    rows = chosen.rows(manager, rep, now)
    if chosen.key == "overdue_clocks":
        rows = rows.select_related("policy", "lead").order_by("due_at", "pk")
    elif chosen.key == "stale_deals":
        rows = rows.select_related("stage", "account").order_by("stage_entered_at", "pk")
    else:
        rows = rows.select_related("owner", "ae").order_by("-created_at", "-pk")
    return Drill(metric=chosen, rep=rep, rows=list(rows[:DRILL_LIMIT]), limit=DRILL_LIMIT)
