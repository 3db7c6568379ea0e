"""The pipeline board: a column per stage, the newest cards of each with "Load more",
totals per currency over every deal; dragging a card moves the deal (`move_card`, the
JSON side of the stage view). Deals waiting for a manager's approval sit apart in their
column, outside the totals, and do not drag (pending is not pipeline)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.exceptions import DomainError, Problem, StaleVersion
from crm.models import User
from crm.web.requests import AuthedHttpRequest
from opportunities import board, selectors, services
from opportunities.forms import BoardFilterForm, StageMoveForm, currency_choices, form_problems
from opportunities.models import ConversionPolicy, Opportunity, Stage
from opportunities.views.board_cards import cards_html

BOARD_CARDS_PER_COLUMN = 20


def _filters(user: User, data: QueryDict | None) -> tuple[BoardFilterForm, board.BoardFilters]:
    """The board's filters. Owner and team only for those who see a team's pipeline;
    a filter that does not parse is ignored (the form shows why)."""
    thresholds = ConversionPolicy.current().approval_thresholds
    currencies = [code for code, _label in currency_choices(user.default_currency, *thresholds)]
    form = BoardFilterForm(
        data,
        owners=selectors.filter_people(user),
        teams=selectors.filter_teams(user),
        currencies=currencies,
    )
    if not (form.is_bound and form.is_valid()):
        return form, board.BoardFilters()
    data_ok = form.cleaned_data
    people = user.has_perm("opportunities.filter_by_owner")
    return form, board.BoardFilters(
        owner=data_ok.get("owner") if people else None,
        team=data_ok.get("team") if people else None,
        currency=data_ok.get("currency") or "",
        close_month=data_ok.get("close_month"),
    )


def _read_choices_once(field: Any) -> None:
    """Read a model choice field's options with one plain query, now: left to the widget,
    each select opens a server-side cursor (DECLARE, FETCH, CLOSE) to list a handful of
    people or teams. The field still validates a submitted value against its queryset."""
    iterator = field.iterator(field)
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    field.choices = empty + [iterator.choice(obj) for obj in field.queryset]


def _more_url(stage_id: int, cursor: str | None, filters: board.BoardFilters) -> str:
    if cursor is None:
        return ""
    query = urlencode({**filters.as_query(), "after": cursor})
    return f"{reverse('opportunities:board-column', args=[stage_id])}?{query}"


@login_required
@require_http_methods(["GET"])
def pipeline_board(request: AuthedHttpRequest) -> HttpResponse:
    """The board: a column per active stage with its newest cards, its totals over every
    deal, and "Load more" for the rest."""
    user = request.user
    form, filters = _filters(user, request.GET or None)
    for name in ("owner", "team"):
        _read_choices_once(form.fields[name])
    stages = selectors.active_stages()
    deals = board.board_for(user, filters, stages=stages)
    totals = board.column_totals(deals)
    first = board.first_cards(
        deals, per_column=BOARD_CARDS_PER_COLUMN, pending_limit=BOARD_CARDS_PER_COLUMN * 2
    )
    can_drag = user.has_perm("opportunities.move_on_board")
    columns = []
    for stage in stages:
        column = totals.get(stage.pk, {})
        page = first.pages.get(stage.pk)
        cards = page.rows if page else []
        pending = first.pending.get(stage.pk, [])
        # Pending is not pipeline: a deal waiting for approval sits apart in its column,
        # outside the totals, and cannot be dragged until a manager approves it.
        columns.append(
            {
                "stage": stage,
                "cards": cards,
                "cards_html": cards_html(cards, can_drag=can_drag, indent=" " * 12),
                "count": column.get("count", 0),
                "totals": column.get("label", ""),
                "pending_cards": pending,
                "pending_html": cards_html(pending, can_drag=can_drag, indent=" " * 14),
                "pending_count": column.get("pending_count", 0),
                "pending_totals": column.get("pending_label", ""),
                "more_url": _more_url(stage.pk, page.next_cursor if page else None, filters),
            }
        )
    query = filters.as_query()
    table_query = urlencode({**query, "state": "open"})
    pending_url = f"{reverse('opportunities:list')}?" + urlencode(
        {**query, "approval": "pending", "state": "all"}
    )
    return render(
        request,
        "opportunities/board.html",
        {
            "form": form,
            "columns": columns,
            "pending": board.pending_summary(totals) | {"url": pending_url},
            "can_filter_people": user.has_perm("opportunities.filter_by_owner"),
            "can_drag": can_drag,
            "filters": urlencode(query),
            "filtered": bool(query),
            "table_url": f"{reverse('opportunities:list')}?{table_query}",
            "cap": BOARD_CARDS_PER_COLUMN,
            "lost_stage_ids": [s.pk for s in stages if s.is_lost],
            "board_messages": {
                "failed": _("%(name)s was not moved."),
                "moved": _("%(name)s moved to %(stage)s."),
                "open": _("Open the deal"),
                "network": _("The server did not answer; the deal was not moved."),
                "close": _("Close"),
            },
            # RevOps edits the stages on the pipeline settings page.
            "stages_url": reverse("opportunities:settings-stages")
            if user.has_perm("opportunities.change_settings")
            else "",
        },
    )


@login_required
@require_http_methods(["GET"])
def board_column(request: AuthedHttpRequest, stage_id: int) -> HttpResponse:
    """The next cards of one column ("Load more"), with the board's filters, and the
    button for the ones after them."""
    user = request.user
    stage = get_object_or_404(Stage, pk=stage_id, is_active=True)
    _form, filters = _filters(user, request.GET)
    page = board.next_cards(
        user,
        filters,
        stage,
        cursor=request.GET.get("after"),
        per_column=BOARD_CARDS_PER_COLUMN,
    )
    return render(
        request,
        "opportunities/_board_more.html",
        {
            "stage": stage,
            "cards": page.rows,
            "more_url": _more_url(stage.pk, page.next_cursor, filters),
            "can_drag": user.has_perm("opportunities.move_on_board"),
        },
    )


def _problem_json(problems: list[Problem], status: int) -> JsonResponse:
    return JsonResponse({"errors": [p.as_dict() for p in problems]}, status=status)


def move_card(
    request: AuthedHttpRequest, opportunity: Opportunity, form: StageMoveForm
) -> JsonResponse:
    """The board's script dropped a card: move the deal, answer with the new column totals.

    The script reads errors as the API writes them (`{"errors": [...]}` with the error's
    status), so this is the board's one mapping from domain errors to responses; a stale
    version is a 409, a conflict with the card the user dragged.
    """
    if not form.is_valid():
        return _problem_json(form_problems(form), 400)
    try:
        moved = services.opportunity_move_stage(
            opportunity_id=opportunity.pk,
            by=request.user,
            to=form.cleaned_data["stage"],
            reason=form.cleaned_data["reason"],
            lost_reason=form.cleaned_data["lost_reason"],
            lost_to_competitor=form.cleaned_data["lost_to_competitor"],
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        status = 409 if isinstance(error, StaleVersion) else error.http_status
        return _problem_json(error.problems, status)
    _form, filters = _filters(request.user, request.POST)
    totals = board.column_totals(board.board_for(request.user, filters))
    columns: dict[str, Any] = {
        str(stage_id): {"count": column["count"], "totals": column["label"]}
        for stage_id, column in totals.items()
    }
    return JsonResponse(
        {
            "ok": True,
            "opportunity": {
                "id": moved.pk,
                "stage": moved.stage_id,
                "stage_name": moved.stage.name,
                "version": moved.version,
                "probability": moved.probability,
            },
            "columns": columns,
        }
    )
