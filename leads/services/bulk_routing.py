"""Routing a batch of new leads (the CSV import's `leads_bulk_intake`): `_route`'s
decisions for many leads at once, with the rules and round-robin pointers read and locked
once and saved once, so a batch assigns exactly as one `_route` per row in file order."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from crm.models import Team, User
from leads.models import Lead, RoutingRule
from leads.services.assignment import (
    MATCH_FIELDS,
    _locked_fallback,
    _normalized,
    rule_matches,
)


@dataclass
class Assignment:
    """Who new leads go to: `owner`, else round robin in `team` (after `after`, which the
    batch advances for the next one), else the routing rules."""

    owner: User | None = None
    team: Team | None = None
    after: int | None = None


class BatchRouter:
    """`_route` for many leads: the rules and pointers read and locked once, each lead
    decided in file order as `routing_preview` would (`rule_matches`' comparison, made
    once per rule; `_next_in_turn` as a bisection), the pointers saved at the end."""

    def __init__(self, assignment: Assignment) -> None:
        self.assignment = assignment
        self.sdrs = list(User.objects.filter(role=User.Role.SDR, is_active=True).order_by("pk"))
        locked = RoutingRule.objects.select_for_update(of=("self",)).filter(is_active=True)
        rules = list(locked.select_related("team").order_by("pk"))
        self.rules = sorted(rules, key=lambda rule: (rule.position, rule.pk))
        self.pointers = {rule.pk: rule.last_assigned_id for rule in rules}
        self.moved: set[int] = set()
        self.fallback = _locked_fallback() if self.sdrs else None
        self.pointers[0] = self.fallback.last_assigned_id if self.fallback else None
        self.pools = {0: _Turn(self.sdrs)}
        self.matchers: list[tuple[RoutingRule, list[tuple[str, str]], str]] = []
        for rule in self.rules:
            self.pools[rule.pk] = _Turn([u for u in self.sdrs if u.team_id == rule.team_id])
            wanted = [(n, _normalized(getattr(rule, f"match_{n}"))) for n in MATCH_FIELDS]
            if rule_matches(rule, dict(wanted)) and self.pools[rule.pk].people:
                reason = _("Routed by rule “%s”") % rule.name
                self.matchers.append((rule, [(n, w) for n, w in wanted if w], reason))
        team = assignment.team
        self.team_pool = _Turn([u for u in self.sdrs if team and u.team_id == team.pk])
        self.reasons = {
            "owner": _("Assigned at intake"),
            "team": _("Round robin in team “%s”, the import's choice")
            % (team.name if team else ""),
            "fallback": _("No routing rule matched: round robin among all active SDRs"),
        }

    def decide(
        self, data: dict[str, Any], owner: User | None, *, status: str
    ) -> tuple[User | None, int, str]:
        """(owner, team id or 0, reason) for one new lead."""
        owner = owner or self.assignment.owner
        team = self.assignment.team
        if owner is not None:
            return owner, (team.pk if team else owner.team_id) or 0, self.reasons["owner"]
        if status not in Lead.OPEN_STATUSES:
            # A nurtured or disqualified lead has left the flow: nobody works it, so it is
            # routed to no one, takes no one's turn and waits in no queue. An owner the
            # file or the import named is kept (above), as is the import's team.
            return None, team.pk if team else 0, ""
        if team is not None and self.team_pool.people:
            chosen = self.team_pool.after(self.assignment.after)
            self.assignment.after = chosen.pk
            return chosen, team.pk, self.reasons["team"]
        for rule, conditions, reason in self.matchers:
            if all(_normalized(data.get(n)) == w for n, w in conditions):
                return self._turn(rule.pk), rule.team_id, reason
        if not self.sdrs:
            return None, 0, ""
        chosen = self._turn(0)
        return chosen, chosen.team_id or 0, self.reasons["fallback"]

    def _turn(self, key: int) -> User:
        chosen = self.pools[key].after(self.pointers[key])
        self.pointers[key] = chosen.pk
        self.moved.add(key)
        return chosen

    def save(self) -> None:
        for rule in self.rules:
            if rule.pk in self.moved:
                RoutingRule.objects.filter(pk=rule.pk).update(last_assigned=self.pointers[rule.pk])
        if self.fallback is not None and 0 in self.moved:
            self.fallback.last_assigned_id = self.pointers[0]
            self.fallback.save(update_fields=["last_assigned", "updated_at"])


class _Turn:
    """A rotation (`_next_in_turn`): the person after `after` by id, wrapping around."""

    def __init__(self, people: list[User]) -> None:
        self.people = people
        self.ids = [u.pk for u in people]

    def after(self, after: int | None) -> User:
        index = 0 if after is None else bisect.bisect_right(self.ids, after)
        return self.people[index % len(self.people)]
