"""The marketing report's tables: MQLs delivered against the targets, and MQL -> revenue by
source or campaign."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from leads.models import Source
from reports import formatting
from reports.selectors.marketing import BEHIND, MqlDelivery, Revenue
from reports.selectors.pipeline import add_months
from reports.tables.table import Cell, Column, DrillLinks, Row, Table


def targets_table(delivery: MqlDelivery, drill: DrillLinks | None) -> Table:
    """`drill`: links to the leads behind each count, for readers who see every lead (the
    counts are company-wide); None for the others."""
    table = Table(
        "mql_targets",
        _("MQLs delivered against the targets"),
        [
            Column("month", _("Month"), "text"),
            Column("source", _("Source"), "text"),
            Column("delivered", _("Delivered")),
            Column("target", _("Target")),
            Column("percent", _("Of target"), "percent"),
            Column("status", _("Reading"), "status"),
        ],
        caption=_(
            "Leads created in each calendar month the period touches (whole months, your "
            "time zone) that reached MQL, company-wide, against RevOps' targets. The running "
            "month is compared with the pace to its target."
        ),
        empty=_("No MQLs and no targets in these months."),
    )
    for row in delivery.rows:
        link = ""
        if drill is not None:
            # The month whole, company-wide: the count's own period and scope.
            last_day = add_months(row.month, 1) - datetime.timedelta(days=1)
            link = drill(
                "leads",
                cohort="created",
                measure="mql",
                g_source=row.source,
                start=row.month.isoformat(),
                end=last_day.isoformat(),
                period="custom",
                team="",
                owner="",
            )
        note = ""
        if row.status == BEHIND and row.pace is not None:
            note = _("%(pace)s expected by now") % {"pace": formatting.number(row.pace)}
        table.rows.append(
            Row(
                {
                    "month": Cell(row.month.strftime("%Y-%m"), label=formatting.month(row.month)),
                    "source": Cell(row.source, label=row.label),
                    "delivered": Cell(row.delivered, link),
                    "target": Cell(row.target),
                    "percent": Cell(row.percent),
                    "status": Cell(row.status, note=note),
                },
                status="below" if row.is_below else "",
            )
        )
    return table


def revenue_table(revenue: Revenue, drill: DrillLinks) -> Table:
    by = revenue.by
    label = _("Campaign") if by == "campaign" else _("Source")
    table = Table(
        f"revenue_by_{by}",
        _("MQL → revenue by %(dimension)s") % {"dimension": label.lower()},
        [
            Column(by, label, "text"),
            Column("mql", _("MQLs")),
            Column("converted", _("Opportunities")),
            Column("conversion_rate", _("MQL → opp."), "percent"),
            Column("won", _("Won")),
            Column("won_rate", _("MQL → won"), "percent"),
            Column("won_amount", _("Value won"), "money_list"),
        ],
        caption=_(
            "Leads created in the period: how many reached MQL, became opportunities and were "
            "won (at any time, also after the period), and the value won, per currency."
        ),
        empty=_("No leads were created in this period."),
    )
    for row in [*revenue.rows, revenue.total]:
        params = {f"g_{by}": row.param} if row.param is not None else {}
        table.rows.append(
            Row(
                {
                    by: Cell(row.key, label=row.label),
                    "mql": Cell(row.mql, _lead_link(drill, "mql", params)),
                    "converted": Cell(row.converted, _lead_link(drill, "converted", params)),
                    "conversion_rate": Cell(row.conversion_rate),
                    "won": Cell(row.won, _lead_link(drill, "won", params)),
                    "won_rate": Cell(row.won_rate),
                    "won_amount": Cell(row.won_amount.items()),
                },
                is_total=row is revenue.total,
            )
        )
    return table


def _lead_link(drill: DrillLinks, measure: str, params: dict[str, Any]) -> str:
    return drill("leads", cohort="created", measure=measure, **params)


@dataclass
class GridCell:
    delivered: int
    target: int | None
    percent: float | None
    status: str | None
    link: str
    note: str


@dataclass
class TargetsGrid:
    """The same figures as `targets_table`, laid out for the page: a row per month, a
    column per source (the table stays long for CSV and the API)."""

    sources: list[tuple[str, str]]
    rows: list[tuple[str, list[GridCell | None], int]]  # (month, cells, delivered in all)


def targets_grid(delivery: MqlDelivery, table: Table) -> TargetsGrid:
    """`table`: the `targets_table` of `delivery`, whose cells carry the links and notes."""
    labels = dict(Source.choices)
    shown = sorted({row.source for row in delivery.rows}, key=list(Source.values).index)
    by_key = {
        (row.month, row.source): (row, cells)
        for row, cells in zip(delivery.rows, table.rows, strict=True)
    }
    rows = []
    for month in delivery.months:
        cells: list[GridCell | None] = []
        total = 0
        for source in shown:
            found = by_key.get((month, source))
            if found is None:
                cells.append(None)
                continue
            row, table_row = found
            total += row.delivered
            cells.append(
                GridCell(
                    delivered=row.delivered,
                    target=row.target,
                    percent=row.percent,
                    status=row.status,
                    link=table_row.cells["delivered"].link,
                    note=table_row.cells["status"].note,
                )
            )
        rows.append((formatting.month(month), cells, total))
    return TargetsGrid(sources=[(s, str(labels.get(s, s))) for s in shown], rows=rows)
