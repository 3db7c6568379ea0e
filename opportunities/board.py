"""The pipeline board's reads: which deals, the column totals, and the cards page by page.

A board that renders every card does not survive a real pipeline (264 KB of HTML and
1.5 s for a manager with the demo data). So a column shows its newest `per_column` cards
and loads the next ones on demand; the totals come from one aggregate query that counts
every deal, so they stay exact however few cards are shown.

The first cards of every column, and the deals pending approval, are one statement on
PostgreSQL: for each stage a `LATERAL` walk of the `opp_board_idx` index (stage,
created_at, id) from the newest, stopping after `per_column` rows, so the cost is the cards
shown, not the deals in the pipeline (a window function ranking every visible deal would
read them all). One subquery planned once, where a `UNION ALL` of a part per stage cost
more to plan (20 ms at a million leads) than to run. A manager's people are read first and
passed as ids (`visible_owner_ids`) for the same reason.

A card reads only what it shows (`CARD_FIELDS`, `CARD_NAMES`): the deal's own columns and
its account's and owner's names, one model instance per card; the stage comes from the
stages the view already holds, and the card's links and texts are made once per page
(`_decorate`). Building full rows of three models per card, and reversing three URLs for
each, cost more than the queries did.

The totals add up the sums PostgreSQL keeps per owner, stage, currency, approval and
close month (`opportunities_board_total`, kept by triggers: migration 0009), a few hundred
rows, where summing every deal a manager sees (107,000 at a million leads) cost 30 to
150 ms even from the `opp_board_totals_idx` covering index. Elsewhere (SQLite), and for
an SDR, whose board is not decided by owner, they sum the deals from that index.
"""

from __future__ import annotations

import datetime
import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Case, Count, F, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import get_language

from crm.models import Team, User
from crm.money import format_money, format_totals
from crm.web.pagination import KeysetPage, encode_cursor, keyset_page
from opportunities.models import Opportunity, OpportunityQuerySet, Stage
from opportunities.templatetags.money import initials

CARD_ORDER = ("-created_at", "-id")
# What a card shows (templates/opportunities/_deal_card.html) and its keyset cursor needs:
# the deal's own columns, and its account's and owner's names read beside them (no model
# instance for either).
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
    "owner",
)
CARD_NAMES = {
    "account_name": F("account__name"),
    "owner_username": F("owner__username"),
    "owner_first_name": F("owner__first_name"),
    "owner_last_name": F("owner__last_name"),
}


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


@dataclass(frozen=True)
class Board:
    """One user's board under some filters: the deals on it, and whose they may be.

    `owners` are the owners whose deals the user sees (None: every owner's), when the owner
    alone decides it (`by_owner`; not so for an SDR, who sees the deals sourced from her
    leads): the totals then read the sums the database keeps per owner."""

    deals: OpportunityQuerySet
    stages: Sequence[Stage]
    filters: BoardFilters
    owners: list[int] | None
    by_owner: bool


def board_for(
    user: User, filters: BoardFilters | None = None, *, stages: Sequence[Stage] | None = None
) -> Board:
    """`user`'s board: the deals they see in the active `stages` (read when not given),
    narrowed by the filters. A manager's people are read here, once, and the page's
    statements filter by their ids (`visible_owner_ids`)."""
    f = filters or BoardFilters()
    if stages is None:
        stages = list(Stage.objects.filter(is_active=True).order_by("position"))
    owners = Opportunity.objects.visible_owner_ids(user)
    by_owner = owners is not None or user.sees_everything
    if owners is None:
        qs = Opportunity.objects.visible_to(user)
    else:
        qs = Opportunity.objects.filter(owner__in=owners)
    return Board(_narrowed(qs, f, stages), stages, f, owners, by_owner)


def _narrowed(
    qs: OpportunityQuerySet, f: BoardFilters, stages: Sequence[Stage]
) -> OpportunityQuerySet:
    # Stages matched by id: no join to the stage table in every statement.
    qs = qs.filter(stage_id__in=[stage.pk for stage in stages])
    if f.owner is not None:
        qs = qs.filter(owner=f.owner)
    if f.team is not None:
        qs = qs.filter(owner__team=f.team)
    if f.currency:
        qs = qs.filter(currency=f.currency)
    if f.close_month is not None:
        start, end = _month(f.close_month)
        qs = qs.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    return qs


def _month(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first day of `day`'s month and of the next."""
    start = day.replace(day=1)
    return start, (start + datetime.timedelta(days=32)).replace(day=1)


# stage id, currency, pending or not, count, amount
TotalsRow = tuple[int, str, bool, int, Decimal]


def column_totals(board: Board) -> dict[int, dict[str, Any]]:
    """Count and amount per stage, per currency (never summed across): one query.

    Pending is not pipeline (DOMAIN.md): `count`, `totals` and `label` hold the deals that
    count; `pending_count`, `pending_totals` and `pending_label` those waiting for a
    manager's approval, shown apart.

    On PostgreSQL the sums come from `opportunities_board_total`, which triggers keep per
    owner, stage, currency, approval and close month (migration 0009): a few hundred rows
    to add up instead of every deal. Elsewhere, and for an SDR's board (not decided by
    owner), the deals themselves are summed."""
    columns: dict[int, dict[str, Any]] = {}
    rows: Iterable[TotalsRow]
    if board.by_owner and connections[board.deals.db].vendor == "postgresql":
        rows = _kept_totals(board)
    else:
        rows = _summed_totals(board.deals)
    for stage_id, currency, pending, count, total in rows:
        column = columns.setdefault(
            stage_id, {"count": 0, "totals": [], "pending_count": 0, "pending_totals": []}
        )
        side = "pending_" if pending else ""
        column[f"{side}count"] += count
        column[f"{side}totals"].append((currency, total))
    for column in columns.values():
        column["label"] = format_totals(column["totals"])
        column["pending_label"] = format_totals(column["pending_totals"])
    return columns


def _summed_totals(qs: OpportunityQuerySet) -> Iterable[TotalsRow]:
    is_pending = Case(
        When(approval=Opportunity.Approval.PENDING, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return (
        qs.order_by()
        .annotate(is_pending=is_pending)
        .values_list("stage", "currency", "is_pending")
        .annotate(count=Count("*"), total=Sum("amount"))
        .order_by("stage", "currency", "is_pending")
    )


def _kept_totals(board: Board) -> list[TotalsRow]:
    """The board's totals from the sums kept per owner: the same filters as `board.deals`,
    on the table's key columns (the close month is one)."""
    where = ["stage_id = ANY(%s)"]
    params: list[Any] = [[stage.pk for stage in board.stages]]
    if board.owners is not None:
        where.append("owner_id = ANY(%s)")
        params.append(board.owners)
    f = board.filters
    if f.owner is not None:
        where.append("owner_id = %s")
        params.append(f.owner.pk)
    if f.team is not None:
        where.append(f"owner_id IN (SELECT id FROM {User._meta.db_table} WHERE team_id = %s)")
        params.append(f.team.pk)
    if f.currency:
        where.append("currency = %s")
        params.append(f.currency)
    if f.close_month is not None:
        where.append("close_month = %s")
        params.append(_month(f.close_month)[0])
    sql = (
        "SELECT stage_id, currency, is_pending, sum(deal_count)::bigint, sum(amount_total) "
        f"FROM opportunities_board_total WHERE {' AND '.join(where)} "
        "GROUP BY stage_id, currency, is_pending HAVING sum(deal_count) > 0 "
        "ORDER BY stage_id, currency, is_pending"
    )
    with connections[board.deals.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
    return qs.only(*CARD_FIELDS).annotate(**CARD_NAMES).order_by(*CARD_ORDER)


def _decorate(cards: Iterable[Opportunity], stages: Sequence[Stage]) -> None:
    """Give each card its stage (from those the view holds, not one join per card), its
    links (one `reverse` per kind of link, the deal's id put in its place) and the texts
    it shows, formatted once per value and language (`_amount_text`, `_close_text`): the
    template then only places them. Formatting a date or an amount costs more than reading
    the card, and the same amounts and dates come back on every view of a board."""
    by_id = {stage.pk: stage for stage in stages}
    marker = 2_147_483_647  # stands for the id in the URL pattern: replaced by each card's
    detail = reverse("opportunities:detail", args=[marker]).split(str(marker))
    move = reverse("opportunities:stage", args=[marker]).split(str(marker))
    now = timezone.now()
    language = get_language()
    owners: dict[int, tuple[str, str]] = {}
    for card in cards:
        stage = by_id.get(card.stage_id)
        if stage is not None:
            card.stage = stage
        extra: Any = card  # the card's texts, read by templates/opportunities/_deal_card.html
        if card.owner_id not in owners:
            owner = User(
                username=extra.owner_username,
                first_name=extra.owner_first_name,
                last_name=extra.owner_last_name,
            )
            owners[card.owner_id] = (str(owner), initials(owner))
        stale = card.is_stale(now)
        pk = str(card.pk)
        extra.detail_url = pk.join(detail)
        extra.move_url = pk.join(move)
        extra.amount_text = _amount_text(card.amount, card.currency, language)
        extra.close_text = _close_text(card.expected_close_date, language)
        extra.close_iso = card.expected_close_date.isoformat()
        extra.owner_name, extra.owner_initials = owners[card.owner_id]
        extra.stale = stale
        extra.flagged = stale or card.is_override or card.approval in _FLAGGED_APPROVALS


@functools.lru_cache(maxsize=8192)
def _amount_text(amount: Decimal, currency: str, language: str | None) -> str:
    """A card's amount in the active `language` (part of the key: the text depends on it)."""
    return format_money(amount, currency, cents=False)


@functools.lru_cache(maxsize=4096)
def _close_text(day: datetime.date, language: str | None) -> str:
    """A card's close date in the active `language` (the month's name is translated)."""
    return dateformat.format(day, "j M Y")


_FLAGGED_APPROVALS = frozenset({Opportunity.Approval.PENDING, Opportunity.Approval.REJECTED})


@dataclass(frozen=True)
class FirstCards:
    """What the board shows before any "Load more": each column's first page of pipeline
    cards, and the deals pending approval by stage (shown apart: pending is not pipeline)."""

    pages: dict[int, KeysetPage]
    pending: dict[int, list[Opportunity]]


def first_cards(board: Board, *, per_column: int, pending_limit: int = 0) -> FirstCards:
    """The newest `per_column` pipeline cards of every stage with each column's cursor to
    the next ones, and the newest `pending_limit` deals waiting for approval (few by
    nature; the limit bounds a backlog). One statement on PostgreSQL (see the module's
    docstring); SQLite, without `LATERAL`, reads a column per query."""
    qs, stages = board.deals, board.stages
    if not stages:
        return FirstCards({}, {})
    by_stage: dict[int, list[Opportunity]] = {stage.pk: [] for stage in stages}
    pending: dict[int, list[Opportunity]] = {}
    pipeline = _cards(qs.in_pipeline())
    waiting = _cards(qs.pending_approval())[:pending_limit] if pending_limit else None
    rows: Iterable[Opportunity]
    if connections[qs.db].vendor == "postgresql":
        rows = _first_cards_lateral(pipeline, waiting, stages, per_column)
    else:
        parts = [pipeline.filter(stage=stage)[: per_column + 1] for stage in stages]
        rows = itertools.chain(*parts, waiting if waiting is not None else ())
    cards = list(rows)
    _decorate(cards, stages)
    for card in cards:
        if card.approval == Opportunity.Approval.PENDING:
            pending.setdefault(card.stage_id, []).append(card)
        elif card.stage_id in by_stage:
            by_stage[card.stage_id].append(card)
    for column in itertools.chain(by_stage.values(), pending.values()):
        column.sort(key=lambda c: (c.created_at, c.pk), reverse=True)
    pages = {stage_id: _page(column, per_column) for stage_id, column in by_stage.items()}
    return FirstCards(pages, pending)


def _first_cards_lateral(
    pipeline: OpportunityQuerySet,
    waiting: OpportunityQuerySet | None,
    stages: Sequence[Stage],
    per_column: int,
) -> Iterable[Opportunity]:
    """`pipeline`'s first cards of each stage as one `LATERAL` subquery over the stages'
    ids, then `waiting`'s: the SQL of each is Django's, only the stage is the outer row's."""
    per_stage = pipeline.filter(stage_id=RawSQL("board_stage.id", ()))[: per_column + 1]
    inner, params = per_stage.query.get_compiler(using=per_stage.db).as_sql()
    sql = (
        "SELECT board_card.* FROM unnest(%s::bigint[]) AS board_stage(id) "
        f"CROSS JOIN LATERAL ({inner}) AS board_card"
    )
    all_params = [[stage.pk for stage in stages], *params]
    if waiting is not None:
        pending_sql, pending_params = waiting.query.get_compiler(using=waiting.db).as_sql()
        sql = f"({sql}) UNION ALL ({pending_sql})"
        all_params += pending_params
    return Opportunity.objects.raw(sql, all_params, using=pipeline.db)


def next_cards(
    user: User,
    filters: BoardFilters | None,
    stage: Stage,
    *,
    cursor: str | None,
    per_column: int,
) -> KeysetPage:
    """The column's cards after `cursor`: what "Load more" appends. One statement, so the
    visibility rule stays in it (`visible_to`) rather than being read first as ids."""
    deals = _narrowed(Opportunity.objects.visible_to(user), filters or BoardFilters(), [stage])
    page = keyset_page(
        _cards(deals.in_pipeline().filter(stage=stage)),
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
