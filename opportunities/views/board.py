"""The pipeline board: a column per stage, the newest cards of each, totals per currency;
dragging a card moves the deal (`move_card`, the JSON side of the stage view). Deals
waiting for a manager's approval sit apart in their column, outside the totals, and do
not drag (pending is not pipeline)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.exceptions import DomainError, Problem, StaleVersion
from crm.models import Team, User
from crm.web.requests import AuthedHttpRequest
from opportunities import selectors, services
from opportunities.forms import BoardFilterForm, StageMoveForm, form_problems
from opportunities.models import Opportunity

BOARD_CARDS_PER_COLUMN = 50


def _filters(
    user: User, data: QueryDict | None
) -> tuple[BoardFilterForm, User | None, Team | None]:
    """The board's owner and team filters; only those who see a team's pipeline use them."""
    form = BoardFilterForm(
        data, owners=selectors.filter_people(user), teams=selectors.filter_teams(user)
    )
    if not (user.has_perm("opportunities.filter_by_owner") and form.is_bound and form.is_valid()):
        return form, None, None
    return form, form.cleaned_data.get("owner"), form.cleaned_data.get("team")


@login_required
@require_http_methods(["GET"])
def pipeline_board(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    form, owner, team = _filters(user, request.GET or None)
    qs = selectors.board_queryset(user, owner=owner, team=team)
    stages = selectors.active_stages()
    totals = selectors.column_totals(qs)
    by_stage = selectors.board_cards(qs, per_column=BOARD_CARDS_PER_COLUMN)
    filters = urlencode({k: v.pk for k, v in (("owner", owner), ("team", team)) if v is not None})
    columns = []
    for stage in stages:
        column = totals.get(stage.pk, {})
        # Pending is not pipeline: a deal waiting for approval sits apart in its column,
        # outside the totals, and cannot be dragged until a manager approves it.
        shown = [card for card in by_stage.get(stage.pk, []) if not card.is_pending_approval]
        pending = [card for card in by_stage.get(stage.pk, []) if card.is_pending_approval]
        count, pending_count = column.get("count", 0), column.get("pending_count", 0)
        more_params = f"stage={stage.pk}&state=all" + (f"&owner={owner.pk}" if owner else "")
        columns.append(
            {
                "stage": stage,
                "cards": shown,
                "count": count,
                "totals": column.get("label", ""),
                "more": count + pending_count - len(shown) - len(pending),
                "more_url": f"{reverse('opportunities:list')}?{more_params}",
                "pending_cards": pending,
                "pending_count": pending_count,
                "pending_totals": column.get("pending_label", ""),
            }
        )
    pending_url = (
        reverse("opportunities:list")
        + "?approval=pending&state=all"
        + (f"&owner={owner.pk}" if owner else "")
    )
    return render(
        request,
        "opportunities/board.html",
        {
            "form": form,
            "columns": columns,
            "pending": selectors.pending_summary(totals) | {"url": pending_url},
            "can_filter": user.has_perm("opportunities.filter_by_owner"),
            "can_drag": user.has_perm("opportunities.move_on_board"),
            "filters": filters,
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
    _form, owner, team = _filters(request.user, request.POST)
    totals = selectors.column_totals(selectors.board_queryset(request.user, owner=owner, team=team))
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
