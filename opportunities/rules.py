"""Who may see, work and convert deals. Mirrors `Opportunity.objects.visible_to`."""

from __future__ import annotations

import rules

from crm.models import User
from leads.models import Lead
from leads.rules import manages_lead, sees_everything
from opportunities.models import Opportunity


@rules.predicate
def owns_opportunity(user: User, opportunity: Opportunity) -> bool:
    return opportunity.owner_id == user.pk


@rules.predicate
def manages_opportunity_owner(user: User, opportunity: Opportunity) -> bool:
    if not user.is_manager:
        return False
    owner = opportunity.owner
    return owner.manager_id == user.pk or (
        owner.team_id is not None and owner.team.manager_id == user.pk
    )


@rules.predicate
def sourced_the_lead(user: User, opportunity: Opportunity) -> bool:
    return opportunity.lead_id is not None and opportunity.lead.owner_id == user.pk


@rules.predicate
def is_the_leads_ae(user: User, lead: Lead) -> bool:
    """The AE the lead was handed to converts it."""
    return user.is_ae and lead.ae_id == user.pk


can_work_opportunity = sees_everything | owns_opportunity | manages_opportunity_owner
can_view_opportunity = can_work_opportunity | sourced_the_lead
can_convert_lead = sees_everything | is_the_leads_ae | manages_lead

rules.add_perm("opportunities.view_opportunity", can_view_opportunity)
rules.add_perm("opportunities.work_opportunity", can_work_opportunity)
rules.add_perm("opportunities.convert_lead", can_convert_lead)
