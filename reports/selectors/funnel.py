"""The lead funnel MQL -> SAL -> SQL -> Opportunity -> Won: counts, step rates and the
median time between steps, for the leads created in the period, overall or per source,
team or owner.

A lead reaches a step when the step's milestone is set. Reopening a lead (nurture or
rejection back to MQL) restarts its milestones, so it is counted once, at the furthest
step of its latest pass. "Won" is the opportunity the lead was converted into, closed won.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Expression, F, When
from django.utils.translation import gettext_lazy as _

from reports.aggregates import Grouped, SecondsBetween, grouped_aggregates, seconds_between
from reports.cohorts import ReportRequest, leads_created
from reports.dimensions import StrOrPromise, dimension
from reports.rollups.durations import LEAD_DURATIONS, exact_medians
from reports.rollups.leads import LEADS_CREATED
from reports.rollups.reading import cohort_figures
from reports.selectors.tally import Group, Tally, percent_share, tally_from

# (measure, label, median of the time from the previous step)
STEPS: tuple[tuple[str, StrOrPromise, str | None], ...] = (
    ("mql", _("MQL"), None),
    ("sal", _("SAL"), "mql_to_sal"),
    ("sql", _("SQL"), "sal_to_sql"),
    ("converted", _("Opportunity"), "sql_to_opportunity"),
    ("won", _("Won"), "opportunity_to_won"),
)
STEP_HINTS = {
    "mql": _("Marketing-qualified"),
    "sal": _("Accepted by sales"),
    "sql": _("Qualified by sales"),
    "converted": _("Converted to an opportunity"),
    "won": _("Opportunity closed won"),
}


def step_medians() -> dict[str, Expression]:
    return {
        "mql_to_sal": seconds_between("accepted_at", "mql_at"),
        "sal_to_sql": seconds_between("qualified_at", "accepted_at"),
        "sql_to_opportunity": seconds_between("converted_at", "qualified_at"),
        "opportunity_to_won": Case(
            When(
                opportunity__stage__is_won=True,
                then=SecondsBetween(F("opportunity__closed_at"), F("converted_at")),
            )
        ),
    }


@dataclass
class FunnelStep:
    measure: str
    label: str
    hint: str
    count: int
    step_rate: float | None  # from the previous step, %
    cumulative_rate: float | None  # from MQL, %
    median_seconds: float | None  # from the previous step


@dataclass
class Funnel:
    leads: int
    steps: list[FunnelStep]
    total: Group
    breakdown: Tally | None


def funnel_steps(group: Group) -> list[FunnelStep]:
    steps = []
    previous = None
    first = group["mql"]
    for measure, label, median in STEPS:
        count = group[measure]
        steps.append(
            FunnelStep(
                measure=measure,
                label=str(label),
                hint=str(STEP_HINTS[measure]),
                count=count,
                step_rate=percent_share(count, previous) if previous is not None else None,
                cumulative_rate=percent_share(count, first),
                median_seconds=group.get(median) if median else None,
            )
        )
        previous = count
    return steps


FUNNEL_FIGURES = ("leads", *(step[0] for step in STEPS), "lost_to_competitor", "score_sum")


def funnel(
    r: ReportRequest, *, by: str | None = None, medians: bool | Collection[str] = True
) -> Funnel:
    """The steps overall and, with `by`, per group: counts (rollup or source rows) and,
    with `medians` (True: all; or the names wanted), the exact median times (the duration
    rows while the rollups may be read, else the source rows: a GROUP BY per level)."""
    dim = dimension(by, "leads") if by else None
    group_by = [dim.column] if dim else []
    grouped = cohort_figures(LEADS_CREATED, r, group_by, FUNNEL_FIGURES)
    wanted = {
        name: expression
        for name, expression in step_medians().items()
        if medians is True or (medians and name in medians)
    }
    times: Grouped = {}
    total_times: dict[str, Any] = {}
    if wanted and r.rollups:
        times, total_times = exact_medians(LEAD_DURATIONS, r, group_by, wanted)
    elif wanted:
        cohort = leads_created(r)
        if dim:
            times = grouped_aggregates(cohort, group_by, {}, medians=wanted)
        total_times = grouped_aggregates(cohort, [], {}, medians=wanted)[()]
    for key, values in grouped.items():
        values.update(dict.fromkeys(step_medians()) | times.get(key, {}))
    result = tally_from(grouped, dim, FUNNEL_FIGURES, order_by="leads")
    result.total.values.update(dict.fromkeys(step_medians()) | (total_times or {}))
    for row in [*result.rows, result.total]:
        row.values["average_score"] = row["score_sum"] / row["leads"] if row.get("leads") else None
    for row in result.rows:
        _add_step_rates(row)
    _add_step_rates(result.total)
    return Funnel(
        leads=result.total["leads"],
        steps=funnel_steps(result.total),
        total=result.total,
        breakdown=result if by else None,
    )


def _add_step_rates(group: Group) -> None:
    """Each step's rate from the step before it, and lead -> opportunity overall."""
    previous = None
    for measure, _label, _median in STEPS:
        if previous is not None:
            group.values[f"{measure}_rate"] = percent_share(group[measure], group[previous])
        previous = measure
    group.values["lead_to_opportunity_rate"] = percent_share(group["converted"], group["leads"])
