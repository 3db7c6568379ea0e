"""The pipeline: open deals by stage, the forecast, aging, stage reach, time in stage and
velocity, as tables."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from reports import formatting
from reports.cohorts import AGE_BUCKETS
from reports.selectors.pipeline import ForecastRow, Pipeline
from reports.tables.table import Cell, Column, DrillLinks, Row, Table, without_columns


def stages_table(p: Pipeline, drill: DrillLinks) -> Table:
    table = Table(
        "stages",
        _("Open pipeline by stage"),
        [
            Column("stage", _("Stage"), "text"),
            Column("count", _("Open deals")),
            Column("amount", _("Amount"), "money_list"),
            Column("weighted", _("Weighted"), "money_list"),
            Column("average_age", _("Average time in stage"), "duration"),
            Column("stale", _("Stale")),
            Column("stalled_early", _("Stalled early")),
        ],
        caption=_(
            "Deals open now (the period does not apply). Weighted = amount × probability. "
            "Stale: older in the stage than its rot age."
        ),
        empty=_("No open deals."),
    )
    amount_total: dict[str, Any] = {}
    weighted_total: dict[str, Any] = {}
    for row in p.stages:
        link = drill("opportunities", cohort="open", measure="open", g_stage=row.stage.pk)
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.stage.name),
                    "count": Cell(row.count, link),
                    "amount": Cell(row.amount.items(), link),
                    "weighted": Cell(row.weighted.items(), link),
                    "average_age": Cell(row.average_age_seconds),
                    "stale": Cell(
                        row.stale,
                        drill(
                            "opportunities", cohort="open", measure="stale", g_stage=row.stage.pk
                        ),
                    ),
                    "stalled_early": Cell(
                        row.stalled_early,
                        drill(
                            "opportunities",
                            cohort="open",
                            measure="stalled_early",
                            g_stage=row.stage.pk,
                        ),
                    ),
                }
            )
        )
        for currency, amount in row.amount.items():
            amount_total[currency] = amount_total.get(currency, 0) + amount
        for currency, amount in row.weighted.items():
            weighted_total[currency] = weighted_total.get(currency, 0) + amount
    table.rows.append(
        Row(
            {
                "stage": Cell(_("Total")),
                "count": Cell(p.open_count, drill("opportunities", cohort="open", measure="open")),
                "amount": Cell(sorted(amount_total.items(), key=lambda kv: -kv[1])),
                "weighted": Cell(sorted(weighted_total.items(), key=lambda kv: -kv[1])),
                "stale": Cell(p.stale, drill("opportunities", cohort="open", measure="stale")),
                "stalled_early": Cell(
                    p.stalled_early,
                    drill("opportunities", cohort="open", measure="stalled_early"),
                ),
            },
            is_total=True,
        )
    )
    return table


def forecast_table(p: Pipeline, drill: DrillLinks) -> Table:
    table = Table(
        "forecast",
        _("Weighted forecast by expected close month"),
        [
            Column("month", _("Expected close"), "text"),
            Column("count", _("Open deals")),
            Column("weighted", _("Weighted"), "money_list"),
            Column("amount", _("Amount"), "money_list"),
        ],
        caption=_(
            "Open deals by the month they are expected to close, past dates first; "
            "weighted = amount × probability, per currency."
        ),
        empty=_("No open deals."),
    )
    months: dict[str, dict[str, Any]] = {}
    for row in p.forecast:
        month = months.setdefault(
            row.key, {"count": 0, "amount": [], "weighted": [], "label": _month_label(row)}
        )
        month["count"] += row.count
        month["amount"].append((row.currency, row.amount))
        month["weighted"].append((row.currency, row.weighted))
    for key, values in months.items():
        link = drill("opportunities", cohort="open", measure="open", g_month=key)
        table.rows.append(
            Row(
                {
                    "month": Cell(key, label=values["label"]),
                    "count": Cell(values["count"], link),
                    "weighted": Cell(sorted(values["weighted"], key=lambda kv: -kv[1])),
                    "amount": Cell(sorted(values["amount"], key=lambda kv: -kv[1])),
                },
                status="past" if key == "past" else "",
            )
        )
    return table


def _month_label(row: ForecastRow) -> str:
    if row.later:
        return _("%(month)s and later") % {"month": formatting.month(row.month)}
    return formatting.month(row.month)


def aging_table(p: Pipeline, drill: DrillLinks) -> Table:
    columns = [Column("stage", _("Stage"), "text")]
    columns += [Column(key, str(label)) for key, label, _lo, _hi in AGE_BUCKETS]
    columns += [Column("stale", _("Stale")), Column("stalled_early", _("Stalled early"))]
    table = Table(
        "aging",
        _("Aging: days in the current stage"),
        columns,
        caption=_("Open deals by how long they have been in their current stage."),
        empty=_("No open deals."),
    )
    for row in p.stages:
        cells = {"stage": Cell(row.stage.name)}
        for key, _label, _lo, _hi in AGE_BUCKETS:
            cells[key] = Cell(
                row.buckets.get(key, 0),
                drill(
                    "opportunities", cohort="open", measure="open", g_stage=row.stage.pk, g_age=key
                ),
            )
        cells["stale"] = Cell(
            row.stale,
            drill("opportunities", cohort="open", measure="stale", g_stage=row.stage.pk),
        )
        cells["stalled_early"] = Cell(
            row.stalled_early,
            drill("opportunities", cohort="open", measure="stalled_early", g_stage=row.stage.pk),
        )
        table.rows.append(Row(cells))
    return table


def reach_table(p: Pipeline, drill: DrillLinks) -> Table:
    table = Table(
        "stage_conversion",
        _("Stage-to-stage conversion"),
        [
            Column("stage", _("Stage"), "text"),
            Column("reached", _("Reached")),
            Column("to_next", _("Went on to the next"), "percent"),
        ],
        caption=_(
            "Deals created in the period, by the furthest stage they entered (closed lost "
            "does not count as progress)."
        ),
    )
    for row in p.reach:
        reached = "won" if row.stage is None else str(row.stage.position)
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.label),
                    "reached": Cell(
                        row.reached,
                        drill(
                            "opportunities",
                            cohort="created",
                            measure="opportunities",
                            reached=reached,
                        ),
                    ),
                    "to_next": Cell(row.to_next),
                }
            )
        )
    return table


def time_in_stage_table(p: Pipeline, drill: DrillLinks, *, medians: bool = True) -> Table:
    table = Table(
        "time_in_stage",
        _("Time in stage"),
        [
            Column("stage", _("Stage"), "text"),
            Column("moves", _("Moves out")),
            Column("average", _("Average stay"), "duration"),
            Column("median", _("Median stay"), "duration"),
            Column("open_now", _("In it now")),
            Column("open_age", _("Their average age"), "duration"),
        ],
        caption=_(
            "How long deals stayed in a stage before moving on in the period, beside the "
            "deals sitting in it now: where deals stall."
        ),
    )
    for row in p.times:
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.stage.name),
                    "moves": Cell(
                        row.moves,
                        drill("moves", g_from_stage=row.stage.pk),
                    ),
                    "average": Cell(row.average_seconds),
                    "median": Cell(row.median_seconds),
                    "open_now": Cell(
                        row.open_now,
                        drill("opportunities", cohort="open", measure="open", g_stage=row.stage.pk),
                    ),
                    "open_age": Cell(row.open_average_age_seconds),
                }
            )
        )
    return table if medians else without_columns(table, "median")


def velocity_table(p: Pipeline, drill: DrillLinks) -> Table:
    table = Table(
        "velocity",
        _("Deal size, win rate and velocity"),
        [
            Column("currency", _("Currency"), "text"),
            Column("open_count", _("Open deals")),
            Column("open_amount", _("Open amount"), "money"),
            Column("created_count", _("Created")),
            Column("average_created", _("Average deal created"), "money"),
            Column("won", _("Won")),
            Column("lost", _("Lost")),
            Column("win_rate", _("Win rate"), "percent"),
            Column("average_won", _("Average deal won"), "money"),
            Column("cycle_days", _("Sales cycle (days)"), "float"),
            Column("velocity", _("Velocity per day"), "money"),
        ],
        caption=_(
            "Won, lost and sales cycle: deals closed in the period. Velocity = open deals × "
            "average won deal × win rate ÷ sales cycle."
        ),
        empty=_("No deals."),
    )
    for flow in p.currencies:
        c = flow.currency

        def money(value: Any, currency: str = c) -> tuple | None:
            return None if value is None else (value, currency)

        table.rows.append(
            Row(
                {
                    "currency": Cell(c),
                    "open_count": Cell(
                        flow.open_count,
                        drill("opportunities", cohort="open", measure="open", g_currency=c),
                    ),
                    "open_amount": Cell(money(flow.open_amount)),
                    "created_count": Cell(
                        flow.created_count,
                        drill(
                            "opportunities", cohort="created", measure="opportunities", g_currency=c
                        ),
                    ),
                    "average_created": Cell(money(flow.average_created)),
                    "won": Cell(
                        flow.won,
                        drill("opportunities", cohort="closed", measure="won", g_currency=c),
                    ),
                    "lost": Cell(
                        flow.lost,
                        drill("opportunities", cohort="closed", measure="lost", g_currency=c),
                    ),
                    "win_rate": Cell(flow.win_rate),
                    "average_won": Cell(money(flow.average_won)),
                    "cycle_days": Cell(flow.cycle_days),
                    "velocity": Cell(money(flow.velocity_per_day)),
                }
            )
        )
    return table


def pending_table(p: Pipeline, drill: DrillLinks) -> Table:
    """Deals waiting for a manager's approval: shown apart, in no pipeline figure."""
    table = Table(
        "pending_approval",
        _("Waiting for approval (not in the pipeline)"),
        [
            Column("currency", _("Currency"), "text"),
            Column("count", _("Deals")),
            Column("amount", _("Amount"), "money"),
        ],
        caption=_(
            "Open deals above the approval threshold that a manager has not approved yet. "
            "They count in no pipeline total, forecast or velocity until approved."
        ),
        empty=_("No deal is waiting for approval."),
    )
    pending = p.pending
    for currency, amount in pending.amount.items():
        table.rows.append(
            Row(
                {
                    "currency": Cell(currency),
                    "count": Cell(
                        pending.by_currency.get(currency, 0),
                        drill("opportunities", cohort="pending", measure="opportunities",
                              g_currency=currency),
                    ),
                    "amount": Cell((amount, currency)),
                }
            )
        )  # fmt: skip
    if len(table.rows) > 1:
        table.rows.append(
            Row(
                {
                    "currency": Cell(_("Total")),
                    "count": Cell(
                        pending.count,
                        drill("opportunities", cohort="pending", measure="opportunities"),
                    ),
                },
                is_total=True,
            )
        )
    return table
