"""Lead -> opportunity conversion by source, against RevOps' benchmark ranges, or by
campaign (campaigns have no range of their own: only the overall row is compared).

Definition (shown on the page): the cohort is the leads created in the period; a lead
counts as converted if it became an opportunity at any time, also after the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from leads.models import Source
from reports.cohorts import ReportRequest
from reports.dimensions import dimension
from reports.models import BenchmarkRange
from reports.rollups.leads import LEADS_CREATED
from reports.rollups.reading import cohort_figures
from reports.selectors.tally import Group, Tally, percent_share, tally_from

OVERALL = "overall"

READINGS = {
    "above": _("Above the range: qualifying too liberally; check the gate is applied."),
    "below": _("Below the range: criteria too strict, or poor leads from this source."),
    "within": _("Within the typical range."),
}


@dataclass
class ConversionReport:
    """A row per source (every source, also those without leads) or per campaign (those
    with leads), and the overall row."""

    rows: list[Group]
    overall: Group
    by: str = "source"


def benchmark_status(converted: int, leads: int, benchmark: BenchmarkRange | None) -> str | None:
    """below | within | above, compared exactly (no rounding of the rate)."""
    if benchmark is None or not leads:
        return None
    scaled = Decimal(converted) * 100
    if scaled < benchmark.low_percent * leads:
        return "below"
    if scaled > benchmark.high_percent * leads:
        return "above"
    return "within"


def _with_benchmark(group: Group, benchmark: BenchmarkRange | None) -> Group:
    """`group` with its rate, the benchmark range and how the rate reads against it."""
    leads, converted = group["leads"], group["converted"]
    status = benchmark_status(converted, leads, benchmark)
    group.values.update(
        rate=percent_share(converted, leads),
        benchmark_low=benchmark.low_percent if benchmark else None,
        benchmark_high=benchmark.high_percent if benchmark else None,
        status=status,
        reading=READINGS.get(status or "", ""),
    )
    return group


def conversion_by_source(r: ReportRequest, *, counts: Tally | None = None) -> ConversionReport:
    """One GROUP BY source over the cohort, one read of the benchmark ranges. `counts`:
    the cohort already counted by source (the funnel's breakdown), to reuse."""
    if counts is None:
        dim = dimension("source", "leads")
        grouped = cohort_figures(LEADS_CREATED, r, [dim.column], ["leads", "converted"])
        counts = tally_from(grouped, dim, ["leads", "converted"])
    benchmarks = {b.source: b for b in BenchmarkRange.objects.all()}
    found = {row.key: row for row in counts.rows}
    sources = [r.filters.source] if r.filters.source else list(Source.values)
    labels = dict(Source.choices)
    rows = []
    for source in sources:
        found_row = found.get(source)
        values = {"leads": 0, "converted": 0}
        if found_row is not None:
            values = {"leads": found_row["leads"], "converted": found_row["converted"]}
        row = Group(source, str(labels.get(source, source)), source, values)
        rows.append(_with_benchmark(row, benchmarks.get(source)))
    total = {"leads": counts.total["leads"], "converted": counts.total["converted"]}
    overall = Group(OVERALL, str(_("All sources")), None, total)
    return ConversionReport(rows=rows, overall=_with_benchmark(overall, benchmarks.get(OVERALL)))


def conversion_by_campaign(r: ReportRequest) -> ConversionReport:
    """One GROUP BY campaign over the cohort; "No campaign" is a row of its own."""
    dim = dimension("campaign", "leads")
    grouped = cohort_figures(LEADS_CREATED, r, [dim.column], ["leads", "converted"])
    counts = tally_from(grouped, dim, ["leads", "converted"], order_by="leads")
    overall_range = BenchmarkRange.objects.filter(source=OVERALL).first()
    rows = [_with_benchmark(row, None) for row in counts.rows if row["leads"]]
    total = {"leads": counts.total["leads"], "converted": counts.total["converted"]}
    overall = Group(OVERALL, str(_("All campaigns")), None, total)
    return ConversionReport(
        rows=rows, overall=_with_benchmark(overall, overall_range), by="campaign"
    )


def conversion_by(r: ReportRequest, by: str = "source") -> ConversionReport:
    if by == "campaign":
        return conversion_by_campaign(r)
    return conversion_by_source(r)
