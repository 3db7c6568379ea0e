"""Lead -> opportunity conversion by source, against RevOps' benchmark ranges, or by
campaign (campaigns have no range of their own: only the overall row is compared).

Definition (shown on the page): the cohort is the leads created in the period; a lead
counts as converted if it became an opportunity at any time, also after the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from leads.models import Source
from reports.aggregates import Grouped
from reports.cohorts import CONVERTED, ReportRequest, leads_created
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
    """One GROUP BY source over the cohort, one read of the benchmark ranges; from the
    source rows (the API) both in one statement. `counts`: the cohort already counted by
    source (the funnel's breakdown), to reuse."""
    benchmarks: dict[str, BenchmarkRange] | None = None
    if counts is None:
        dim = dimension("source", "leads")
        if r.rollups:
            grouped = cohort_figures(LEADS_CREATED, r, [dim.column], ["leads", "converted"])
        else:
            grouped, benchmarks = _counts_with_benchmarks(r)
        counts = tally_from(grouped, dim, ["leads", "converted"])
    if benchmarks is None:
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


def _counts_with_benchmarks(
    r: ReportRequest,
) -> tuple[Grouped, dict[str, BenchmarkRange] | None]:
    """The cohort's leads and conversions by source (as `cohort_figures` counts them from
    the source rows) and the benchmark ranges, in one statement: the API's answer then
    costs one round trip besides authentication, about what its SQL costs. The ranges
    are a constant UNION ALL part (no second queryset to build and compile per request).
    None for the ranges when the cohort is empty by construction (read them apart)."""
    counted = (
        leads_created(r)
        .order_by()
        .values("source")
        .annotate(_agg_leads=Count("pk"), _agg_converted=Count("pk", filter=CONVERTED))
    )
    # On the database the router reads reports from (the replica, when there is one):
    # the queryset's own choice, as the ORM would have made it.
    db = counted.db
    try:
        select, params = counted.query.get_compiler(using=db).as_sql()
    except EmptyResultSet:  # a reader who sees no lead at all
        return {}, None
    quote = connections[db].ops.quote_name
    meta = BenchmarkRange._meta
    columns = {field.name: quote(field.column) for field in meta.concrete_fields}
    source, low, high = columns["source"], columns["low_percent"], columns["high_percent"]
    sql = (
        f"SELECT c.{quote('source')}, 0, c.{quote('_agg_leads')}, c.{quote('_agg_converted')},"
        f" NULL, NULL FROM ({select}) c UNION ALL"
        f" SELECT b.{source}, 1, NULL, NULL, b.{low}, b.{high} FROM {quote(meta.db_table)} b"
    )
    grouped: Grouped = {}
    benchmarks: dict[str, BenchmarkRange] = {}
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        for key, is_range, leads, converted, low_percent, high_percent in cursor.fetchall():
            if is_range:
                benchmarks[key] = BenchmarkRange(
                    source=key,
                    low_percent=_percent(low_percent),
                    high_percent=_percent(high_percent),
                )
            else:
                grouped[(key,)] = {"leads": leads or 0, "converted": converted or 0}
    return grouped, benchmarks


def _percent(value: Decimal | float | int) -> Decimal:
    """A range end as the model holds it (two places; SQLite hands back a float or int)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


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
