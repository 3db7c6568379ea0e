"""Conversion quality: converting too early, too late, by override, and the hand-off.

* Premature conversion: of the opportunities created in the period, the share that died
  young (closed lost straight from an early stage) or stalled in an early stage longer
  than `ConversionPolicy.stall_age_days`; and the pipeline-to-won ratio (value of the
  pipeline created in the period ÷ value won in it, per currency) against RevOps' range.
* Delayed conversion: leads of the cohort lost to a competitor before they converted, and
  the time from SQL to conversion against the SLA for converting.
* Overrides: opportunities converted with a criterion unmet, and the requests for it.
* Hand-off quality: the AE's rating of the SDR's package and whether discovery had to be
  repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q

from opportunities.models import ConversionRequest
from reports.cohorts import ReportRequest, conversion_requests
from reports.dimensions import dimension
from reports.models import ReportPolicy
from reports.rollups.handoffs import HANDOFFS
from reports.rollups.opportunities import OPPORTUNITIES_CLOSED, OPPORTUNITIES_CREATED
from reports.rollups.reading import cohort_figures
from reports.selectors.funnel import Funnel
from reports.selectors.tally import Tally, percent_share, tally_from

PREMATURE_COUNTS = (
    "opportunities",
    "lost",
    "lost_early",
    "stalled_early",
    "premature",
    "override",
    "won",
    "decision_maker",
)


@dataclass
class CurrencyRatio:
    currency: str
    created_count: int
    created_amount: Decimal
    won_count: int
    won_amount: Decimal
    ratio: float | None
    status: str | None  # below | within | above (None when nothing was won)


@dataclass
class PipelineToWon:
    low: Decimal
    high: Decimal
    rows: list[CurrencyRatio]


@dataclass
class Quality:
    premature: Tally
    pipeline_to_won: PipelineToWon
    requests: dict[str, int]
    handoffs: Tally
    stall_age_days: int
    # From the funnel (same lead cohort): lost to a competitor, SQL -> opportunity time.
    leads: int
    converted: int
    lost_to_competitor: int
    sql_to_opportunity_median: float | None

    @property
    def lost_to_competitor_rate(self) -> float | None:
        return percent_share(self.lost_to_competitor, self.leads)


def premature_conversion(r: ReportRequest, *, by: str | None = "source") -> Tally:
    dim = dimension(by, "opportunities") if by else None
    names = [n for n in PREMATURE_COUNTS if n != "premature"]
    grouped = cohort_figures(OPPORTUNITIES_CREATED, r, [dim.column] if dim else [], names)
    result = tally_from(grouped, dim, names, order_by="opportunities")
    for group in [*result.rows, result.total]:
        # Died early (closed) and stalled early (open) never overlap.
        group.values["premature"] = group["lost_early"] + group["stalled_early"]
        group.values["premature_rate"] = percent_share(group["premature"], group["opportunities"])
        group.values["override_rate"] = percent_share(group["override"], group["opportunities"])
        group.values["decision_maker_rate"] = percent_share(
            group["decision_maker"], group["opportunities"]
        )
    return result


def pipeline_to_won(r: ReportRequest) -> PipelineToWon:
    """Two GROUP BY currency: created in the period, and closed won in it."""
    policy = ReportPolicy.current()
    created = cohort_figures(
        OPPORTUNITIES_CREATED, r, ["currency"], ["opportunities", "amount_sum"]
    )
    won = cohort_figures(OPPORTUNITIES_CLOSED, r, ["currency"], ["won", "won_amount"])
    rows = []
    for (currency,) in sorted(set(created) | set(won)):
        c = created.get((currency,), {})
        w = won.get((currency,), {})
        if not (c.get("opportunities") or w.get("won")):
            continue
        created_amount = Decimal(c.get("amount_sum") or 0)
        won_amount = Decimal(w.get("won_amount") or 0)
        value = float(created_amount / won_amount) if won_amount else None
        if value is None:
            status = None
        elif created_amount < policy.pipeline_to_won_low * won_amount:
            status = "below"
        elif created_amount > policy.pipeline_to_won_high * won_amount:
            status = "above"
        else:
            status = "within"
        rows.append(
            CurrencyRatio(
                currency=currency,
                created_count=c.get("opportunities") or 0,
                created_amount=created_amount,
                won_count=w.get("won") or 0,
                won_amount=won_amount,
                ratio=value,
                status=status,
            )
        )
    rows.sort(key=lambda row: (-row.created_count, row.currency))
    return PipelineToWon(
        low=policy.pipeline_to_won_low, high=policy.pipeline_to_won_high, rows=rows
    )


def override_requests(r: ReportRequest) -> dict[str, int]:
    State = ConversionRequest.State
    return conversion_requests(r).aggregate(
        requested=Count("pk"),
        **{state: Count("pk", filter=Q(state=state)) for state in State.values},
    )


HANDOFF_COUNTS = ("handoffs", "rated", "rating_sum", "low_rating", "answered", "repeated")


def handoff_quality(r: ReportRequest, *, by: str | None = "sdr") -> Tally:
    dim = dimension(by, "handoffs") if by else None
    grouped = cohort_figures(HANDOFFS, r, [dim.column] if dim else [], HANDOFF_COUNTS)
    result = tally_from(grouped, dim, HANDOFF_COUNTS, order_by="handoffs")
    for group in [*result.rows, result.total]:
        group.values["average_rating"] = (
            group["rating_sum"] / group["rated"] if group["rated"] else None
        )
        group.values["repeated_rate"] = percent_share(group["repeated"], group["answered"])
        group.values["rated_rate"] = percent_share(group["rated"], group["handoffs"])
    return result


def quality(r: ReportRequest, *, funnel: Funnel, handoffs_by: str = "sdr") -> Quality:
    """`funnel` is the same cohort's funnel (the caller usually has it already)."""
    steps = {step.measure: step for step in funnel.steps}
    return Quality(
        premature=premature_conversion(r),
        pipeline_to_won=pipeline_to_won(r),
        requests=override_requests(r),
        handoffs=handoff_quality(r, by=handoffs_by),
        stall_age_days=r.policy.stall_age_days,
        leads=funnel.leads,
        converted=steps["converted"].count,
        lost_to_competitor=funnel.total.get("lost_to_competitor") or 0,
        sql_to_opportunity_median=steps["converted"].median_seconds,
    )
