"""The pipeline board's reads: which deals, the column totals, and the cards page by page.

A board that renders every card does not survive a real pipeline (264 KB of HTML and
1.5 s for a manager with the demo data). So a column shows its newest `per_column` cards
and loads the next ones on demand; the totals come from one aggregate query over every
deal, so they stay exact however few cards are shown.

The first cards of every column are one `UNION ALL` of per-stage `LIMIT` queries: each
walks the `opp_board_idx` index (stage, created_at, id) from the newest and stops after
`per_column` rows, so the cost is the cards shown, not the deals in the pipeline (a
window function ranking every visible deal would read them all).
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Case, Count, Sum, Value, When

from crm.models import Team, User
from crm.money import format_totals
from crm.web.pagination import KeysetPage, encode_cursor, keyset_page
from opportunities.models import Opportunity, OpportunityQuerySet, Stage

CARD_ORDER = ("-created_at", "-id")


@dataclass(frozen=True)
class BoardFilters:
    """What narrows the board, shared with the deal list's filters of the same names."""

    owner: User | None = None
    team: Team | None = None
    currency: str = ""
    close_month: datetime.date | None = None  # the first day of the month

    def as_query(self) -> dict[str, str]:
        """The filters as the board's and the list's query string carry them."""
        query = {
            "owner": str(self.owner.pk) if self.owner else "",
            "team": str(self.team.pk) if self.team else "",
            "currency": self.currency,
            "close_month": self.close_month.strftime("%Y-%m") if self.close_month else "",
        }
        return {k: v for k, v in query.items() if v}


def board_queryset(user: User, filters: BoardFilters | None = None) -> OpportunityQuerySet:
    """The deals on `user`'s board: visible, in an active stage, narrowed by the filters."""
    f = filters or BoardFilters()
    qs = Opportunity.objects.visible_to(user).filter(stage__is_active=True)
    if f.owner is not None:
        qs = qs.filter(owner=f.owner)
    if f.team is not None:
        qs = qs.filter(owner__team=f.team)
    if f.currency:
        qs = qs.filter(currency=f.currency)
    if f.close_month is not None:
        start = f.close_month.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        qs = qs.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    return qs


def column_totals(qs: OpportunityQuerySet) -> dict[int, dict[str, Any]]:
    """Count and amount per stage, per currency (never summed across): one query.

    Pending is not pipeline (DOMAIN.md): `count`, `totals` and `label` hold the deals that
    count; `pending_count`, `pending_totals` and `pending_label` those waiting for a
    manager's approval, shown apart."""
    columns: dict[int, dict[str, Any]] = {}
    is_pending = Case(
        When(approval=Opportunity.Approval.PENDING, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    rows = (
        qs.order_by()
        .annotate(is_pending=is_pending)
        .values("stage", "currency", "is_pending")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("stage", "currency")
    )
    for row in rows:
        column = columns.setdefault(
            row["stage"], {"count": 0, "totals": [], "pending_count": 0, "pending_totals": []}
        )
        side = "pending_" if row["is_pending"] else ""
        column[f"{side}count"] += row["count"]
        column[f"{side}totals"].append((row["currency"], row["total"]))
    for column in columns.values():
        column["label"] = format_totals(column["totals"])
        column["pending_label"] = format_totals(column["pending_totals"])
    return columns


def pending_summary(columns: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """The board's "pending approval" line: how many deals wait, and their amounts per
    currency, from the column totals already read (no query)."""
    by_currency: dict[str, Decimal] = {}
    for column in columns.values():
        for currency, total in column.get("pending_totals", []):
            by_currency[currency] = by_currency.get(currency, Decimal(0)) + (total or 0)
    return {
        "count": sum(column.get("pending_count", 0) for column in columns.values()),
        "label": format_totals(sorted(by_currency.items())),
    }


def _cards(qs: OpportunityQuerySet) -> OpportunityQuerySet:
    return qs.select_related("account", "owner", "stage").order_by(*CARD_ORDER)


def first_cards(
    qs: OpportunityQuerySet, stages: Sequence[Stage], *, per_column: int
) -> dict[int, KeysetPage]:
    """The newest `per_column` pipeline cards of every stage, and each column's cursor to
    the next ones, in one query (a `UNION ALL` of per-stage index walks). Deals pending
    approval are not among them: `pending_cards` reads those."""
    if not stages:
        return {}
    qs = qs.in_pipeline()
    parts = [_cards(qs.filter(stage=stage))[: per_column + 1] for stage in stages]
    by_stage: dict[int, list[Opportunity]] = {stage.pk: [] for stage in stages}
    if connections[qs.db].features.supports_slicing_ordering_in_compound:
        rows: Iterable[Opportunity] = (
            parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        )
    else:  # SQLite cannot LIMIT inside a UNION: one query per column there
        rows = itertools.chain.from_iterable(parts)
    for card in rows:
        by_stage[card.stage_id].append(card)
    pages = {}
    for stage_id, cards in by_stage.items():
        cards.sort(key=lambda c: (c.created_at, c.pk), reverse=True)
        pages[stage_id] = _page(cards, per_column)
    return pages


def pending_cards(qs: OpportunityQuerySet, *, limit: int) -> dict[int, list[Opportunity]]:
    """Deals waiting for a manager's approval, newest first, by stage: shown apart in their
    column (pending is not pipeline). Few by nature; `limit` bounds a backlog."""
    by_stage: dict[int, list[Opportunity]] = {}
    for card in _cards(qs.pending_approval())[:limit]:
        by_stage.setdefault(card.stage_id, []).append(card)
    return by_stage


def next_cards(
    qs: OpportunityQuerySet, stage: Stage, *, cursor: str | None, per_column: int
) -> KeysetPage:
    """The column's cards after `cursor`: what "Load more" appends."""
    return keyset_page(
        _cards(qs.in_pipeline().filter(stage=stage)),
        fields=CARD_ORDER,
        cursor=cursor,
        size=per_column,
    )


def _page(cards: list[Opportunity], size: int) -> KeysetPage:
    """A first page built from rows already read (size + 1 of them tell if more exist)."""
    if len(cards) <= size:
        return KeysetPage(cards, None)
    shown = cards[:size]
    return KeysetPage(shown, encode_cursor([shown[-1].created_at, shown[-1].pk]))
