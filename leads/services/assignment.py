"""Who owns a lead: routing at intake and reopening, and reassignment by a manager.

Routing never drops a lead: the first matching rule's team in turn, else every active
SDR in turn (`RoutingFallback`), else the Unassigned queue with the routing clock running.

Every change of owner goes through `_assign`, so each one is recorded, notifies the new
owner and moves the SLA clocks the same way, whoever or whatever made it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import Notification, User
from crm.services import notify
from crm.versioning import save_with_version_bump
from leads.clocks import ClockEvent, clocks
from leads.models import Lead, LeadEvent, RoutingFallback, RoutingRule
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


@dataclass(frozen=True)
class RoutingDecision:
    """Where routing would send a lead, and why.

    `rule` is the first active rule that matches and whose team has an active SDR (None:
    no such rule, so the fallback round robin among every active SDR); `owner` is the SDR
    next in that rotation (None: there is no active SDR at all, and the lead waits in the
    Unassigned queue). `skipped` are the rules that matched but whose team has no active
    SDR. `pool` is the rotation `owner` comes from, in order.
    """

    rule: RoutingRule | None
    owner: User | None
    pool: tuple[User, ...] = ()
    skipped: tuple[RoutingRule, ...] = ()

    @property
    def is_fallback(self) -> bool:
        return self.rule is None and self.owner is not None


# What a rule matches on: the lead's field, compared without regard to case or spaces.
MATCH_FIELDS = ("source", "segment", "territory", "country", "campaign")


def routing_preview(values: Mapping[str, Any]) -> RoutingDecision:
    """Where a lead with these `values` (the MATCH_FIELDS) would go now, without changing
    anything: the settings' "who would get this lead?" tester, and `_route`'s first step.

    Reads without locks; `_route` locks only the one pointer it then advances.
    """
    sdrs = list(User.objects.filter(role=User.Role.SDR, is_active=True).order_by("pk"))
    skipped: list[RoutingRule] = []
    for rule in RoutingRule.objects.filter(is_active=True).select_related("team"):
        if not rule_matches(rule, values):
            continue
        pool = tuple(u for u in sdrs if u.team_id == rule.team_id)
        if pool:
            return RoutingDecision(
                rule=rule,
                owner=_next_in_turn(pool, after=rule.last_assigned_id),
                pool=pool,
                skipped=tuple(skipped),
            )
        skipped.append(rule)
    if not sdrs:
        return RoutingDecision(rule=None, owner=None, skipped=tuple(skipped))
    pointer = RoutingFallback.objects.filter(pk=RoutingFallback.SINGLETON).first()
    after = pointer.last_assigned_id if pointer is not None else None
    return RoutingDecision(
        rule=None,
        owner=_next_in_turn(sdrs, after=after),
        pool=tuple(sdrs),
        skipped=tuple(skipped),
    )


def rule_matches(rule: RoutingRule, values: Mapping[str, Any]) -> bool:
    """A blank condition matches anything; a "by territory" rule must name a territory,
    segment or country (one without any is never applied)."""
    if rule.strategy == RoutingRule.Strategy.TERRITORY and not (
        rule.match_segment or rule.match_territory or rule.match_country
    ):
        return False
    for name in MATCH_FIELDS:
        wanted = _normalized(getattr(rule, f"match_{name}"))
        if wanted and wanted != _normalized(values.get(name)):
            return False
    return True


def _normalized(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def _next_in_turn(pool: Sequence[User], *, after: int | None) -> User:
    """The SDR after `after` (by id) in `pool`, wrapping around: each gets one in turn,
    and SDRs who join or leave do not reset the rotation."""
    following = [u for u in pool if after is not None and u.pk > after]
    return (following or list(pool))[0]


def _route(lead: Lead, *, at: datetime.datetime) -> None:
    """Give a new or reopened MQL an owner: the first matching rule's team in turn, else
    every active SDR in turn. With no active SDR the lead stays unassigned: it shows in
    the Unassigned queue managers and RevOps watch, and the routing clock escalates.

    Only the one pointer being advanced is locked (the rule's row, or the fallback's),
    so concurrent intakes routed by different rules do not wait for each other.
    """
    decision = routing_preview({name: getattr(lead, name) for name in MATCH_FIELDS})
    if decision.owner is None:
        return
    if decision.rule is not None:
        rule = RoutingRule.objects.select_for_update(of=("self",)).get(pk=decision.rule.pk)
        owner = _next_in_turn(decision.pool, after=rule.last_assigned_id)
        rule.last_assigned = owner
        rule.save(update_fields=["last_assigned"])
        lead.team = decision.rule.team
        reason = _("Routed by rule “%s”") % rule.name
    else:
        pointer = _locked_fallback()
        owner = _next_in_turn(decision.pool, after=pointer.last_assigned_id)
        pointer.last_assigned = owner
        pointer.save(update_fields=["last_assigned", "updated_at"])
        reason = _("No routing rule matched: round robin among all active SDRs")
    _assign(lead, owner=owner, by=None, at=at, reason=reason)


def _locked_fallback() -> RoutingFallback:
    """The fallback pointer's row, locked. A migration creates it; should it be missing
    (a flushed database), it is inserted ignoring a concurrent insert, then locked."""
    rows = RoutingFallback.objects.select_for_update(of=("self",))
    pointer = rows.filter(pk=RoutingFallback.SINGLETON).first()
    if pointer is None:
        RoutingFallback.objects.bulk_create(
            [RoutingFallback(pk=RoutingFallback.SINGLETON)], ignore_conflicts=True
        )
        pointer = rows.get(pk=RoutingFallback.SINGLETON)
    return pointer


def may_own_leads(user: User) -> bool:
    """Who may own a lead: an active SDR, or an active manager (who works some leads
    themselves); the assignment refuses anyone else, and so does an import's row."""
    return user.is_active and user.role in (User.Role.SDR, User.Role.MANAGER)


def not_an_owner(field: str = "owner") -> Problem:
    return Problem("not_an_sdr", field, _("Leads are owned by an active SDR or manager."))


def _assign(
    lead: Lead, *, owner: User, by: User | None, at: datetime.datetime, reason: str
) -> None:
    """Give a locked lead to `owner`: record it, tell them, and start or move the clocks."""
    if not may_own_leads(owner):
        raise ValidationFailed(problems=[not_an_owner()])
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
        message=lambda: (
            _("New lead for you: %(company)s (%(person)s)")
            % {"company": lead.company_name, "person": lead.full_name}
        ),
        url=lead_url(lead),
        by=by,
    )


def owner_choices() -> list[User]:
    """The SDRs offered as owners by the assign forms of every interface."""
    return list(User.objects.filter(is_active=True, role=User.Role.SDR).order_by("first_name"))
