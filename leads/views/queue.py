"""The queue: the leads a user works, most urgent first, filtered and paged by keyset.

Managers and RevOps also get the Unassigned tab: open leads routing found no SDR for
(`Lead.objects.unassigned`), each with a quick assign that calls `lead_assign`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.csv_safe import reader_zone, streaming_csv_response
from crm.models import User
from crm.saved_view_pages import list_views, open_default_view
from crm.web.errors import set_back_url
from crm.web.forms import refuse_unparsed_filters, warn_unparsed_filters
from crm.web.requests import AuthedHttpRequest
from crm.web.sorting import ORDERING_PARAM, Sort, headers
from leads import exports, selectors, services
from leads.access import lead_for
from leads.forms import AssignForm, LeadFilterForm

QUEUE_PAGE_SIZE = 25
LIST_KEY = "leads"  # its saved views (crm.saved_views.ListKey)


def unassigned_url() -> str:
    """The Unassigned tab: open leads without an owner."""
    return f"{reverse('leads:list')}?{urlencode({'owner': selectors.UNASSIGNED})}"


def _filters(request: AuthedHttpRequest) -> tuple[LeadFilterForm, Sort, list[User] | None]:
    """The queue's filter form (owners offered to managers and RevOps) and its sort, as
    the page and its export both read them."""
    user = request.user
    owners = services.owner_choices() if user.is_manager or user.sees_everything else None
    form = LeadFilterForm(request.GET, owners=owners)
    form.is_valid()
    sort = selectors.LEAD_SORTS.parse_or_default(
        request.GET.get(ORDERING_PARAM), default=selectors.QUEUE_SORT
    )
    return form, sort, owners


@login_required
def lead_list(request: AuthedHttpRequest) -> HttpResponse:
    """The queue. Keyset pagination: no COUNT over the table, a `next` link only."""
    if (default_view := open_default_view(request, LIST_KEY)) is not None:
        return default_view
    user = request.user
    assigns = user.is_manager or user.sees_everything
    form, sort, owners = _filters(request)
    warn_unparsed_filters(request, form)
    now = timezone.now()
    cursor = request.GET.get("after")
    queue_filter = form.queue_filter()
    page = selectors.lead_queue_page(
        user, queue_filter, now=now, cursor=cursor, size=QUEUE_PAGE_SIZE, sort=sort
    )
    next_url = ""
    if page.next_cursor:
        params = request.GET.copy()
        params["after"] = page.next_cursor
        next_url = f"?{params.urlencode()}"
    # A cursor that is not one of ours shows the first page, with no way "back" to it.
    continues = sort.decode(cursor) is not None
    first_params = request.GET.copy()
    first_params.pop("after", None)
    unassigned_tab = assigns and queue_filter.owner == selectors.UNASSIGNED
    return render(
        request,
        "leads/list.html",
        {
            "leads": page.rows,
            "form": form,
            "now": now,
            "next_url": next_url,
            "first_url": f"?{first_params.urlencode()}" if continues else "",
            "is_filtered": form.is_narrowed(),
            "show_owner": owners is not None or not user.is_sdr,
            "show_tabs": assigns,
            "unassigned_tab": unassigned_tab,
            "unassigned_url": unassigned_url(),
            "unassigned_count": selectors.unassigned_count(user) if assigns else 0,
            "unassigned_cap": selectors.UNASSIGNED_COUNT_CAP,
            "assign_owners": owners if unassigned_tab else None,
            "sort": sort,
            "sort_headers": headers(request.GET, sort, selectors.LEAD_SORTS),
            "export_url": f"{reverse('leads:export')}?{first_params.urlencode()}",
            **list_views(request, LIST_KEY),
        },
    )


@login_required
@require_GET
def lead_export(request: AuthedHttpRequest) -> StreamingHttpResponse:
    """Every lead the queue shows with these filters, in its order, as a CSV file."""
    form, sort, _owners = _filters(request)
    set_back_url(request, f"{reverse('leads:list')}?{request.GET.urlencode()}", subject="lead")
    refuse_unparsed_filters(form)
    leads = selectors.lead_queue(request.user, form.queue_filter(), now=timezone.now())
    zone = reader_zone(request.user)
    return streaming_csv_response(
        f"threshold-leads-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.lead_export_header(),
        exports.lead_export_rows(sort.apply(leads), zone=zone),
    )


@login_required
@require_POST
def lead_assign_from_queue(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Assign a lead from the Unassigned tab and come back to it (`lead_assign`)."""
    back = unassigned_url()
    set_back_url(request, back, subject="lead")
    lead = lead_for(request.user, pk, to="assign")
    form = AssignForm(request.POST, owners=services.owner_choices())
    if not form.is_valid():
        messages.error(
            request, _("Choose the SDR who gets %(company)s.") % {"company": lead.company_name}
        )
        return redirect(back)
    services.lead_assign(
        lead_id=lead.pk,
        by=request.user,
        owner=form.cleaned_data["owner"],
        reason=form.cleaned_data["reason"] or _("Assigned from the Unassigned queue"),
    )
    messages.success(
        request,
        _("%(company)s assigned to %(owner)s.")
        % {"company": lead.company_name, "owner": form.cleaned_data["owner"]},
    )
    return redirect(back)
