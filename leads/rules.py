"""Who may read and work a lead, and who may read and change the leads settings (routing
rules, reasons). One definition, used by views, the API and services (through
`leads.access.lead_for`) and by the lead page's buttons; `Lead.objects.visible_to(user)`
is the same rule as a query."""

from __future__ import annotations

import rules

from crm.models import User
from leads.models import Lead


@rules.predicate
def sees_everything(user: User) -> bool:
    return user.is_authenticated and user.sees_everything


@rules.predicate
def owns_lead(user: User, lead: Lead) -> bool:
    return lead.owner_id == user.pk


@rules.predicate
def is_leads_ae(user: User, lead: Lead) -> bool:
    return user.is_ae and lead.ae_id == user.pk


@rules.predicate
def manages_lead(user: User, lead: Lead) -> bool:
    if not user.is_manager:
        return False
    if lead.team is not None and lead.team.manager_id == user.pk:
        return True
    return lead.owner is not None and lead.owner.manager_id == user.pk


@rules.predicate
def shares_readable_team(user: User, lead: Lead) -> bool:
    return user.team is not None and lead.team_id == user.team_id and user.team.sdrs_see_team_leads


@rules.predicate
def lead_is_rejected(user: User, lead: Lead) -> bool:
    return lead.status == Lead.Status.REJECTED


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


@rules.predicate
def is_waiting_for_owner(user: User, lead: Lead) -> bool:
    """Open and unowned: routing found no SDR (`LeadQuerySet.unassigned`)."""
    return lead.owner_id is None and lead.is_open


@rules.predicate
def is_merged_away(user: User, lead: Lead) -> bool:
    """Merged into another lead (`leads.services.merge`): kept, read-only, for the record."""
    return lead.merged_into_id is not None


works_on_lead = sees_everything | owns_lead | is_leads_ae | manages_lead
# A merged-away lead is history: its person is worked on the lead it was merged into.
can_work_lead = works_on_lead & ~is_merged_away
# Every manager sees the Unassigned queue, so a lead no rule could route is never lost.
can_view_lead = works_on_lead | shares_readable_team | (is_manager & is_waiting_for_owner)
# Assigning leads to people is a manager's or RevOps' call, never the rep's own.
can_assign_lead = (
    sees_everything | manages_lead | (is_manager & is_waiting_for_owner)
) & ~is_merged_away
can_create_lead = rules.is_authenticated
# The discovery call is the AE's; the SDR who handed off does not mark it held.
can_record_discovery = (sees_everything | is_leads_ae | manages_lead) & ~is_merged_away
# A nurtured lead may be reopened by whoever works it; overturning sales' rejection is
# a manager's or RevOps' decision.
can_reopen_lead = (lead_is_rejected & can_assign_lead) | (~lead_is_rejected & can_work_lead)
# Two leads of one person become one: a manager's or RevOps' call, like assigning, asked
# of each of the two leads (`leads.services.merge`).
# A lead merged away already is refused by the service, saying so.
can_merge_leads = sees_everything | manages_lead | (is_manager & is_waiting_for_owner)

rules.add_perm("leads.view_lead", can_view_lead)
rules.add_perm("leads.work_lead", can_work_lead)
rules.add_perm("leads.assign_lead", can_assign_lead)
rules.add_perm("leads.add_lead", can_create_lead)
rules.add_perm("leads.record_discovery", can_record_discovery)
rules.add_perm("leads.reopen_lead", can_reopen_lead)
rules.add_perm("leads.merge_lead", can_merge_leads)

# Routing rules and reasons: RevOps owns them; managers read them; reps never see them.
can_view_settings = sees_everything | is_manager
can_change_settings = sees_everything
rules.add_perm("leads.view_settings", can_view_settings)
rules.add_perm("leads.change_settings", can_change_settings)
