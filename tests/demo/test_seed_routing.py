"""Seeded routing rules and MQL targets: a lead created after the seed is routed, the
year of leads sits with the teams the rules name, and marketing has targets to meet."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db.models.functions import TruncMonth

from crm.models import Team, User
from demo.routing import DEMO_ROUTING_RULES
from demo.seed import delete_demo_data
from leads import services
from leads.models import Lead, RoutingRule, Segment, SettingChange, Source
from leads.services.assignment import MATCH_FIELDS, rule_matches
from reports.models import MqlTarget
from tests.demo.seeding import NOW, seed


def test_routing_rules_cover_every_demo_team_and_are_audited(seeded: None) -> None:
    rules = RoutingRule.objects.filter(is_active=True)
    revops = User.objects.get(username="revops")

    assert rules.count() == len(DEMO_ROUTING_RULES)
    assert set(rules.values_list("team__name", flat=True)) == {
        "Inbound Squad",
        "Outbound Squad",
        "Partners & Events",
    }
    assert rules.filter(strategy=RoutingRule.Strategy.TERRITORY).exists()
    made = SettingChange.objects.filter(kind=SettingChange.Kind.ROUTING_RULE, actor=revops)
    assert made.count() == rules.count()


def test_the_years_leads_sit_with_the_team_their_rule_names(seeded: None) -> None:
    rules = list(RoutingRule.objects.filter(is_active=True))
    assigned = Lead.objects.filter(is_demo=True, team__isnull=False)

    for lead in assigned.only("team_id", *MATCH_FIELDS):
        values = {name: getattr(lead, name) for name in MATCH_FIELDS}
        expected = next(rule.team_id for rule in rules if rule_matches(rule, values))
        assert lead.team_id == expected, (lead.pk, values)
    teams = Counter(assigned.values_list("team__name", flat=True))
    assert len(teams) == 3 and min(teams.values()) > assigned.count() / 10


def test_a_lead_created_after_the_seed_is_routed_by_the_rules(seeded: None) -> None:
    # given the seeded rules, and a web-form lead from a small company in Singapore
    data = {
        "company_name": "Harbourline Logistics",
        "last_name": "Tan",
        "email": "mei.tan@harbourline.example",
        "source": Source.INBOUND,
        "segment": Segment.SMB,
        "territory": "APAC",
        "country": "SG",
    }

    # when it comes in
    lead = services.lead_create(by=User.objects.get(username="revops"), data=data)

    # then the inbound rule gives it to an Inbound Squad SDR, and the clocks run
    inbound = Team.objects.get(name="Inbound Squad")
    assert lead.team == inbound
    assert lead.owner is not None and lead.owner.team == inbound
    assert lead.owner.role == User.Role.SDR
    assert lead.sla_timers.running().filter(policy__key="first-contact").exists()


def test_an_enterprise_lead_in_apac_goes_to_the_abm_team(seeded: None) -> None:
    data = {
        "company_name": "Brightwave Payments Asia",
        "last_name": "Lim",
        "email": "ryan.lim@brightwave.example",
        "source": Source.EVENT,
        "segment": Segment.ENTERPRISE,
        "territory": "APAC",
        "country": "SG",
    }

    lead = services.lead_create(by=User.objects.get(username="revops"), data=data)

    assert lead.team == Team.objects.get(name="Outbound Squad")


def test_reset_replaces_the_rules_without_duplicating_them(seeded: None) -> None:
    seed(leads=100, reset=True)

    assert RoutingRule.objects.count() == len(DEMO_ROUTING_RULES)
    delete_demo_data()
    assert RoutingRule.objects.count() == 0
    assert not SettingChange.objects.filter(kind=SettingChange.Kind.ROUTING_RULE).exists()


def test_mql_targets_cover_the_year_for_every_source_some_met_some_missed(seeded: None) -> None:
    targets = {(t.month, t.source): t.target for t in MqlTarget.objects.all()}
    delivered = Counter(
        (row["month"].date() if hasattr(row["month"], "date") else row["month"], row["source"])
        for row in Lead.objects.filter(is_demo=True, mql_at__isnull=False)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "source")
    )
    current = NOW.date().replace(day=1)
    past = {key: target for key, target in targets.items() if key[0] < current}

    assert {source for _month, source in targets} == set(Source.values)
    assert len({month for month, _source in past}) >= 11
    assert any(month > current for month, _source in targets)  # next month is planned
    met = [key for key, target in past.items() if delivered[key] >= target]
    missed = [key for key, target in past.items() if delivered[key] < target]
    assert len(met) > len(missed) > 0
    assert all(isinstance(month, date) and month.day == 1 for month, _source in targets)
