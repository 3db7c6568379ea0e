"""Weekly lead-quality feedback for marketing, by source (DOMAIN.md: "weekly feedback on
lead quality by source").

What sales did with marketing's leads in the week: new leads, accepted, rejected (and
why), recycled to nurture, disqualified and converted - each counted by when it happened,
so a week's e-mail reports that week's decisions. Acceptance rate = accepted ÷ (accepted
+ rejected). One GROUP BY source, one GROUP BY (source, rejection reason).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from leads.models import Lead, Source
from reports.cohorts import ReportRequest, lead_filters
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
    """A week of sales' decisions on marketing's leads, by source, and why they rejected."""

    table: Table
    reasons: list[tuple[str, str, int]]  # (source label, reason, count)
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
    """The week's lead decisions by source (one GROUP BY) and the rejection reasons."""
    f = r.filters
    in_week = {
        name: Q(**{f"{column}__gte": f.start_at, f"{column}__lt": f.end_at})
        for name, column in EVENTS.items()
    }
    any_event = Q()
    for condition in in_week.values():
        any_event |= condition
    leads = lead_filters(Lead.objects.visible_to(r.user), f).filter(any_event)
    rows = {
        row["source"]: row
        for row in leads.order_by()
        .values("source")
        .annotate(
            **{name: Count("pk", filter=condition) for name, condition in in_week.items()},
            score=Avg("score", filter=in_week["new"]),
        )
    }
    reasons = list(
        leads.filter(in_week["rejected"])
        .order_by()
        .values("source", "rejection_reason__label")
        .annotate(n=Count("pk"))
        .order_by("source", "-n", "rejection_reason__label")
    )
    drill = DrillLinks(f)
    labels = dict(Source.choices)
    table = Table(
        "feedback",
        _("Lead quality by source"),
        [
            Column("source", _("Source"), "text"),
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
    sources = [f.source] if f.source else list(Source.values)

    def link(cohort: str, source: str) -> str:
        return drill("leads", cohort=cohort, measure="leads", g_source=source)

    for source in sources:
        row = rows.get(source, {})
        values = {name: row.get(name, 0) for name in EVENTS}
        for name in EVENTS:
            totals[name] += values[name]
        table.rows.append(
            Row(
                {
                    "source": Cell(source, label=str(labels.get(source, source))),
                    "new": Cell(
                        values["new"],
                        drill("leads", cohort="created", measure="leads", g_source=source),
                    ),
                    "score": Cell(row.get("score")),
                    "accepted": Cell(values["accepted"], link("accepted", source)),
                    "rejected": Cell(values["rejected"], link("rejected", source)),
                    "acceptance_rate": Cell(
                        percent_share(values["accepted"], values["accepted"] + values["rejected"])
                    ),
                    "nurtured": Cell(values["nurtured"], link("nurtured", source)),
                    "disqualified": Cell(values["disqualified"], link("disqualified", source)),
                    "converted": Cell(values["converted"], link("converted", source)),
                }
            )
        )
    totals["acceptance_rate"] = percent_share(
        totals["accepted"], totals["accepted"] + totals["rejected"]
    )
    table.rows.append(
        Row(
            {
                "source": Cell("all", label=_("All sources")),
                **{name: Cell(totals[name]) for name in EVENTS},
                "acceptance_rate": Cell(totals["acceptance_rate"]),
            },
            is_total=True,
        )
    )
    reason_rows = [
        (
            str(labels.get(item["source"], item["source"])),
            item["rejection_reason__label"] or _("No reason recorded"),
            item["n"],
        )
        for item in reasons
    ]
    return Feedback(table=table, reasons=reason_rows, start=f.start, end=f.end, totals=totals)
