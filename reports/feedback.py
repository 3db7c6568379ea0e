"""Weekly lead-quality feedback for marketing, by source (DOMAIN.md: "weekly feedback on
lead quality by source"), or by campaign on the page.

What sales did with marketing's leads in the week: new leads, accepted, rejected (and
why), recycled to nurture, disqualified and converted - each counted by when it happened,
so a week's e-mail reports that week's decisions. Acceptance rate = accepted ÷ (accepted
+ rejected). One GROUP BY source (or campaign), one GROUP BY (it, rejection reason).
Leads merged into another are left out (`reports.cohorts.lead_rows`): a merge is no
decision of sales, and the survivor counts for the person.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from leads.models import Source
from reports.cohorts import ReportRequest, leads_visible
from reports.dimensions import dimension
from reports.filters import ReportFilters
from reports.selectors.tally import percent_share
from reports.tables.table import Cell, Column, DrillLinks, Row, Table

EVENTS = {
    "new": "created_at",
    "accepted": "accepted_at",
    "rejected": "rejected_at",
    "nurtured": "nurtured_at",
    "disqualified": "disqualified_at",
    "converted": "converted_at",
}


@dataclass
class Feedback:
    """A week of sales' decisions on marketing's leads, by source or campaign, and why
    they rejected."""

    table: Table
    reasons: list[tuple[str, str, int]]  # (source or campaign label, reason, count)
    start: datetime.date
    end: datetime.date
    totals: dict[str, Any]


def last_week_request(user: User, tz: datetime.tzinfo, *, now: datetime.datetime) -> ReportRequest:
    """Monday to Sunday of the last full week in `tz`."""
    today = timezone.localdate(now, tz)
    monday = today - datetime.timedelta(days=today.weekday() + 7)
    filters = ReportFilters(start=monday, end=monday + datetime.timedelta(days=6), tz=tz)
    return ReportRequest(user=user, filters=filters, now=now)


def feedback_by_source(r: ReportRequest) -> Feedback:
    """The week's lead decisions by source (the Monday e-mail's content)."""
    return feedback_by(r, "source")


def feedback_by(r: ReportRequest, by: str = "source") -> Feedback:
    """The week's lead decisions by source or campaign (one GROUP BY) and the rejection
    reasons (one GROUP BY). By source every source has a row; by campaign, those with
    activity, "No campaign" included."""
    dim = dimension(by, "leads")
    f = r.filters
    in_week = {
        name: Q(**{f"{column}__gte": f.start_at, f"{column}__lt": f.end_at})
        for name, column in EVENTS.items()
    }
    any_event = Q()
    for condition in in_week.values():
        any_event |= condition
    leads = leads_visible(r).filter(any_event)
    rows = {
        row[dim.column]: row
        for row in leads.order_by()
        .values(dim.column)
        .annotate(
            **{name: Count("pk", filter=condition) for name, condition in in_week.items()},
            score=Avg("score", filter=in_week["new"]),
        )
    }
    reasons = list(
        leads.filter(in_week["rejected"])
        .order_by()
        .values(dim.column, "rejection_reason__label")
        .annotate(n=Count("pk"))
        .order_by(dim.column, "-n", "rejection_reason__label")
    )
    drill = DrillLinks(f)
    if by == "source":
        keys = [f.source] if f.source else list(Source.values)
    else:
        keys = sorted(rows, key=lambda k: (-rows[k]["new"], -sum(rows[k][n] for n in EVENTS), k))
    labels = dim.labels({*keys, *(item[dim.column] for item in reasons)})
    by_label = str(dim.label)
    table = Table(
        "feedback" if by == "source" else f"feedback_by_{by}",
        _("Lead quality by %(dimension)s") % {"dimension": by_label.lower()},
        [
            Column(by, by_label, "text"),
            Column("new", _("New leads")),
            Column("score", _("Avg. score"), "float"),
            Column("accepted", _("Accepted")),
            Column("rejected", _("Rejected")),
            Column("acceptance_rate", _("Acceptance rate"), "percent"),
            Column("nurtured", _("To nurture")),
            Column("disqualified", _("Disqualified")),
            Column("converted", _("Converted")),
        ],
        caption=_(
            "What happened to marketing's leads in the week, counted by when it happened. "
            "Acceptance rate = accepted ÷ (accepted + rejected)."
        ),
        empty=_("No lead activity this week."),
    )
    totals: dict[str, Any] = dict.fromkeys(EVENTS, 0)

    def link(cohort: str, key: Any) -> str:
        return drill("leads", cohort=cohort, measure="leads", **{f"g_{by}": dim.param(key)})

    for key in keys:
        row = rows.get(key, {})
        values = {name: row.get(name, 0) for name in EVENTS}
        for name in EVENTS:
            totals[name] += values[name]
        table.rows.append(
            Row(
                {
                    by: Cell(key, label=labels.get(key, str(key))),
                    "new": Cell(values["new"], link("created", key)),
                    "score": Cell(row.get("score")),
                    "accepted": Cell(values["accepted"], link("accepted", key)),
                    "rejected": Cell(values["rejected"], link("rejected", key)),
                    "acceptance_rate": Cell(
                        percent_share(values["accepted"], values["accepted"] + values["rejected"])
                    ),
                    "nurtured": Cell(values["nurtured"], link("nurtured", key)),
                    "disqualified": Cell(values["disqualified"], link("disqualified", key)),
                    "converted": Cell(values["converted"], link("converted", key)),
                }
            )
        )
    totals["acceptance_rate"] = percent_share(
        totals["accepted"], totals["accepted"] + totals["rejected"]
    )
    everything = _("All sources") if by == "source" else _("All campaigns")
    table.rows.append(
        Row(
            {
                by: Cell("all", label=everything),
                **{name: Cell(totals[name]) for name in EVENTS},
                "acceptance_rate": Cell(totals["acceptance_rate"]),
            },
            is_total=True,
        )
    )
    reason_rows = [
        (
            labels.get(item[dim.column], str(item[dim.column])),
            item["rejection_reason__label"] or _("No reason recorded"),
            item["n"],
        )
        for item in reasons
    ]
    return Feedback(table=table, reasons=reason_rows, start=f.start, end=f.end, totals=totals)
