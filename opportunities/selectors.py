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
    Case,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from crm.models import Team, User
from crm.money import format_money
from crm.web.pagination import KeysetPage
from crm.web.sorting import Sort, SortKey, SortSpec, sorted_page
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

# The columns the deal list, the API and the export sort by (`?ordering=`), each with an
# index. Amounts sort within their currency (never compared across currencies).
OPPORTUNITY_SORTS = SortSpec(
    SortKey("name", ("name",)),
    SortKey("account", ("account__name",)),
    SortKey("stage", ("stage__position",)),
    SortKey("amount", ("currency", "amount")),
    SortKey("expected_close_date", ("expected_close_date",)),
    SortKey("probability", ("probability",)),
    SortKey("owner", ("owner__first_name", "owner__last_name")),
    SortKey("source", ("source",)),
    SortKey("created_at", ("created_at",)),
    SortKey("updated_at", ("updated_at",)),
    default="-created_at",  # newest first, the id breaking ties (the keyset)
)
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
    if filters.get("team"):
        qs = qs.filter(owner__team=filters["team"])
    if filters.get("close_month"):
        start = filters["close_month"].replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        qs = qs.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    if filters.get("approval") == "override":
        qs = qs.filter(is_override=True)
    elif filters.get("approval"):
        qs = qs.filter(approval=filters["approval"])
    return qs


def opportunity_page(
    user: User,
    filters: Mapping[str, Any],
    *,
    cursor: str | None,
    size: int,
    sort: Sort | None = None,
) -> KeysetPage:
    """One page of the deal list after `cursor`, in `sort`'s order (newest first when
    None): no COUNT, no OFFSET."""
    qs = opportunities_filtered(user, filters).select_related("account", "owner", "stage")
    return sorted_page(
        qs, sort or OPPORTUNITY_SORTS.sort_for(OPPORTUNITY_SORTS.default), cursor=cursor, size=size
    )


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


# The board's reads are in `opportunities/board.py`.


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
