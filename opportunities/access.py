"""Fetch a deal, an override request or a lead to convert, and authorize, or raise.

HTML views, API views and services call these, so "who may do what with a deal" is
decided by the `rules` predicates in `opportunities.rules` and nowhere else. Each raises
`NotFound` when the object does not exist or the user may not see it (the two read the
same, so ids do not leak) and `NotAllowed` when they may see it but not do `to`.
Services pass a `select_for_update()` queryset to lock the row they check.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound
from crm.models import User
from leads.access import lead_for
from leads.models import Lead
from opportunities.models import ConversionRequest, Opportunity

OpportunityAction = Literal["view", "work", "approve"]
OverrideAction = Literal["view", "decide"]

OPPORTUNITY_PERMISSIONS: dict[OpportunityAction, str] = {
    "view": "opportunities.view_opportunity",
    "work": "opportunities.work_opportunity",
    "approve": "opportunities.approve_opportunity",
}
OVERRIDE_PERMISSIONS: dict[OverrideAction, str] = {
    "view": "opportunities.view_override",
    "decide": "opportunities.decide_override",
}
CONVERT_PERMISSION = "opportunities.convert_lead"


def opportunity_for(
    user: User,
    opportunity_id: Any,
    *,
    to: OpportunityAction = "view",
    queryset: QuerySet[Opportunity] | None = None,
) -> Opportunity:
    """The deal `opportunity_id`, if `user` may do `to` with it."""
    rows = queryset if queryset is not None else Opportunity.objects.all()
    try:
        # The predicates read the owner's team and the lead's owner: fetch them along.
        opportunity = rows.select_related("owner__team", "lead").get(pk=opportunity_id)
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such deal.")) from None
    if not user.has_perm(OPPORTUNITY_PERMISSIONS["view"], opportunity):
        raise NotFound(_("No such deal."))
    if to != "view" and not user.has_perm(OPPORTUNITY_PERMISSIONS[to], opportunity):
        raise NotAllowed(
            _("Only the owner's manager approves this deal.")
            if to == "approve"
            else _("You may not change this deal.")
        )
    return opportunity


def override_request_for(
    user: User,
    request_id: Any,
    *,
    to: OverrideAction = "view",
    queryset: QuerySet[ConversionRequest] | None = None,
) -> ConversionRequest:
    """The override request `request_id`, if `user` may do `to` with it."""
    rows = queryset if queryset is not None else ConversionRequest.objects.all()
    try:
        request = rows.select_related(
            "requested_by__team", "lead__team", "lead__owner", "lead__ae"
        ).get(pk=request_id)
    except (ConversionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such override request.")) from None
    if not user.has_perm(OVERRIDE_PERMISSIONS["view"], request):
        raise NotFound(_("No such override request."))
    if to != "view" and not user.has_perm(OVERRIDE_PERMISSIONS[to], request):
        raise NotAllowed(
            _("You cannot decide on your own request.")
            if request.requested_by_id == user.pk
            else _("Only the requester's manager decides on this request.")
        )
    return request


def lead_to_convert(user: User, lead_id: Any, *, queryset: QuerySet[Lead] | None = None) -> Lead:
    """The lead `lead_id`, if `user` may convert it (its AE, their manager, RevOps)."""
    lead = lead_for(user, lead_id, to="view", queryset=queryset)
    require_may_convert(user, lead)
    return lead


def require_may_convert(user: User, lead: Lead) -> None:
    """For a lead the caller fetched with `lead_for` and looked at first (the wizard sends
    a converted lead to its deal before asking who may convert)."""
    if not user.has_perm(CONVERT_PERMISSION, lead):
        raise NotAllowed(_("Only the lead's AE, their manager or RevOps may convert it."))
