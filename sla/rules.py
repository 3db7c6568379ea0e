"""Who may see and change SLA settings and clocks. One definition, used by the services
(`sla.configuration`), the pages, the API, the admin and the templates' buttons;
`SlaTimer.objects.visible_to(user)` is the clock rule as a query for lists."""

from __future__ import annotations

import rules

from crm.models import User
from sla.models import SlaTimer


@rules.predicate
def is_revops(user: User) -> bool:
    """RevOps, admins and superusers (`User.is_revops`)."""
    return user.is_authenticated and user.is_revops


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


@rules.predicate
def answers_for_timer(user: User, timer: SlaTimer) -> bool:
    return timer.responsible_id is not None and timer.responsible_id == user.pk


@rules.predicate
def manages_timer(user: User, timer: SlaTimer) -> bool:
    """The manager of the lead's team, or of the person who answers for the clock (as
    `SlaTimerQuerySet.visible_to` has it)."""
    if not user.is_manager:
        return False
    lead_team = timer.lead.team
    if lead_team is not None and lead_team.manager_id == user.pk:
        return True
    person = timer.responsible
    if person is None:
        return False
    return person.manager_id == user.pk or (
        person.team is not None and person.team.manager_id == user.pk
    )


@rules.predicate
def may_view_timers_lead(user: User, timer: SlaTimer) -> bool:
    """A lead's clocks are shown on the lead's page to whoever may view the lead."""
    return user.has_perm("leads.view_lead", timer.lead)


# RevOps owns the rules: only RevOps (and admins) change SLA targets and calendars.
can_edit_sla_settings = is_revops
# The /sla/ area (overview, policies, calendars) is for managers and RevOps; reps see
# their clocks on their leads.
can_view_sla_area = is_manager | is_revops
# Over the API anyone signed in may read the settings (integrations, the reps' tools).
can_read_sla_settings = rules.is_authenticated
can_view_timer = is_revops | answers_for_timer | manages_timer | may_view_timers_lead

rules.add_perm("sla.change_settings", can_edit_sla_settings)
rules.add_perm("sla.view_area", can_view_sla_area)
rules.add_perm("sla.read_settings", can_read_sla_settings)
rules.add_perm("sla.view_timer", can_view_timer)
