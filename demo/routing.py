"""The demo's routing rules: RevOps' set-up of who works which leads, created through the
settings service (so the settings pages show who made them), and followed by the
history too, so the year of leads sits with the teams the rules name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from crm.models import Team, User
from demo.staff import DEMO_TEAMS
from leads.models import RoutingRule, Segment, Source
from leads.services.assignment import rule_matches
from leads.services.settings import routing_rule_create

Strategy = RoutingRule.Strategy


@dataclass(frozen=True)
class RuleSpec:
    name: str
    team: str
    strategy: str = Strategy.ROUND_ROBIN
    source: str = ""
    segment: str = ""
    territory: str = ""
    country: str = ""
    campaign: str = ""

    def data(self, team: Team, position: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": position,
            "strategy": self.strategy,
            "team": team,
            "match_source": self.source,
            "match_segment": self.segment,
            "match_territory": self.territory,
            "match_country": self.country,
            "match_campaign": self.campaign,
        }


# First match wins. Big accounts go to the ABM team whatever the channel; the reseller
# in Indonesia works with the same team; then each channel to the team that runs it; and
# a catch-all so no lead waits for a rule.
DEMO_ROUTING_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        "Enterprise accounts in APAC to the ABM team",
        "Outbound Squad",
        Strategy.TERRITORY,
        segment=Segment.ENTERPRISE,
        territory="APAC",
    ),
    RuleSpec(
        "Enterprise accounts in Indonesia to the ABM team",
        "Outbound Squad",
        Strategy.TERRITORY,
        segment=Segment.ENTERPRISE,
        country="ID",
    ),
    RuleSpec(
        "Nusa Cloud reseller leads",
        "Outbound Squad",
        source=Source.PARTNER,
        campaign="Partner: Nusa Cloud reseller",
    ),
    RuleSpec("Events and webinars", "Partners & Events", source=Source.EVENT),
    RuleSpec("Partner-registered leads", "Partners & Events", source=Source.PARTNER),
    RuleSpec("Outbound prospecting", "Outbound Squad", source=Source.OUTBOUND),
    RuleSpec("Inbound: website, ads and content", "Inbound Squad", source=Source.INBOUND),
    RuleSpec("Customer referrals", "Inbound Squad", source=Source.REFERRAL),
    RuleSpec("Everything else, in turn", "Inbound Squad"),
)


def create_routing_rules(*, by: User, teams: dict[str, Team]) -> list[RoutingRule]:
    """The demo's rules, after any rules already there, made by the RevOps login `by`.
    A rule of the same name on the same team is not made twice (a seed next to data that
    kept the demo teams)."""
    existing = RoutingRule.objects.all()
    have = set(existing.values_list("team_id", "name"))
    last = max((rule.position for rule in existing), default=-1)
    made = []
    for spec in DEMO_ROUTING_RULES:
        team = teams[spec.team]
        if (team.pk, spec.name) in have:
            continue
        last += 1
        made.append(routing_rule_create(by=by, data=spec.data(team, last)))
    return made


def demo_rules() -> QuerySet[RoutingRule]:
    """The rules that route to the demo's teams: deleted with the demo data."""
    return RoutingRule.objects.filter(team__name__in=DEMO_TEAMS)


class RouteFinder:
    """The team the first matching rule names, with the app's own matching, remembered
    per combination of the matched fields (a few hundred for the whole history). As in
    the app, a rule whose team has no (demo) SDRs is skipped; with no match, `fallback`
    names the team by source."""

    def __init__(
        self, rules: Sequence[RoutingRule], *, staffed: set[int], fallback: dict[str, int]
    ) -> None:
        self.rules = tuple(rule for rule in rules if rule.team_id in staffed)
        self.fallback = fallback
        self._teams: dict[tuple[str, ...], int] = {}

    def team_for(
        self, *, source: str, segment: str, territory: str, country: str, campaign: str
    ) -> int:
        key = (source, segment, territory, country, campaign)
        if key not in self._teams:
            values = {
                "source": source,
                "segment": segment,
                "territory": territory,
                "country": country,
                "campaign": campaign,
            }
            matched = next((r.team_id for r in self.rules if rule_matches(r, values)), None)
            self._teams[key] = matched or self.fallback[source]
        return self._teams[key]
