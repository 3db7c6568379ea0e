"""Who owns a lead: routing by rule at intake and reopening, and reassignment by a manager.

Every change of owner goes through `_assign`, so each one is recorded, notifies the new
owner and moves the SLA clocks the same way, whoever or whatever made it.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import Notification, User
from crm.services import notify
from crm.versioning import save_with_version_bump
from leads.clocks import ClockEvent, clocks
from leads.models import Lead, LeadEvent, RoutingRule
from leads.services._locking import lock_for
from leads.services._records import lead_url, record_event


def lead_assign(*, lead_id: int, by: User, owner: User, reason: str = "") -> Lead:
    """A manager or RevOps gives the lead to another SDR."""
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="assign")
        if not lead.is_open and lead.status != Lead.Status.NURTURE:
            raise InvalidTransition(current=lead.status, target="assigned")
        _assign(lead, owner=owner, by=by, at=timezone.now(), reason=reason or _("Reassigned"))
    return lead


def _route(lead: Lead, *, at: datetime.datetime) -> None:
    """Apply the first matching active routing rule: round robin among the team's
    active SDRs. No match leaves the lead unassigned (the routing SLA then escalates)."""
    for rule in (
        RoutingRule.objects.select_for_update().filter(is_active=True).select_related("team")
    ):
        if rule.match_source and rule.match_source != lead.source:
            continue
        if rule.match_segment and rule.match_segment != lead.segment:
            continue
        if rule.match_territory and rule.match_territory.lower() != lead.territory.lower():
            continue
        if rule.strategy == RoutingRule.Strategy.TERRITORY and not (
            rule.match_segment or rule.match_territory
        ):
            continue
        sdrs = list(
            User.objects.filter(team=rule.team, role=User.Role.SDR, is_active=True).order_by("pk")
        )
        if not sdrs:
            continue
        after = [u for u in sdrs if rule.last_assigned_id and u.pk > rule.last_assigned_id]
        owner = (after or sdrs)[0]
        rule.last_assigned = owner
        rule.save(update_fields=["last_assigned"])
        lead.team = rule.team
        _assign(lead, owner=owner, by=None, at=at, reason=_("Routed by rule “%s”") % rule.name)
        return


def _assign(
    lead: Lead, *, owner: User, by: User | None, at: datetime.datetime, reason: str
) -> None:
    """Give a locked lead to `owner`: record it, tell them, and start or move the clocks."""
    if not (owner.is_active and owner.role in (User.Role.SDR, User.Role.MANAGER)):
        raise ValidationFailed(
            problems=[Problem("not_an_sdr", "owner", _("Leads are owned by an active SDR."))]
        )
    previous = lead.owner
    first = lead.assigned_at is None
    lead.owner = owner
    if lead.team_id is None:
        lead.team_id = owner.team_id
    lead.assigned_at = lead.assigned_at or at
    save_with_version_bump(lead, ["owner", "team", "assigned_at"])
    record_event(
        lead,
        LeadEvent.Kind.ASSIGNED,
        by=by,
        at=at,
        changes={"owner": [str(previous) if previous else None, str(owner)]},
        note=reason,
    )
    if first:
        clocks().on_event(lead=lead, event=ClockEvent.ASSIGNED, at=at)
    else:
        clocks().on_reassign(lead=lead)
    notify(
        recipients=[owner],
        kind=Notification.Kind.ASSIGNMENT,
        message=_("New lead for you: %(company)s (%(person)s)")
        % {"company": lead.company_name, "person": lead.full_name},
        url=lead_url(lead),
    )


def owner_choices() -> list[User]:
    """The SDRs offered as owners by the assign forms of every interface."""
    return list(User.objects.filter(is_active=True, role=User.Role.SDR).order_by("first_name"))
