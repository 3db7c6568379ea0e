"""Conversion quality: premature and delayed conversion, overrides, the pipeline-to-won
ratio and the hand-off, as tables."""

from __future__ import annotations

from django.utils.translation import gettext as _

from reports import formatting
from reports.selectors.quality import Quality
from reports.selectors.tally import Tally, percent_share
from reports.tables.table import (
    Cell,
    Column,
    DrillLinks,
    Row,
    Table,
    group_filter_params,
    without_columns,
)
from sla.models import SlaPolicy


def premature_table(quality: Quality, drill: DrillLinks) -> Table:
    table = Table(
        "premature",
        _("Premature conversion"),
        [
            Column("source", _("Source"), "text"),
            Column("opportunities", _("Opportunities")),
            Column("lost_early", _("Died early")),
            Column("stalled_early", _("Stalled early")),
            Column("premature", _("Premature")),
            Column("premature_rate", _("Premature share"), "percent"),
            Column("lost", _("Closed lost (any stage)")),
            Column("override", _("By override")),
            Column("override_rate", _("Override share"), "percent"),
            Column("decision_maker_rate", _("With a decision maker"), "percent"),
        ],
        caption=_(
            "Opportunities created in the period. Died early: closed lost straight from an "
            "early stage. Stalled early: still in an early stage after %(days)s days."
        )
        % {"days": quality.stall_age_days},
        empty=_("No opportunities were created in this period."),
    )
    for group in [*quality.premature.rows, quality.premature.total]:
        params = group_filter_params("g_source", group)

        def link(measure: str, params: dict = params) -> str:
            return drill("opportunities", cohort="created", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "source": Cell(group.label),
                    "opportunities": Cell(group["opportunities"], link("opportunities")),
                    "lost_early": Cell(group["lost_early"], link("lost_early")),
                    "stalled_early": Cell(group["stalled_early"], link("stalled_early")),
                    "premature": Cell(group["premature"], link("premature")),
                    "premature_rate": Cell(group["premature_rate"], link("premature")),
                    "lost": Cell(group["lost"], link("lost")),
                    "override": Cell(group["override"], link("override")),
                    "override_rate": Cell(group["override_rate"], link("override")),
                    "decision_maker_rate": Cell(
                        group["decision_maker_rate"], link("decision_maker")
                    ),
                },
                is_total=group.param is None,
            )
        )
    return table


def pipeline_to_won_table(quality: Quality, drill: DrillLinks) -> Table:
    p = quality.pipeline_to_won
    table = Table(
        "pipeline_to_won",
        _("Pipeline-to-won ratio"),
        [
            Column("currency", _("Currency"), "text"),
            Column("created_count", _("Deals created")),
            Column("created_amount", _("Pipeline created"), "money"),
            Column("won_count", _("Deals won")),
            Column("won_amount", _("Value won"), "money"),
            Column("ratio", _("Ratio"), "ratio"),
            Column(
                "status", _("Against %(low)s–%(high)s×") % {"low": p.low, "high": p.high}, "status"
            ),
        ],
        caption=_(
            "Value of the pipeline created in the period ÷ value closed won in the period, "
            "per currency. Healthy: %(low)s–%(high)s×; above it the pipeline is inflated."
        )
        % {"low": formatting.number(p.low, 1), "high": formatting.number(p.high, 1)},
        empty=_("No deals were created or won in this period."),
    )
    for row in p.rows:
        created = drill(
            "opportunities", cohort="created", measure="opportunities", g_currency=row.currency
        )
        won = drill("opportunities", cohort="closed", measure="won", g_currency=row.currency)
        table.rows.append(
            Row(
                {
                    "currency": Cell(row.currency),
                    "created_count": Cell(row.created_count, created),
                    "created_amount": Cell((row.created_amount, row.currency), created),
                    "won_count": Cell(row.won_count, won),
                    "won_amount": Cell((row.won_amount, row.currency), won),
                    "ratio": Cell(row.ratio),
                    "status": Cell(row.status),
                },
                status=row.status or "",
            )
        )
    return table


def delayed_table(
    quality: Quality,
    drill: DrillLinks,
    policies: list[SlaPolicy],
    sla: Tally | None,
    *,
    medians: bool = True,
) -> Table:
    table = Table(
        "delayed",
        _("Delayed conversion"),
        [
            Column("figure", _("Figure"), "text"),
            Column("count", _("Count")),
            Column("share", _("Share"), "percent"),
            Column("time", _("Median time"), "duration"),
            Column("target", _("Target"), "text"),
        ],
        caption=_(
            "Leads created in the period that chose a competitor before converting, and the "
            "time from SQL to conversion against the SLA for converting."
        ),
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Lost to a competitor before conversion")),
                "count": Cell(
                    quality.lost_to_competitor,
                    drill("leads", cohort="created", measure="lost_to_competitor"),
                ),
                "share": Cell(quality.lost_to_competitor_rate),
            }
        )
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Converted; median time from SQL") if medians else _("Converted")),
                "count": Cell(
                    quality.converted, drill("leads", cohort="created", measure="converted")
                ),
                "share": Cell(percent_share(quality.converted, quality.leads)),
                "time": Cell(quality.sql_to_opportunity_median),
            }
        )
    )
    by_policy = {g.key: g for g in sla.rows} if sla else {}
    for policy in policies:
        group = by_policy.get(policy.pk)
        target = f"{policy.target_value} {policy.get_target_unit_display()}"
        met = group["met"] if group else 0
        table.rows.append(
            Row(
                {
                    "figure": Cell(_("%(policy)s: met") % {"policy": policy.name}),
                    "count": Cell(
                        met,
                        drill("timers", measure="met", g_policy=policy.pk),
                    ),
                    "share": Cell(group["rate"] if group else None),
                    "target": Cell(target),
                }
            )
        )
        table.rows.append(
            Row(
                {
                    "figure": Cell(_("%(policy)s: missed") % {"policy": policy.name}),
                    "count": Cell(
                        group["missed"] if group else 0,
                        drill("timers", measure="missed", g_policy=policy.pk),
                    ),
                    "target": Cell(target),
                }
            )
        )
    return table if medians else without_columns(table, "time")


def overrides_table(quality: Quality, drill: DrillLinks) -> Table:
    total = quality.premature.total
    requests = quality.requests
    table = Table(
        "overrides",
        _("Overrides"),
        [Column("figure", _("Figure"), "text"), Column("count", _("Count"))],
        caption=_(
            "Opportunities created in the period with a criterion unmet (manager-approved), "
            "and the override requests made in the period."
        ),
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Opportunities converted by override")),
                "count": Cell(
                    total["override"],
                    drill("opportunities", cohort="created", measure="override"),
                ),
            }
        )
    )
    labels = {
        "requested": _("Override requests"),
        "pending": _("… waiting for a manager"),
        "approved": _("… approved"),
        "declined": _("… declined"),
    }
    for key, label in labels.items():
        table.rows.append(
            Row(
                {
                    "figure": Cell(label),
                    "count": Cell(
                        requests.get(key, 0),
                        drill("requests", state=None if key == "requested" else key),
                    ),
                }
            )
        )
    return table


def handoff_table(quality: Quality, drill: DrillLinks, by: str = "sdr") -> Table:
    label = _("SDR") if by == "sdr" else _("Account executive")
    table = Table(
        "handoffs",
        _("Hand-off quality"),
        [
            Column("group", label, "text"),
            Column("handoffs", _("Hand-offs")),
            Column("rated", _("Rated by the AE")),
            Column("average_rating", _("Average rating (1–5)"), "float"),
            Column("low_rating", _("Rated 1–2")),
            Column("repeated", _("AE repeated discovery")),
            Column("repeated_rate", _("Repeat share"), "percent"),
        ],
        caption=_(
            "Hand-offs made in the period. Repeat share: of the AEs who answered, how many "
            "had to ask the discovery questions again."
        ),
        empty=_("No hand-offs in this period."),
    )
    for group in [*quality.handoffs.rows, quality.handoffs.total]:
        params = group_filter_params(f"g_{by}", group)

        def link(measure: str, params: dict = params) -> str:
            return drill("handoffs", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "group": Cell(group.label),
                    "handoffs": Cell(group["handoffs"], link("handoffs")),
                    "rated": Cell(group["rated"], link("rated")),
                    "average_rating": Cell(group["average_rating"], link("rated")),
                    "low_rating": Cell(group["low_rating"], link("low_rating")),
                    "repeated": Cell(group["repeated"], link("repeated")),
                    "repeated_rate": Cell(group["repeated_rate"], link("repeated")),
                },
                is_total=group.param is None,
            )
        )
    return table
