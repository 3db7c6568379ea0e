"""Reads behind the opportunities pages: the deal list, one deal, the board, overrides.

Views call these and render; each list costs a fixed number of queries whatever the
number of rows (tests pin it). Who may see what is `Opportunity.objects.visible_to` and
`ConversionRequest.objects.decidable_by`, the query forms of `opportunities.rules`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import UnknownCurrencyError
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from crm.models import Team, User
from crm.money import format_money, format_totals
from crm.web.pagination import KeysetPage, keyset_page
from leads.gate import CRITERIA_LABELS, HANDOFF_FIELDS, is_blank
from leads.models import Activity, Handoff, Qualification
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.models import (
    ConversionRequest,
    Opportunity,
    OpportunityContactRole,
    OpportunityEvent,
    Stage,
    StageChange,
    field_label,
)

# The deal list's order: newest first, the id breaking ties (the keyset).
LIST_ORDER = ("-created_at", "-id")
CRITERIA_CODES = {f"{c}_unconfirmed": c for c in Qualification.CRITERIA}

# `state` filter values of the deal list.
STATE_OPEN, STATE_CLOSED, STATE_WON, STATE_LOST, STATE_STALE, STATE_ALL = (
    "open",
    "closed",
    "won",
    "lost",
    "stale",
    "all",
)


def _by_name(users: QuerySet[User]) -> QuerySet[User]:
    return users.order_by("first_name", "last_name", "username")


def filter_people(user: User) -> QuerySet[User]:
    """Whom `user` may filter deals by: RevOps everyone selling, a manager their people."""
    sellers = User.objects.filter(is_active=True, role__in=[User.Role.AE, User.Role.MANAGER])
    if user.sees_everything:
        return _by_name(sellers)
    if user.is_manager:
        return _by_name(sellers.filter(Q(manager=user) | Q(team__manager=user) | Q(pk=user.pk)))
    return User.objects.filter(pk=user.pk)


def filter_teams(user: User) -> QuerySet[Team]:
    if user.sees_everything:
        return Team.objects.order_by("name")
    if user.is_manager:
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()


def entry_stages() -> list[Stage]:
    """The stages a converted lead may enter (Discovery and Qualification by default)."""
    return list(Stage.objects.filter(is_entry=True, is_active=True))


def active_stages() -> list[Stage]:
    return list(Stage.objects.filter(is_active=True).order_by("position"))


# --- the deal list ----------------------------------------------------------------------------


def opportunities_filtered(user: User, filters: Mapping[str, Any]) -> QuerySet[Opportunity]:
    """The deals `user` sees, narrowed by the list's filters (a form's cleaned data)."""
    qs = Opportunity.objects.visible_to(user)
    state = filters.get("state") or STATE_OPEN
    closed = Q(stage__is_won=True) | Q(stage__is_lost=True)
    if state == STATE_OPEN:
        qs = qs.exclude(closed)
    elif state == STATE_CLOSED:
        qs = qs.filter(closed)
    elif state == STATE_WON:
        qs = qs.filter(stage__is_won=True)
    elif state == STATE_LOST:
        qs = qs.filter(stage__is_lost=True)
    elif state == STATE_STALE:
        qs = qs.stale(timezone.now())
    if filters.get("q"):
        qs = qs.filter(Q(name__icontains=filters["q"]) | Q(account__name__icontains=filters["q"]))
    if filters.get("stage"):
        qs = qs.filter(stage=filters["stage"])
    if filters.get("owner"):
        qs = qs.filter(owner=filters["owner"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("currency"):
        qs = qs.filter(currency=filters["currency"])
    if filters.get("approval") == "override":
        qs = qs.filter(is_override=True)
    elif filters.get("approval"):
        qs = qs.filter(approval=filters["approval"])
    return qs


def opportunity_page(
    user: User, filters: Mapping[str, Any], *, cursor: str | None, size: int
) -> KeysetPage:
    """One page of the deal list, newest first, after `cursor`: no COUNT, no OFFSET."""
    qs = (
        opportunities_filtered(user, filters)
        .select_related("account", "owner", "stage")
        .order_by(*LIST_ORDER)
    )
    return keyset_page(qs, fields=LIST_ORDER, cursor=cursor, size=size)


# --- one deal ---------------------------------------------------------------------------------


def detail_queryset() -> QuerySet[Opportunity]:
    """What the deal page reads of the deal itself, in one query."""
    return Opportunity.objects.select_related(
        "account",
        "owner",
        "owner__team",
        "stage",
        "primary_contact",
        "next_step_owner",
        "lead",
        "created_by",
    )


def deal_activities(opportunity: Opportunity) -> list[Activity]:
    """The deal's activities: its open next step first (the AE's one agreed action), then
    by due date, undated last, newest first."""
    is_next_step = Case(
        When(
            completed_at__isnull=True,
            subject=opportunity.next_step,
            owner_id=opportunity.next_step_owner_id,
            then=Value(0),
        ),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(
        opportunity.activities.select_related("owner")
        .annotate(is_next_step=is_next_step)
        .order_by("is_next_step", F("due_at").asc(nulls_last=True), "-created_at")
    )


def stage_history(opportunity: Opportunity) -> list[StageChange]:
    return list(
        opportunity.stage_changes.select_related("from_stage", "to_stage", "actor").order_by(
            "-changed_at", "-id"
        )
    )


def _field_label(name: str) -> str:
    return field_label(Opportunity, name)


@dataclass(frozen=True)
class EventRow:
    """One audited change on the deal page: who, when, what (field: old → new), why."""

    event: OpportunityEvent
    changes: list[tuple[str, Any, Any]]


def deal_events(opportunity: Opportunity) -> list[EventRow]:
    """Edits and approval decisions, newest first."""
    events = opportunity.events.select_related("actor").order_by("-at", "-id")
    return [
        EventRow(
            event=event,
            changes=[
                (_field_label(name), old, new)
                for name, (old, new) in (event.changes or {}).items()
                if name != "approval"
            ],
        )
        for event in events
    ]


def contact_roles(opportunity: Opportunity) -> list[OpportunityContactRole]:
    return list(
        opportunity.contact_roles.select_related("contact").order_by("role", "contact__last_name")
    )


def _handoff_label(name: str) -> str:
    return field_label(Handoff, name)


def snapshot_rows(opportunity: Opportunity) -> list[dict[str, Any]]:
    """The gate as it stood at each conversion into this deal (the lead's, and any lead
    attached later), criterion by criterion, with the waived ones marked."""
    snapshots = opportunity.conversion_snapshots.select_related("lead", "converted_by").order_by(
        "created_at"
    )
    rows = []
    for snapshot in snapshots:
        criteria = snapshot.criteria or {}
        rows.append(
            {
                "snapshot": snapshot,
                "framework": str(criteria.get("framework", "")).upper(),
                "criteria": [
                    {
                        "label": CRITERIA_LABELS[c],
                        "status": (criteria.get(c) or {}).get("status", "unknown"),
                        "evidence": (criteria.get(c) or {}).get("evidence", ""),
                        "waived": f"{c}_unconfirmed" in (snapshot.unmet_overridden or []),
                    }
                    for c in Qualification.CRITERIA
                ],
                "handoff": [
                    (_handoff_label(name), snapshot.handoff.get(name))
                    for name in HANDOFF_FIELDS
                    if snapshot.handoff.get(name)
                ],
                "handoff_people": (
                    snapshot.handoff.get("from_user"),
                    snapshot.handoff.get("to_user"),
                ),
            }
        )
    return rows


def override_request_of(opportunity: Opportunity) -> ConversionRequest | None:
    return (
        ConversionRequest.objects.filter(opportunity=opportunity)
        .select_related("requested_by", "decided_by")
        .first()
    )


def exit_rows(opportunity: Opportunity) -> list[dict[str, Any]]:
    """The current stage's exit fields, each filled or not."""
    return [
        {"label": _field_label(name), "met": not is_blank(getattr(opportunity, name, ""))}
        for name in opportunity.stage.exit_required_fields
        if hasattr(opportunity, name)
    ]


def custom_field_rows(opportunity: Opportunity) -> list[tuple[str, Any]]:
    return [(_field_label(name), getattr(opportunity, name)) for name in CUSTOM_FIELDS]


# --- the board --------------------------------------------------------------------------------


def board_queryset(
    user: User, *, owner: User | None = None, team: Team | None = None
) -> QuerySet[Opportunity]:
    """The deals on `user`'s board: visible, in an active stage, narrowed by owner/team."""
    qs = Opportunity.objects.visible_to(user).filter(stage__is_active=True)
    if owner is not None:
        qs = qs.filter(owner=owner)
    if team is not None:
        qs = qs.filter(owner__team=team)
    return qs


def column_totals(qs: QuerySet[Opportunity]) -> dict[int, dict[str, Any]]:
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


def board_cards(qs: QuerySet[Opportunity], *, per_column: int) -> dict[int, list[Opportunity]]:
    """The newest `per_column` cards of every stage in one query (ranked within the stage)."""
    cards = (
        qs.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_column)
        .select_related("account", "owner", "stage")
        .order_by("-created_at", "-id")
    )
    by_stage: dict[int, list[Opportunity]] = {}
    for card in cards:
        by_stage.setdefault(card.stage_id, []).append(card)
    return by_stage


# --- override requests ------------------------------------------------------------------------

DECIDED_SHOWN = 20


def override_requests(user: User) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests `user` decides: those waiting (oldest first) and the latest decided."""
    base = ConversionRequest.objects.decidable_by(user).select_related(
        "lead__owner",
        "lead__team",
        "requested_by__team",
        "decided_by",
        "opportunity",
    )
    pending = list(base.filter(state=ConversionRequest.State.PENDING).order_by("requested_at"))
    decided = list(
        base.exclude(state=ConversionRequest.State.PENDING).order_by("-decided_at", "-id")[
            :DECIDED_SHOWN
        ]
    )
    stages = {s.pk: s for s in Stage.objects.all()}
    return _request_rows(user, pending, stages), _request_rows(user, decided, stages)


def _request_rows(
    user: User, requests: list[ConversionRequest], stages: Mapping[int, Stage]
) -> list[dict[str, Any]]:
    role_labels = dict(OpportunityContactRole.Role.choices)
    rows = []
    for item in requests:
        data = item.data or {}
        stage = stages.get(_as_int(data.get("stage")) or 0)
        rows.append(
            {
                "request": item,
                "can_decide": item.state == ConversionRequest.State.PENDING
                and user.has_perm("opportunities.decide_override", item),
                "unmet": [
                    CRITERIA_LABELS.get(
                        CRITERIA_CODES.get(p.get("code", ""), ""), p.get("message", "")
                    )
                    for p in item.unmet or []
                ],
                "name": data.get("name", ""),
                "amount": _requested_amount(data),
                "stage": stage.name if stage else "",
                "close": _as_date(data.get("expected_close_date")),
                "next_step": data.get("next_step", ""),
                "next_step_due": _as_date(data.get("next_step_due")),
                "roles": [
                    role_labels.get(r.get("role", ""), r.get("role", ""))
                    for r in data.get("contact_roles") or []
                    if isinstance(r, dict)
                ],
                "attach": bool(data.get("attach_to")),
            }
        )
    return rows


def _requested_amount(data: Mapping[str, Any]) -> str:
    """The amount as typed, formatted when it parses (the request stores raw input)."""
    amount, currency = str(data.get("amount") or ""), str(data.get("currency") or "").upper()
    try:
        return format_money(Decimal(amount.replace(",", "")), currency, cents=False)
    except (InvalidOperation, ValueError, KeyError, AttributeError, UnknownCurrencyError):
        return f"{amount} {currency}".strip()


def _as_date(value: Any) -> datetime.date | str:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the API ----------------------------------------------------------------------------------


def api_opportunities(user: User) -> QuerySet[Opportunity]:
    """The deals `user` sees, with what the API's representation reads: three queries a
    page (the rows, their contact roles, the contacts), whatever its length."""
    return (
        Opportunity.objects.visible_to(user)
        .select_related("stage")
        .prefetch_related("contact_roles__contact")
    )


def api_opportunity(opportunity_id: int) -> Opportunity:
    """One deal as the API represents it (after the service that wrote it)."""
    return (
        Opportunity.objects.select_related("stage")
        .prefetch_related("contact_roles__contact")
        .get(pk=opportunity_id)
    )
