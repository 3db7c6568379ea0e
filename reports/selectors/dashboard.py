"""The manager dashboard: every report once, sharing the queries they have in common.

The conversion-by-source table is the funnel's GROUP BY source read differently, and the
pipeline-to-won ratio and the pipeline read the same "created in the period" figures, so
the page costs a fixed number of queries (about twenty), whatever the data."""

from __future__ import annotations

from dataclasses import dataclass

from reports import rollups
from reports.selectors.base import ReportRequest
from reports.selectors.conversion import ConversionReport, conversion_by_source
from reports.selectors.funnel import Funnel, funnel
from reports.selectors.pipeline import PersonKpis, Pipeline, kpis_by, pipeline
from reports.selectors.quality import handoff_quality, premature_conversion
from reports.selectors.sla import compliance, response_times
from reports.selectors.tally import Group, Tally


@dataclass
class Dashboard:
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
    _prime(r, people_by)
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


def _prime(r: ReportRequest, people_by: str) -> None:
    """Read each cohort once for the two groupings the page shows (by source and by
    person, by stage and by person, by currency and by person)."""
    from reports.selectors.base import dimension
    from reports.selectors.funnel import COUNTS
    from reports.selectors.pipeline import prime_open

    person = dimension(people_by, "leads").column
    rollups.prime(rollups.LEADS_CREATED, r, ["source", person], COUNTS, [["source"], [person]])
    deal_person = dimension(people_by, "opportunities").column
    rollups.prime(
        rollups.OPPORTUNITIES_CLOSED,
        r,
        [deal_person, "currency"],
        ["won", "lost", "won_amount", "cycle_seconds"],
        [["currency"], [deal_person, "currency"]],
    )
    prime_open(
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
    times: list


def speed(r: ReportRequest) -> Speed:
    from reports.selectors.pipeline import open_by_stage, time_in_stage

    open_rows, _flows, _probability = open_by_stage(r)
    return Speed(
        funnel=funnel(r),
        response=response_times(r),
        times=time_in_stage(r, open_rows),
    )
