"""The manager dashboard: every report once, sharing the queries they have in common.

The conversion-by-source table is the funnel's GROUP BY source read differently, and the
pipeline-to-won ratio and the pipeline read the same "created in the period" figures, so
the page costs a fixed number of queries (about twenty), whatever the data."""

from __future__ import annotations

from dataclasses import dataclass

from reports.cohorts import ReportRequest
from reports.dimensions import dimension
from reports.rollups.leads import LEADS_CREATED
from reports.rollups.opportunities import CLOSED_FIGURES, OPPORTUNITIES_CLOSED
from reports.rollups.reading import precompute_figures
from reports.selectors.conversion import ConversionReport, conversion_by_source
from reports.selectors.funnel import FUNNEL_FIGURES, Funnel, funnel
from reports.selectors.people import PersonKpis, kpis_by
from reports.selectors.pipeline import (
    Pipeline,
    StageTime,
    open_by_stage,
    pipeline,
    precompute_open_deal_figures,
    time_in_stage,
)
from reports.selectors.quality import handoff_quality, premature_conversion
from reports.selectors.sla import compliance, response_times
from reports.selectors.tally import Group, Tally


@dataclass
class Dashboard:
    """What the dashboard shows, computed together."""

    request: ReportRequest
    conversion: ConversionReport
    funnel: Funnel
    premature: Group  # totals of the deals created in the period
    handoffs: Group  # totals of the hand-offs made in the period
    pipeline: Pipeline  # open deals, forecast, time in stage, closed flows
    people: list[PersonKpis]
    people_by: str
    sla: Tally


def dashboard(r: ReportRequest, *, people_by: str = "owner") -> Dashboard:
    """The overview: headline figures, conversion against benchmarks, the funnel, the
    pipeline, the team and SLAs. The details (quality by source, stage reach, velocity,
    breakdowns) are on the report pages; the medians load separately (`speed`)."""
    _precompute_shared_groupings(r, people_by)
    lead_funnel = funnel(r, by="source", medians=False)
    return Dashboard(
        request=r,
        conversion=conversion_by_source(r, counts=lead_funnel.breakdown),
        funnel=lead_funnel,
        premature=premature_conversion(r, by=None).total,
        handoffs=handoff_quality(r, by=None).total,
        pipeline=pipeline(r, created={}, medians=False, reach=False),
        people=kpis_by(r, people_by),
        people_by=people_by,
        sla=compliance(r, by="policy"),
    )


def _precompute_shared_groupings(r: ReportRequest, people_by: str) -> None:
    """Read each cohort once for the two groupings the page shows (by source and by
    person, by stage and by person, by currency and by person)."""
    person = dimension(people_by, "leads").column
    precompute_figures(LEADS_CREATED, r, ["source", person], FUNNEL_FIGURES, [["source"], [person]])
    deal_person = dimension(people_by, "opportunities").column
    precompute_figures(
        OPPORTUNITIES_CLOSED,
        r,
        [deal_person, "currency"],
        CLOSED_FIGURES,
        [["currency"], [deal_person, "currency"]],
    )
    precompute_open_deal_figures(
        r,
        ["stage_id", deal_person, "currency"],
        [["stage_id", "currency"], [deal_person, "currency"]],
    )


@dataclass
class Speed:
    """The exact medians the dashboard loads after the page: funnel steps, response
    times and time in stage, for the same filters."""

    funnel: Funnel
    response: Tally
    times: list[StageTime]


def speed(r: ReportRequest) -> Speed:
    open_rows, _flows, _probability = open_by_stage(r)
    return Speed(
        funnel=funnel(r),
        response=response_times(r),
        times=time_in_stage(r, open_rows),
    )
