"""KPIs per owner or team, as a table."""

from __future__ import annotations

from django.utils.translation import gettext as _

from reports.selectors.people import PersonKpis
from reports.tables.table import Cell, Column, DrillLinks, Row, Table


def people_table(people: list[PersonKpis], by: str, drill: DrillLinks) -> Table:
    label = _("Team") if by == "team" else _("Owner")
    table = Table(
        f"kpis_by_{by}",
        _("KPIs by %(dimension)s") % {"dimension": label.lower()},
        [
            Column("group", label, "text"),
            Column("leads", _("Leads")),
            Column("conversion_rate", _("Lead → opp."), "percent"),
            Column("average_score", _("Avg. lead score"), "float"),
            Column("open_count", _("Open deals")),
            Column("open_amount", _("Pipeline"), "money_list"),
            Column("weighted", _("Weighted"), "money_list"),
            Column("average_probability", _("Avg. probability"), "percent"),
            Column("won", _("Won")),
            Column("win_rate", _("Win rate"), "percent"),
            Column("average_won", _("Avg. deal won"), "money_list"),
        ],
        caption=_(
            "Leads: created in the period (owned, for SDRs). Deals: open now, and won or lost "
            "in the period (owned, for AEs)."
        ),
        empty=_("Nothing in this period."),
    )
    for person in people:
        g = {f"g_{by}": person.param}
        table.rows.append(
            Row(
                {
                    "group": Cell(person.label),
                    "leads": Cell(
                        person.leads, drill("leads", cohort="created", measure="leads", **g)
                    ),
                    "conversion_rate": Cell(
                        person.conversion_rate,
                        drill("leads", cohort="created", measure="converted", **g),
                    ),
                    "average_score": Cell(person.average_score),
                    "open_count": Cell(
                        person.open_count,
                        drill("opportunities", cohort="open", measure="open", **g),
                    ),
                    "open_amount": Cell(person.open_amount.items()),
                    "weighted": Cell(person.weighted.items()),
                    "average_probability": Cell(person.average_probability),
                    "won": Cell(
                        person.won, drill("opportunities", cohort="closed", measure="won", **g)
                    ),
                    "win_rate": Cell(person.win_rate),
                    "average_won": Cell(person.average_won()),
                }
            )
        )
    return table
