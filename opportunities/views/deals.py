"""The deal pages: the list, one deal, its edit form, moving it, the manager's approval.

Each view fetches the deal through `opportunities.access.opportunity_for` (404 when the
user may not see it, 403 when they may not do the thing), names the deal's page as the
place a refused step returns to, calls one service and renders or redirects. Field
problems go on the form (`crm.web.forms.submit`); every other domain error rises to
`crm.web.errors.DomainErrorMiddleware`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.csv_safe import reader_zone, streaming_csv_response
from crm.exceptions import StaleVersion
from crm.models import User
from crm.money import format_money
from crm.saved_view_pages import list_views, open_default_view
from crm.web.errors import set_back_url
from crm.web.forms import refuse_unparsed_filters, submit, warn_unparsed_filters
from crm.web.requests import AuthedHttpRequest
from crm.web.sorting import ORDERING_PARAM, Sort, headers
from opportunities import exports, selectors, services
from opportunities.access import OpportunityAction, opportunity_for
from opportunities.forms import (
    BOARD_FILTER_NAMES,
    DecisionForm,
    OpportunityEditForm,
    OpportunityFilterForm,
    StageMoveForm,
    currency_choices,
)
from opportunities.models import ConversionPolicy, Opportunity
from opportunities.templatetags.money import is_stale
from opportunities.views.board import move_card

PAGE_SIZE = 25
LIST_KEY = "opportunities"  # its saved views (crm.saved_views.ListKey)


def _currencies(user: User) -> list[str]:
    """The user's currency first, then those RevOps set approval thresholds for."""
    policy = ConversionPolicy.current()
    return [c for c, _label in currency_choices(user.default_currency, *policy.approval_thresholds)]


def _deal(request: AuthedHttpRequest, pk: int, *, to: OpportunityAction = "view") -> Opportunity:
    """The deal the page is about; a refused step on it returns to its page."""
    opportunity = opportunity_for(request.user, pk, to=to, queryset=selectors.detail_queryset())
    set_back_url(request, reverse("opportunities:detail", args=[opportunity.pk]), subject="deal")
    return opportunity


# --- the list ---------------------------------------------------------------------------------


def _list_filters(
    request: AuthedHttpRequest,
) -> tuple[OpportunityFilterForm, dict[str, Any], Sort]:
    """The deal list's filter form, its valid filters and its sort, as the page and its
    export both read them (filters that do not parse are ignored, the page says so)."""
    user = request.user
    form = OpportunityFilterForm(
        request.GET or None,
        initial={"state": OpportunityFilterForm.STATE_OPEN},
        owners=selectors.filter_people(user),
        teams=selectors.filter_teams(user),
        currencies=_currencies(user),
    )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = selectors.OPPORTUNITY_SORTS.parse_or_default(request.GET.get(ORDERING_PARAM))
    return form, filters, sort


@login_required
@require_http_methods(["GET"])
def opportunity_list(request: AuthedHttpRequest) -> HttpResponse:
    if (default_view := open_default_view(request, LIST_KEY)) is not None:
        return default_view
    user = request.user
    form, filters, sort = _list_filters(request)
    warn_unparsed_filters(request, form)
    cursor = request.GET.get("cursor") or None
    page = selectors.opportunity_page(user, filters, cursor=cursor, size=PAGE_SIZE, sort=sort)
    paging = sort.decode(cursor) is not None
    # The page's own query (filters, sort, columns, view) without the cursor.
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
    return render(
        request,
        "opportunities/list.html",
        {
            "form": form,
            "opportunities": page.rows,
            "next_url": f"?{next_query.urlencode()}" if page.next_cursor else "",
            "first_url": f"?{query.urlencode()}" if paging else "",
            "show_owner_filter": user.has_perm("opportunities.filter_by_owner"),
            "filtered": bool(request.GET.get("q") or request.GET.get("stage")),
            "sort": sort,
            "sort_headers": headers(request.GET, sort, selectors.OPPORTUNITY_SORTS),
            "export_url": f"{reverse('opportunities:export')}?{query.urlencode()}",
            **list_views(request, LIST_KEY),
            # The board toggle keeps the filters the board understands.
            "board_query": urlencode({k: query[k] for k in BOARD_FILTER_NAMES if query.get(k)}),
        },
    )


@login_required
@require_GET
def opportunity_export(request: AuthedHttpRequest) -> StreamingHttpResponse:
    """Every deal the list shows with these filters, in its order, as a CSV file."""
    form, filters, sort = _list_filters(request)
    set_back_url(request, f"{reverse('opportunities:list')}?{request.GET.urlencode()}")
    refuse_unparsed_filters(form)
    deals = sort.apply(selectors.opportunities_filtered(request.user, filters))
    zone = reader_zone(request.user)
    return streaming_csv_response(
        f"threshold-opportunities-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.opportunity_export_header(),
        exports.opportunity_export_rows(deals, zone=zone),
    )


# --- one deal ---------------------------------------------------------------------------------


def _detail_context(
    user: User, opportunity: Opportunity, *, move_form: StageMoveForm | None = None
) -> dict[str, Any]:
    return {
        "opportunity": opportunity,
        "now": timezone.now(),
        "can_work": user.has_perm("opportunities.work_opportunity", opportunity),
        "can_approve": opportunity.approval == Opportunity.Approval.PENDING
        and user.has_perm("opportunities.approve_opportunity", opportunity),
        "stale": is_stale(opportunity),
        "roles": selectors.contact_roles(opportunity),
        "changes": selectors.stage_history(opportunity),
        "events": selectors.deal_events(opportunity),
        "activities": selectors.deal_activities(opportunity),
        "snapshots": selectors.snapshot_rows(opportunity),
        "override_request": selectors.override_request_of(opportunity),
        "custom_fields": selectors.custom_field_rows(opportunity),
        "move_form": move_form
        or StageMoveForm(current=opportunity.stage, initial={"version": opportunity.version}),
        "lost_stage_ids": [s.pk for s in selectors.active_stages() if s.is_lost],
        "exit_rows": selectors.exit_rows(opportunity),
        "weighted": opportunity.amount * opportunity.probability / 100,
    }


def _render_detail(
    request: AuthedHttpRequest,
    opportunity: Opportunity,
    *,
    move_form: StageMoveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "opportunities/detail.html",
        _detail_context(request.user, opportunity, move_form=move_form),
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def opportunity_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _deal(request, pk))


# --- editing ----------------------------------------------------------------------------------


def _edit_form(
    user: User, opportunity: Opportunity, data: QueryDict | None = None
) -> OpportunityEditForm:
    initial = {name: getattr(opportunity, name) for name in services.EDITABLE_FIELDS}
    initial["next_step_owner"] = opportunity.next_step_owner_id
    initial["version"] = opportunity.version
    owners = User.objects.filter(Q(is_active=True) | Q(pk=opportunity.next_step_owner_id)).order_by(
        "first_name", "last_name", "username"
    )
    form = OpportunityEditForm(
        data,
        initial=initial,
        owners=owners,
        currencies=currency_choices(opportunity.currency, *_currencies(user)),
    )
    # The conversion's close-date rule holds after it (`services.edit_problems`): say so.
    policy = ConversionPolicy.current()
    form.fields["expected_close_date"].help_text = _(
        "%(min)s–%(max)s days from today; outside that, give the reason."
    ) % {"min": policy.close_window_min_days, "max": policy.close_window_max_days}
    return form


def _shown(opportunity: Opportunity, name: str) -> Any:
    value = getattr(opportunity, name)
    if name == "amount":
        return format_money(value, opportunity.currency)
    return value if value not in (None, "") else "—"


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    opportunity = _deal(request, pk, to="work")
    if request.method == "GET":
        form = _edit_form(request.user, opportunity)
        return render(
            request, "opportunities/edit.html", {"opportunity": opportunity, "form": form}
        )

    form = _edit_form(request.user, opportunity, request.POST)
    if not form.is_valid():
        return _render_edit(request, opportunity, form)
    changes = form.changes()
    if not changes and form.cleaned_data["version"] == opportunity.version:
        messages.info(request, _("Nothing changed."))
        return redirect("opportunities:detail", opportunity.pk)
    stale: list[StaleVersion] = []
    saved = submit(
        form,
        lambda: services.opportunity_update(
            opportunity_id=opportunity.pk,
            by=request.user,
            data=changes,
            expected_version=form.cleaned_data["version"],
        ),
        on_stale=stale.append,
    )
    if stale:
        return _render_conflict(request, opportunity, form, changes)
    if saved is None:
        return _render_edit(request, opportunity, form)
    messages.success(request, _("Saved."))
    return redirect("opportunities:detail", opportunity.pk)


def _render_edit(
    request: AuthedHttpRequest,
    opportunity: Opportunity,
    form: OpportunityEditForm,
    *,
    conflicts: list[dict[str, Any]] | None = None,
    status: int = 400,
) -> HttpResponse:
    return render(
        request,
        "opportunities/edit.html",
        {"opportunity": opportunity, "form": form, "conflicts": conflicts or []},
        status=status,
    )


def _render_conflict(
    request: AuthedHttpRequest,
    opportunity: Opportunity,
    form: OpportunityEditForm,
    changes: dict[str, Any],
) -> HttpResponse:
    """Someone saved first: keep what the user typed, show what is stored now next to
    each field they changed, and let them save again over the new version (409)."""
    opportunity.refresh_from_db()
    conflicts = [
        {
            "label": form.fields[name].label,
            "now": _shown(opportunity, name),
            "yours": form.cleaned_data[name],
        }
        for name in changes
    ]
    data = request.POST.copy()
    data["version"] = str(opportunity.version)
    form = _edit_form(request.user, opportunity, data)
    form.is_valid()
    messages.error(
        request,
        _(
            "Someone else changed this deal while you were editing, so nothing was "
            "saved. Check the values stored now and save again."
        ),
    )
    return _render_edit(request, opportunity, form, conflicts=conflicts, status=409)


# --- moving and approving ---------------------------------------------------------------------


def _wants_json(request: AuthedHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def opportunity_stage(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Move a deal: from the detail page's form, or the board's drag and drop (JSON)."""
    opportunity = _deal(request, pk)
    form = StageMoveForm(request.POST, current=opportunity.stage)
    if _wants_json(request):
        return move_card(request, opportunity, form)
    if not form.is_valid():
        return _render_detail(request, opportunity, move_form=form, status=400)
    target = form.cleaned_data["stage"]
    moved = submit(
        form,
        lambda: services.opportunity_move_stage(
            opportunity_id=opportunity.pk,
            by=request.user,
            to=target,
            reason=form.cleaned_data["reason"],
            lost_reason=form.cleaned_data["lost_reason"],
            lost_to_competitor=form.cleaned_data["lost_to_competitor"],
            expected_version=form.cleaned_data["version"],
        ),
    )
    if moved is None:
        return _render_detail(request, opportunity, move_form=form, status=400)
    messages.success(request, _("Moved to %(stage)s.") % {"stage": target.name})
    return redirect("opportunities:detail", opportunity.pk)


@login_required
@require_POST
def opportunity_approval(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """A manager approves a large deal into the forecast, or sends it back, saying why."""
    opportunity = _deal(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or to send back."))
    elif form.approves:
        services.opportunity_approve(
            opportunity_id=opportunity.pk, by=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, _("Approved: the deal counts in the forecast."))
    else:
        services.opportunity_send_back(
            opportunity_id=opportunity.pk, by=request.user, reason=form.cleaned_data["note"]
        )
        messages.success(request, _("Sent back to the owner."))
    return redirect("opportunities:detail", opportunity.pk)
