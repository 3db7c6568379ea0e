"""The SDR → AE hand-off: the package form with the booked discovery meeting, and the
AE's record of the discovery call that follows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.exceptions import StaleVersion
from crm.models import User
from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import gate, selectors, services
from leads.access import is_handed_off_this_round, lead_for
from leads.forms import HandoffForm
from leads.handoff_draft import handoff_draft
from leads.models import Lead
from leads.views.actions import post_lead_step
from leads.views.detail import lead_url

STALE_HANDOFF_MESSAGE = gettext_lazy(
    "Someone else changed this lead while you had it open, so nothing was saved. "
    "Check its current state below and try again."
)


class _KeepPackageOnStale:
    """`on_stale` for the hand-off: the package typed so far stays, on the new version."""

    def __init__(self, request: AuthedHttpRequest, lead: Lead, aes: list[User]) -> None:
        self.request, self.lead, self.aes = request, lead, aes
        self.form: HandoffForm | None = None

    def __call__(self, error: StaleVersion) -> None:
        messages.warning(self.request, STALE_HANDOFF_MESSAGE)
        self.lead.refresh_from_db()
        data: QueryDict = self.request.POST.copy()
        data["version"] = str(self.lead.version)
        self.form = HandoffForm(data, aes=self.aes)
        self.form.is_valid()


@login_required
@require_http_methods(["GET", "POST"])
def lead_handoff(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    aes = services.ae_choices()
    status = 200
    form: HandoffForm | None
    if request.method == "POST":
        form = posted = HandoffForm(request.POST, aes=aes)
        keep_package = _KeepPackageOnStale(request, lead, aes)
        handoff = None
        if posted.is_valid():
            handoff = submit(
                posted,
                lambda: services.lead_hand_off(
                    lead_id=lead.pk, by=request.user, **posted.service_kwargs()
                ),
                on_stale=keep_package,
            )
        if handoff is not None:
            when = timezone.localtime(handoff.discovery_meeting_at)
            messages.success(
                request,
                _("Handed off to %(ae)s. Discovery meeting on %(when)s.")
                % {"ae": handoff.to_user, "when": date_format(when, "j M Y, H:i")},
            )
            return redirect(lead_url(lead))
        if keep_package.form is not None:
            form, status = keep_package.form, 409
        else:
            status = 400
    elif lead.status != Lead.Status.SQL:
        messages.info(request, _("Only a sales-qualified lead (SQL) can be handed off."))
        return redirect(lead_url(lead))
    elif is_handed_off_this_round(lead):
        messages.info(request, _("This lead is already handed off; its AE holds the discovery."))
        return redirect(lead_url(lead))
    else:
        form = None
    qualification = selectors.lead_qualification(lead)
    activities = selectors.lead_recent_activities(lead)
    if form is None:
        # Drafted from the qualification and the activities: the SDR edits, not retypes.
        draft = handoff_draft(lead, qualification, activities)
        form = HandoffForm(
            aes=aes, initial={"version": lead.version, "loaded_at": timezone.now(), **draft}
        )
    return render(
        request,
        "leads/handoff.html",
        {
            "lead": lead,
            "form": form,
            "qualification": qualification,
            "activities": activities,
            # A reopened lead is handed off afresh; the earlier pass's hand-off is named.
            "previous_handoff": None
            if gate.current_handoff(lead)
            else selectors.lead_latest_handoff(lead),
        },
        status=status,
    )


@login_required
@require_POST
def lead_discovery(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return post_lead_step(
        request,
        pk,
        "discovery",
        to="record_discovery",
        call=lambda lead, data: services.lead_record_discovery(
            lead_id=lead.pk,
            by=request.user,
            held_at=data["held_at"],
            rating=data["rating"],
            repeated_discovery=data["repeated_discovery"],
        ),
        success=lambda lead: _("Discovery call recorded. The convert-after-discovery clock runs."),
    )
