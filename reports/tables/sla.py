"""SLA compliance and response times, as tables."""

from __future__ import annotations

from django.utils.translation import gettext as _

from reports.selectors.tally import Tally
from reports.tables.table import (
    Cell,
    Column,
    DrillLinks,
    Row,
    Table,
    group_filter_params,
    without_columns,
)


def sla_table(result: Tally, by: str, drill: DrillLinks, label: str) -> Table:
    table = Table(
        f"sla_by_{by}",
        _("SLA compliance by %(dimension)s") % {"dimension": label.lower()},
        [
            Column("group", label, "text"),
            Column("timers", _("Clocks due")),
            Column("met", _("Met")),
            Column("breached", _("Breached")),
            Column("overdue", _("Overdue, running")),
            Column("running", _("On track")),
            Column("cancelled", _("Cancelled")),
            Column("rate", _("Compliance"), "percent"),
        ],
        caption=_(
            "SLA clocks due in the period. Compliance = met ÷ (met + breached + overdue); "
            "cancelled clocks (the lead left the flow in time) are not counted against it."
        ),
        empty=_("No SLA clocks fell due in this period."),
    )
    for group in [*result.rows, result.total]:
        params = group_filter_params(f"g_{by}", group)
        cells = {"group": Cell(group.label)}
        for name in ("timers", "met", "breached", "overdue", "running", "cancelled"):
            cells[name] = Cell(group[name], drill("timers", measure=name, **params))
        cells["rate"] = Cell(group["rate"], drill("timers", measure="met", **params))
        status = ""
        if group["rate"] is not None:
            status = "good" if group["rate"] >= 90 else ("warn" if group["rate"] >= 75 else "bad")
        table.rows.append(Row(cells, is_total=group.param is None, status=status))
    return table


def response_table(
    result: Tally, by: str | None, drill: DrillLinks, label: str, *, medians: bool = True
) -> Table:
    table = Table(
        f"response_times{'_by_' + by if by else ''}",
        _("Response times"),
        [
            Column("group", label, "text"),
            Column("assigned", _("Leads assigned")),
            Column("first_contacted", _("Contacted")),
            Column("first_contact_median", _("Median to first contact"), "duration"),
            Column("first_contact_average", _("Average to first contact"), "duration"),
            Column("accepted", _("Accepted")),
            Column("acceptance_median", _("Median to acceptance"), "duration"),
            Column("acceptance_average", _("Average to acceptance"), "duration"),
        ],
        caption=_("Leads assigned in the period: time from assignment (exact medians)."),
        empty=_("No leads were assigned in this period."),
    )
    groups = [*result.rows, result.total] if by else [result.total]
    for group in groups:
        params = group_filter_params(f"g_{by}", group) if by else {}

        def link(measure: str, params: dict = params) -> str:
            return drill("leads", cohort="assigned", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "group": Cell(group.label if by else _("All leads")),
                    "assigned": Cell(group["assigned"], link("leads")),
                    "first_contacted": Cell(group["first_contacted"], link("first_contacted")),
                    "first_contact_median": Cell(group["first_contact_median"]),
                    "first_contact_average": Cell(group["first_contact_average"]),
                    "accepted": Cell(group["accepted"], link("accepted")),
                    "acceptance_median": Cell(group["acceptance_median"]),
                    "acceptance_average": Cell(group["acceptance_average"]),
                },
                is_total=bool(by) and group.param is None,
            )
        )
    return table if medians else without_columns(table, "first_contact_median", "acceptance_median")
