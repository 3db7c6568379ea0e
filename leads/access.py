"""Fetch a lead and authorize, or raise: the one door every interface goes through.

HTML views, API views and services call `lead_for`, so "who may do what with a lead"
is decided by the `rules` predicates in `leads.rules` and nowhere else. The lead page
asks `lead_actions` which buttons to show: the same predicates, plus the lifecycle's
own answer to "is that step open now", so a button never offers what the service
would refuse.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.exceptions import MergedAway, NotAllowed, NotFound
from crm.models import User
from leads.models import ALLOWED_TRANSITIONS, Handoff, Lead

LeadAction = Literal["view", "work", "assign", "record_discovery", "reopen", "merge"]

# The `rules` permission behind each thing one may do with a lead (see leads/rules.py).
PERMISSIONS: dict[LeadAction, str] = {
    "view": "leads.view_lead",
    "work": "leads.work_lead",
    "assign": "leads.assign_lead",
    "record_discovery": "leads.record_discovery",
    "reopen": "leads.reopen_lead",
    "merge": "leads.merge_lead",
}


def _lead_with_people() -> QuerySet[Lead]:
    """What the permission rules and the lead's pages read besides the row itself."""
    return Lead.objects.select_related(
        "owner", "ae", "team", "rejection_reason", "disqualification_reason"
    )


def lead_for(
    user: User,
    lead_id: Any,
    *,
    to: LeadAction = "view",
    queryset: QuerySet[Lead] | None = None,
) -> Lead:
    """The lead `lead_id`, if `user` may do `to` with it.

    Raises `NotFound` when it does not exist or the user may not see it (the two read
    the same, so ids do not leak), and `NotAllowed` when they may see it but not do `to`.
    Services pass `queryset=Lead.objects.select_for_update(...)` to lock the row they check.
    """
    rows = queryset if queryset is not None else _lead_with_people()
    try:
        lead = rows.get(pk=lead_id)
    except (Lead.DoesNotExist, ValueError, TypeError):
        # A malformed id (an API path segment) is no lead either.
        raise NotFound(_("No such lead.")) from None
    if not user_may(user, "view", lead):
        raise NotFound(_("No such lead."))
    if to != "view" and not user_may(user, to, lead):
        if lead.merged_into_id is not None:  # history now: say where the person went
            raise MergedAway(
                _("This lead was merged into lead #%(id)s: work on that one.")
                % {"id": lead.merged_into_id}
            )
        raise NotAllowed(_("You may not do that with this lead."))
    return lead


def user_may(user: User, to: LeadAction, lead: Lead) -> bool:
    """Whether `user` may do `to` with `lead` (the question `lead_for` asks, without raising)."""
    return bool(user.has_perm(PERMISSIONS[to], lead))


def is_handed_off_this_round(lead: Lead) -> bool:
    """Handed off since it was last qualified (a reopened lead is handed off again)."""
    if lead.handed_off_at is None:
        return False
    return lead.qualified_at is None or lead.handed_off_at >= lead.qualified_at


def lead_actions(user: User, lead: Lead, *, handoff: Handoff | None) -> dict[str, bool]:
    """The steps `user` may take on `lead` now, by name: the lead page's buttons.

    Who: the permissions `lead_for` checks. When: the lifecycle (`ALLOWED_TRANSITIONS`)
    and the hand-off round. The services check both again when the button is used.
    """
    Status = Lead.Status
    can_work = user_may(user, "work", lead)
    can_assign = user_may(user, "assign", lead)
    allowed = ALLOWED_TRANSITIONS[lead.status]
    handed_off = is_handed_off_this_round(lead)
    return {
        "edit": can_work,
        "log": can_work,
        "qualification": can_work and lead.is_open,
        "accept": can_work and Status.SAL in allowed,
        "reject": can_work and Status.REJECTED in allowed,
        "qualify": can_work and Status.SQL in allowed,
        "handoff": can_work and lead.status == Status.SQL and not handed_off,
        # The AE's step: the SDR waits for it; the team's manager or RevOps may record it.
        "discovery": lead.status == Status.SQL
        and handed_off
        and handoff is not None
        and handoff.discovery_held_at is None
        and user_may(user, "record_discovery", lead),
        "nurture": can_work and Status.NURTURE in allowed,
        "disqualify": can_work and Status.DISQUALIFIED in allowed,
        "reopen": Status.MQL in allowed
        and lead.status in (Status.NURTURE, Status.REJECTED)
        and user_may(user, "reopen", lead),
        "assign": can_assign and (lead.is_open or lead.status == Status.NURTURE),
        # Merging another lead into this one (`leads.services.merge`); never a converted one.
        "merge": lead.status not in (Status.CONVERTED, Status.DISQUALIFIED)
        and lead.merged_into_id is None
        and user_may(user, "merge", lead),
    }
