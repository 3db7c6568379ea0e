"""The pipeline board's reads: which deals, the column totals, and the cards page by page.

A board that renders every card does not survive a real pipeline (264 KB of HTML and
1.5 s for a manager with the demo data). So a column shows its newest `per_column` cards
and loads the next ones on demand; the totals come from one aggregate query over every
deal, so they stay exact however few cards are shown.

The first cards of every column are one `UNION ALL` of per-stage `LIMIT` queries: each
walks the `opp_board_idx` index (stage, created_at, id) from the newest and stops after
`per_column` rows, so the cost is the cards shown, not the deals in the pipeline (a
window function ranking every visible deal would read them all).

A card reads only what it shows (`CARD_FIELDS`): the deal's own columns, its account's
name and its owner's name; the stage comes from the stages the view already holds, and
the card's links are built once per page (`_decorate`). Building full rows of four
models per card, and reversing three URLs for each, cost more than the queries did.

The totals read the `opp_board_totals_idx` covering index (owner, stage, currency,
approval, amount) without touching the deals' rows: `COUNT(*)` rather than a count of a
column the index does not hold.
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
from django.urls import reverse
from django.utils import dateformat, timezone

from crm.models import Team, User
from crm.money import format_money, format_totals
from crm.web.pagination import KeysetPage, encode_cursor, keyset_page
from opportunities.models import Opportunity, OpportunityQuerySet, Stage
from opportunities.templatetags.money import initials

CARD_ORDER = ("-created_at", "-id")
# What a card shows (templates/opportunities/_deal_card.html) and its keyset cursor needs.
CARD_FIELDS = (
    "id",
    "name",
    "version",
    "amount",
    "currency",
    "approval",
    "is_override",
    "expected_close_date",
    "stage_entered_at",
    "created_at",
    "stage",
    "account",
    "account__name",
    "owner",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


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


def board_queryset(
    user: User, filters: BoardFilters | None = None, *, stages: Sequence[Stage] | None = None
) -> OpportunityQuerySet:
    """The deals on `user`'s board: visible, in an active stage, narrowed by the filters.

    `stages`, the active stages when the caller has read them already, are matched by id:
    no join to the stage table in every statement (the first cards are eight of them)."""
    f = filters or BoardFilters()
    qs = Opportunity.objects.visible_to(user)
    if stages is None:
        qs = qs.filter(stage__is_active=True)
    else:
        qs = qs.filter(stage_id__in=[stage.pk for stage in stages])
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
        .annotate(count=Count("*"), total=Sum("amount"))
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
    return qs.select_related("account", "owner").only(*CARD_FIELDS).order_by(*CARD_ORDER)


def _decorate(cards: Iterable[Opportunity], stages: Sequence[Stage]) -> None:
    """Give each card its stage (from those the view holds, not one join per card), its
    links (one `reverse` per kind of link, the deal's id put in its place) and the texts
    it shows, formatted here once: the template then only places them. Formatting a date
    or an amount costs more than reading the card, and many cards share a close date."""
    by_id = {stage.pk: stage for stage in stages}
    marker = 2_147_483_647  # stands for the id in the URL pattern: replaced by each card's
    detail = reverse("opportunities:detail", args=[marker])
    move = reverse("opportunities:stage", args=[marker])
    now = timezone.now()
    dates: dict[datetime.date, str] = {}
    for card in cards:
        stage = by_id.get(card.stage_id)
        if stage is not None:
            card.stage = stage
        close = card.expected_close_date
        if close not in dates:
            dates[close] = dateformat.format(close, "j M Y")
        stale = card.is_stale(now)
        extra: Any = card  # the card's texts, read by templates/opportunities/_deal_card.html
        extra.detail_url = detail.replace(str(marker), str(card.pk))
        extra.move_url = move.replace(str(marker), str(card.pk))
        extra.amount_text = format_money(card.amount, card.currency, cents=False)
        extra.close_text = dates[close]
        extra.close_iso = close.isoformat()
        extra.owner_name = str(card.owner)
        extra.owner_initials = initials(card.owner)
        extra.stale = stale
        extra.flagged = stale or card.is_override or card.approval in _FLAGGED_APPROVALS


_FLAGGED_APPROVALS = frozenset({Opportunity.Approval.PENDING, Opportunity.Approval.REJECTED})


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
    _decorate(itertools.chain.from_iterable(by_stage.values()), stages)
    pages = {}
    for stage_id, cards in by_stage.items():
        cards.sort(key=lambda c: (c.created_at, c.pk), reverse=True)
        pages[stage_id] = _page(cards, per_column)
    return pages


def pending_cards(
    qs: OpportunityQuerySet, stages: Sequence[Stage], *, limit: int
) -> dict[int, list[Opportunity]]:
    """Deals waiting for a manager's approval, newest first, by stage: shown apart in their
    column (pending is not pipeline). Few by nature; `limit` bounds a backlog."""
    by_stage: dict[int, list[Opportunity]] = {}
    cards = list(_cards(qs.pending_approval())[:limit])
    _decorate(cards, stages)
    for card in cards:
        by_stage.setdefault(card.stage_id, []).append(card)
    return by_stage


def next_cards(
    qs: OpportunityQuerySet, stage: Stage, *, cursor: str | None, per_column: int
) -> KeysetPage:
    """The column's cards after `cursor`: what "Load more" appends."""
    page = keyset_page(
        _cards(qs.in_pipeline().filter(stage=stage)),
        fields=CARD_ORDER,
        cursor=cursor,
        size=per_column,
    )
    _decorate(page.rows, [stage])
    return page


def _page(cards: list[Opportunity], size: int) -> KeysetPage:
    """A first page built from rows already read (size + 1 of them tell if more exist)."""
    if len(cards) <= size:
        return KeysetPage(cards, None)
    shown = cards[:size]
    return KeysetPage(shown, encode_cursor([shown[-1].created_at, shown[-1].pk]))
