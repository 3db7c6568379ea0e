"""Who may see, work, convert and approve deals, and decide override requests.

One definition, used by `opportunities.access` (views, the API, services) and by the
pages' buttons. `Opportunity.objects.visible_to(user)` and
`ConversionRequest.objects.decidable_by(user)` are the same rules as queries.
"""

from __future__ import annotations

import rules

from crm.models import User
from leads.models import Lead
from leads.rules import can_view_lead, manages_lead, sees_everything
from opportunities.models import ConversionRequest, Opportunity


@rules.predicate
def owns_opportunity(user: User, opportunity: Opportunity) -> bool:
    return opportunity.owner_id == user.pk


@rules.predicate
def manages_opportunity_owner(user: User, opportunity: Opportunity) -> bool:
    if not user.is_manager:
        return False
    owner = opportunity.owner
    return owner.manager_id == user.pk or (
        owner.team is not None and owner.team.manager_id == user.pk
    )


@rules.predicate
def sourced_the_lead(user: User, opportunity: Opportunity) -> bool:
    return opportunity.lead is not None and opportunity.lead.owner_id == user.pk


@rules.predicate
def is_the_leads_ae(user: User, lead: Lead) -> bool:
    """The AE the lead was handed to converts it."""
    return user.is_ae and lead.ae_id == user.pk


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


@rules.predicate
def is_revops(user: User) -> bool:
    return user.is_authenticated and user.is_revops


@rules.predicate
def is_ae(user: User) -> bool:
    return user.is_authenticated and user.is_ae


@rules.predicate
def asked_for_it(user: User, request: ConversionRequest) -> bool:
    return request.requested_by_id == user.pk


@rules.predicate
def manages_requester(user: User, request: ConversionRequest) -> bool:
    asker = request.requested_by
    return asker.manager_id == user.pk or (
        asker.team is not None and asker.team.manager_id == user.pk
    )


@rules.predicate
def manages_requested_lead(user: User, request: ConversionRequest) -> bool:
    return bool(manages_lead(user, request.lead))


@rules.predicate
def may_view_requested_lead(user: User, request: ConversionRequest) -> bool:
    return bool(can_view_lead(user, request.lead))


# Managers and RevOps approve; a manager only for their own people, never themselves.
is_approver = is_manager | is_revops

can_work_opportunity = sees_everything | owns_opportunity | manages_opportunity_owner
can_view_opportunity = can_work_opportunity | sourced_the_lead
can_convert_lead = sees_everything | is_the_leads_ae | manages_lead
# Letting a large deal into the forecast (or sending it back) is the owner's manager's call.
can_approve_opportunity = is_approver & can_work_opportunity & ~owns_opportunity
can_decide_override = (
    is_approver & (sees_everything | manages_requester | manages_requested_lead) & ~asked_for_it
)
can_view_override = asked_for_it | may_view_requested_lead | can_decide_override
# Page-level choices: the team's pipeline (owner and team filters), the board's drag and
# drop (each move is still checked per deal).
can_filter_by_owner = sees_everything | is_manager
can_move_on_board = sees_everything | is_manager | is_ae
# The pipeline settings (stages, conversion policy): RevOps owns the rules, managers read
# them on the settings pages, reps never see those pages. Over the API anyone signed in
# reads them: a client needs stage ids to convert and move deals, and the policy's rules.
can_change_settings = is_revops
can_view_settings = is_manager | is_revops
can_read_settings = rules.is_authenticated

rules.add_perm("opportunities.view_opportunity", can_view_opportunity)
rules.add_perm("opportunities.work_opportunity", can_work_opportunity)
rules.add_perm("opportunities.convert_lead", can_convert_lead)
rules.add_perm("opportunities.approve_opportunity", can_approve_opportunity)
rules.add_perm("opportunities.view_override", can_view_override)
rules.add_perm("opportunities.decide_override", can_decide_override)
rules.add_perm("opportunities.decide_overrides", is_approver)
rules.add_perm("opportunities.filter_by_owner", can_filter_by_owner)
rules.add_perm("opportunities.move_on_board", can_move_on_board)
rules.add_perm("opportunities.change_settings", can_change_settings)
rules.add_perm("opportunities.view_settings", can_view_settings)
rules.add_perm("opportunities.read_settings", can_read_settings)
