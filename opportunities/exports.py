"""The deal list as a CSV file (the list's Export CSV and `GET /api/v1/opportunities/export/`).

The caller hands over the deals already scoped to the reader, filtered and ordered as
their list shows them; this reads them as tuples (`values_list`) a chunk at a time and
shapes each as a row, so an export holds one chunk in memory and builds no model
instance. Amounts are plain numbers in their currency's minor units next to the ISO
code (never summed across currencies); `crm.csv_safe` writes the file.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.csv_safe import amount_cell, instant_cell, person_cell
from leads.models import Source
from opportunities.models import Opportunity, field_label

EXPORT_CHUNK = 2000  # rows fetched per round trip while a CSV streams

# (header, the columns read); each row is shaped by `_row` in the same order.
_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("id", ("pk",)),
    ("name", ("name",)),
    ("account", ("account__name",)),
    ("stage", ("stage__name",)),
    ("amount", ("amount", "currency")),
    ("currency", ()),
    ("probability", ("probability",)),
    ("expected_close_date", ("expected_close_date",)),
    ("owner", ("owner__first_name", "owner__last_name", "owner__username")),
    ("next_step", ("next_step",)),
    ("next_step_due", ("next_step_due",)),
    ("source", ("source",)),
    ("campaign", ("campaign",)),
    ("product_line", ("product_line",)),
    ("approval", ("approval",)),
    ("is_override", ("is_override",)),
    ("lost_to_competitor", ("lost_to_competitor",)),
    ("lead", ("lead_id",)),
    ("created_at", ("created_at",)),
    ("stage_entered_at", ("stage_entered_at",)),
    ("closed_at", ("closed_at",)),
)
EXPORT_FIELDS = tuple(column for _name, columns in _COLUMNS for column in columns)


def opportunity_export_header() -> list[str]:
    """The export's column names, in the reader's language."""
    names = {
        "id": "ID",
        "account": str(_("Account")),
        "stage": str(_("Stage")),
        "amount": str(_("Amount")),
        "owner": str(_("Owner")),
        "lead": str(_("Lead ID")),
        "approval": str(_("Approval")),
        "created_at": str(_("Created")),
        "stage_entered_at": str(_("In stage since")),
        "closed_at": str(_("Closed")),
    }
    return [names.get(name) or field_label(Opportunity, name) for name, _columns in _COLUMNS]


def opportunity_export_rows(
    deals: QuerySet[Opportunity], *, zone: datetime.tzinfo
) -> Iterator[list[Any]]:
    """Every deal of `deals` as a CSV row: choices as their labels, the owner by name,
    amounts with their currency, dates as ISO dates and instants in `zone` with offset,
    a yes-or-no as "Yes" / "No" in the reader's language."""
    sources = {str(code): str(label) for code, label in Source.choices}
    approvals = {code: str(label) for code, label in Opportunity.Approval.choices}
    yes, no = str(_("Yes")), str(_("No"))  # a spreadsheet reader's words, not Python's
    for v in deals.values_list(*EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK):
        (pk, name, account, stage, amount, currency, probability, close_date) = v[:8]
        (first, last, username, next_step, next_step_due, source, campaign) = v[8:15]
        (product_line, approval, is_override, lost_to, lead_id) = v[15:20]
        (created_at, entered_at, closed_at) = v[20:]
        yield [
            pk,
            name,
            account,
            stage,
            amount_cell(amount, currency),
            currency,
            probability,
            close_date.isoformat(),
            person_cell(first, last, username),
            next_step,
            next_step_due.isoformat(),
            sources.get(source, source),
            campaign,
            product_line,
            approvals.get(approval, approval),
            yes if is_override else no,
            lost_to,
            lead_id or "",
            instant_cell(created_at, zone),
            instant_cell(entered_at, zone),
            instant_cell(closed_at, zone),
        ]
