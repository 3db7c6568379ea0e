"""SLA compliance in the report filters: met / breached per policy, rep, team or source
for the clocks that fell due in the period, and response times for the leads assigned in it.

The predicates are `sla.models.SlaTimerQuerySet`'s (met, missed, overdue, running): this
module only adds the report filters (team, owner, source), which `sla.selectors` does not
take, and reads the daily rollup when the page may.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Expression, F

from reports.aggregates import Grouped, SecondsBetween, grouped_aggregates
from reports.cohorts import ReportRequest, leads_assigned
from reports.dimensions import dimension
from reports.rollups.durations import LEAD_DURATIONS, exact_medians
from reports.rollups.leads import LEADS_ASSIGNED
from reports.rollups.reading import cohort_figures
from reports.rollups.timers import TIMERS
from reports.selectors.tally import Tally, percent_share, tally_from

TIMER_COUNTS = ("timers", "met", "breached", "overdue", "running", "cancelled")


def compliance(r: ReportRequest, *, by: str = "policy") -> Tally:
    """One GROUP BY. Rate = met ÷ (met + breached + running overdue): the share of the
    decided commitments that were kept; cancelled and on-track clocks are not decided.

    "Overdue" moves with the clock: in the rollup, a clock running at the refresh is
    overdue if it fell due before the current hour and on track if after it; the current
    hour comes from the source rows."""
    dim = dimension(by, "timers")
    grouped = cohort_figures(
        TIMERS,
        r,
        [dim.column],
        TIMER_COUNTS,
        clock={"overdue": ("running", "before"), "running": ("running", "after")},
    )
    result = tally_from(grouped, dim, TIMER_COUNTS, order_by="timers")
    for group in [*result.rows, result.total]:
        decided = group["met"] + group["breached"] + group["overdue"]
        group.values["decided"] = decided
        group.values["missed"] = group["breached"] + group["overdue"]
        group.values["rate"] = percent_share(group["met"], decided)
    return result


RESPONSE_COUNTS = (
    "assigned",
    "first_contacted",
    "accepted",
    "first_contact_seconds",
    "acceptance_seconds",
)


def response_medians() -> dict[str, Expression]:
    return {
        "first_contact_median": SecondsBetween(F("first_contacted_at"), F("assigned_at")),
        "acceptance_median": SecondsBetween(F("accepted_at"), F("assigned_at")),
    }


def response_times(r: ReportRequest, *, by: str | None = None, medians: bool = True) -> Tally:
    """From assignment to first contact and to acceptance: averages (additive sums) and,
    with `medians`, the exact medians (duration rows or source rows, like `funnel`)."""
    dim = dimension(by, "leads") if by else None
    group_by = [dim.column] if dim else []
    grouped = cohort_figures(LEADS_ASSIGNED, r, group_by, RESPONSE_COUNTS)
    times: Grouped = {}
    total_times: dict[str, Any] = {}
    if medians and r.rollups:
        times, total_times = exact_medians(LEAD_DURATIONS, r, group_by, response_medians())
    elif medians:
        if dim:
            times = grouped_aggregates(leads_assigned(r), group_by, {}, medians=response_medians())
        total_times = grouped_aggregates(leads_assigned(r), [], {}, medians=response_medians())[()]
    for key, values in grouped.items():
        values.update(times.get(key, dict.fromkeys(response_medians())))
    result = tally_from(grouped, dim, RESPONSE_COUNTS, order_by="assigned")
    result.total.values.update(total_times or dict.fromkeys(response_medians()))
    for group in [*result.rows, result.total]:
        group.values["first_contact_average"] = _average(
            group["first_contact_seconds"], group["first_contacted"]
        )
        group.values["acceptance_average"] = _average(
            group["acceptance_seconds"], group["accepted"]
        )
    return result


def _average(total: float | None, count: int) -> float | None:
    return total / count if count and total is not None else None
