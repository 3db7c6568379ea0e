"""Routing never drops a lead: rules (source, segment, territory, country, campaign) route
to a team in turn; with no rule, every active SDR in turn; with no SDR, the Unassigned
queue managers and RevOps see, and the routing clock escalates."""

from __future__ import annotations

import datetime
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.urls import reverse

from crm.models import Notification, User
from leads import services
from leads.models import Lead, LeadEvent, RoutingFallback, RoutingRule
from leads.services.assignment import routing_preview
from sla.models import SlaEvent, SlaTimer
from sla.sweep import timers_sweep
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "company_name": "PT Nusantara Logistik",
    "last_name": "Wijaya",
    "first_name": "Budi",
    "email": "budi@nusantara.example",
    "source": "inbound",
}
MINUTE = datetime.timedelta(minutes=1)


def _intake(n: int = 0, **fields) -> Lead:
    return services.lead_create(by=None, data={**VALID, "email": f"p{n}@x.example", **fields})


def _rule(team, **kwargs) -> RoutingRule:
    kwargs.setdefault("name", f"Rule {RoutingRule.objects.count() + 1}")
    kwargs.setdefault("strategy", RoutingRule.Strategy.ROUND_ROBIN)
    return RoutingRule.objects.create(team=team, **kwargs)


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ({"match_source": "event"}, {"source": "event"}, {"source": "inbound"}),
        ({"match_segment": "enterprise"}, {"segment": "enterprise"}, {"segment": "smb"}),
        ({"match_territory": "East Java"}, {"territory": "east  java"}, {"territory": "Bali"}),
        ({"match_country": "ID"}, {"country": "id"}, {"country": "SG"}),
        ({"match_campaign": "Webinar Q3"}, {"campaign": "webinar q3"}, {"campaign": "Expo"}),
    ],
)
def test_a_rule_routes_on_each_condition(condition, matching, other):
    special, rest = TeamFactory(name="Special"), TeamFactory(name="Rest")
    special_sdr, rest_sdr = UserFactory(sdr=True, team=special), UserFactory(sdr=True, team=rest)
    _rule(special, position=0, **condition)
    _rule(rest, position=1)

    assert _intake(1, **matching).owner == special_sdr
    assert _intake(2, **other).owner == rest_sdr


def test_the_first_matching_rule_by_position_wins_and_records_its_name():
    first, second = TeamFactory(name="First"), TeamFactory(name="Second")
    UserFactory(sdr=True, team=first)
    UserFactory(sdr=True, team=second)
    _rule(second, name="Catch-all", position=5)
    _rule(first, name="Inbound APAC", position=1, match_source="inbound")

    lead = _intake()

    assert lead.team == first
    event = LeadEvent.objects.get(lead=lead, kind="assigned")
    assert event.note == "Routed by rule “Inbound APAC”" and event.actor is None


def test_a_rule_round_robins_within_its_team_only():
    team = TeamFactory(name="Inbound")
    a, b = UserFactory(sdr=True, team=team), UserFactory(sdr=True, team=team)
    UserFactory(sdr=True)  # another team's SDR never gets these
    UserFactory(sdr=True, team=team, is_active=False)
    UserFactory(ae=True, team=team)
    _rule(team)

    owners = [_intake(i).owner for i in range(5)]

    assert owners == [a, b, a, b, a]
    assert RoutingRule.objects.get().last_assigned == a


def test_a_by_territory_rule_without_territory_segment_or_country_is_never_applied():
    team, rest = TeamFactory(name="Territory"), TeamFactory(name="Rest")
    UserFactory(sdr=True, team=team)
    rest_sdr = UserFactory(sdr=True, team=rest)
    _rule(team, strategy=RoutingRule.Strategy.TERRITORY, position=0, match_source="inbound")
    _rule(rest, position=1)

    assert _intake().owner == rest_sdr


def test_a_retired_rule_is_not_applied():
    team = TeamFactory(name="Retired")
    UserFactory(sdr=True, team=team)
    retired = _rule(team, is_active=False)

    lead = _intake()

    retired.refresh_from_db()
    assert retired.last_assigned is None
    assert LeadEvent.objects.get(lead=lead, kind="assigned").note.startswith(
        "No routing rule matched"
    )


# --- the fallback -----------------------------------------------------------------------------


def test_with_no_rule_every_active_sdr_gets_leads_in_turn():
    sdrs = [UserFactory(sdr=True) for _ in range(3)]
    UserFactory(sdr=True, is_active=False)
    UserFactory(manager=True)
    UserFactory(ae=True)

    leads = [_intake(i) for i in range(9)]

    assert Counter(lead.owner for lead in leads) == dict.fromkeys(sdrs, 3)
    assert [lead.owner for lead in leads[:3]] == sdrs
    assert all(lead.assigned_at for lead in leads)
    assert (
        LeadEvent.objects.filter(
            kind="assigned", note__startswith="No routing rule matched"
        ).count()
        == 9
    )


def test_the_fallback_turn_survives_sdrs_joining_and_leaving():
    a, b = UserFactory(sdr=True), UserFactory(sdr=True)
    assert _intake(1).owner == a
    c = UserFactory(sdr=True)
    b.is_active = False
    b.save(update_fields=["is_active"])

    assert [_intake(i).owner for i in range(2, 5)] == [c, a, c]


def test_a_matching_rule_whose_team_has_no_active_sdr_falls_through_to_the_fallback():
    empty = TeamFactory(name="Empty")
    UserFactory(sdr=True, team=empty, is_active=False)
    _rule(empty, match_source="inbound")
    anyone = UserFactory(sdr=True)

    lead = _intake()

    assert lead.owner == anyone
    assert RoutingFallback.objects.get().last_assigned == anyone


def test_the_fallback_pointer_is_recreated_if_its_row_is_gone():
    RoutingFallback.objects.all().delete()
    sdr = UserFactory(sdr=True)

    assert _intake().owner == sdr
    assert RoutingFallback.objects.get(pk=RoutingFallback.SINGLETON).last_assigned == sdr


def test_reopening_a_lead_whose_owner_left_routes_it_again():
    gone, stays = UserFactory(sdr=True), UserFactory(sdr=True)
    lead = LeadFactory(owner=gone, status=Lead.Status.NURTURE)
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    lead = services.lead_reopen(lead_id=lead.pk, by=UserFactory(revops=True), reason="Back")

    assert lead.owner == stays


# --- nobody to route to -----------------------------------------------------------------------


def test_with_no_active_sdr_the_lead_waits_unassigned_and_the_routing_clock_escalates():
    UserFactory(sdr=True, is_active=False)
    ops = UserFactory(revops=True)

    lead = _intake()

    # the clock started on MQL, with nobody responsible yet
    assert lead.owner is None and lead.team is None
    timer = SlaTimer.objects.get(lead=lead, policy__key="route-mql")
    assert timer.stopped_at is None and timer.started_at == lead.mql_at
    assert timer.due_at - timer.started_at == 5 * MINUTE
    assert timer.responsible is None

    # the sweep records the breach at 5 minutes, then escalates to RevOps 15 minutes later
    timers_sweep(now=timer.due_at + MINUTE)
    timers_sweep(now=timer.due_at + 16 * MINUTE)

    timer.refresh_from_db()
    assert timer.breached_at is not None
    kinds = set(SlaEvent.objects.filter(timer=timer).values_list("kind", "level"))
    assert ("breach", 0) in kinds and ("escalation", 1) in kinds
    assert Notification.objects.filter(recipient=ops, kind="escalation").exists()


def test_managers_and_revops_see_unassigned_leads_others_do_not(client):
    lead = _intake()
    assert lead.owner is None
    manager, ops = UserFactory(manager=True), UserFactory(revops=True)
    sdr, ae = UserFactory(sdr=True), UserFactory(ae=True)

    for user in (manager, ops):
        assert Lead.objects.visible_to(user).filter(pk=lead.pk).exists()
        assert user.has_perm("leads.view_lead", lead)
        assert user.has_perm("leads.assign_lead", lead)
    for user in (sdr, ae):
        assert not Lead.objects.visible_to(user).filter(pk=lead.pk).exists()
        assert not user.has_perm("leads.view_lead", lead)


def test_a_manager_does_not_see_an_unassigned_lead_once_it_is_closed():
    lead = LeadFactory(owner=None, status=Lead.Status.DISQUALIFIED)
    manager = UserFactory(manager=True)

    assert not Lead.objects.visible_to(manager).filter(pk=lead.pk).exists()
    assert not manager.has_perm("leads.view_lead", lead)


def test_a_manager_assigns_from_the_unassigned_queue(client):
    lead = _intake()
    manager = UserFactory(manager=True)
    rep = UserFactory(sdr=True)
    client.force_login(manager)

    page = client.get(reverse("leads:list"), {"owner": "none"})
    assert page.status_code == 200
    assert lead.company_name in page.content.decode()
    assert page.context["unassigned_count"] == 1
    assert 'data-testid="queue-assign"' in page.content.decode()

    response = client.post(reverse("leads:assign_from_queue", args=[lead.pk]), {"owner": rep.pk})

    assert response.status_code == 302 and "owner=none" in response["Location"]
    lead.refresh_from_db()
    assert lead.owner == rep
    assert SlaTimer.objects.get(lead=lead, policy__key="route-mql").met is True
    event = LeadEvent.objects.get(lead=lead, kind="assigned")
    assert event.actor == manager


def test_the_unassigned_tab_shows_to_managers_and_revops_only(client):
    _intake()
    for user, shown in (
        (UserFactory(manager=True), True),
        (UserFactory(revops=True), True),
        (UserFactory(sdr=True), False),
        (UserFactory(ae=True), False),
    ):
        client.force_login(user)
        page = client.get(reverse("leads:list")).content.decode()
        assert ('data-testid="unassigned-tab"' in page) is shown, user.role


def test_an_sdr_cannot_assign_from_the_queue(client):
    lead = _intake()
    sdr = UserFactory(sdr=True)
    # the SDR now exists, but the lead was created before: it is still unassigned
    client.force_login(sdr)

    response = client.post(reverse("leads:assign_from_queue", args=[lead.pk]), {"owner": sdr.pk})

    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.owner is None


# --- the tester -------------------------------------------------------------------------------


def test_the_preview_names_the_rule_and_the_next_sdr_without_moving_the_turn():
    team = TeamFactory(name="Events")
    a, b = UserFactory(sdr=True, team=team), UserFactory(sdr=True, team=team)
    rule = _rule(team, match_source="event")

    for _ in range(3):
        decision = routing_preview({"source": "event"})
        assert (decision.rule, decision.owner) == (rule, a)
    rule.refresh_from_db()
    assert rule.last_assigned is None

    assert _intake(source="event").owner == a
    assert routing_preview({"source": "event"}).owner == b


def test_the_preview_of_the_fallback_and_of_nobody():
    assert routing_preview({"source": "inbound"}).owner is None
    sdr = UserFactory(sdr=True)
    decision = routing_preview({"source": "inbound"})
    assert decision.rule is None and decision.owner == sdr and decision.is_fallback
    assert RoutingFallback.objects.get().last_assigned is None


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_routing_locks_only_the_pointer_it_advances():
    """While one intake holds rule A's pointer, an intake routed by rule B is not blocked."""
    from django.db import transaction

    a_team, b_team = TeamFactory(name="A"), TeamFactory(name="B")
    UserFactory(sdr=True, team=a_team)
    b_sdr = UserFactory(sdr=True, team=b_team)
    rule_a = _rule(a_team, match_source="event", position=0)
    _rule(b_team, match_source="inbound", position=1)
    done = threading.Event()
    owners: list[User | None] = []

    def other_intake() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            owners.append(_intake(9, source="inbound").owner)
        finally:
            connections["default"].close()
            done.set()

    with transaction.atomic():
        RoutingRule.objects.select_for_update().get(pk=rule_a.pk)  # intake A holds its rule
        thread = threading.Thread(target=other_intake)
        thread.start()
        assert done.wait(timeout=10)
    thread.join()
    assert owners == [b_sdr]
    assert connection.vendor == "postgresql"
