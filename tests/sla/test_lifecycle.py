"""Every seeded policy starts and stops on the right lifecycle events, driven through the
lead services (the only callers of the timer functions), with the DOMAIN.md targets."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from leads import services as lead_services
from leads.models import Lead, RoutingRule
from sla.business_time import CalendarSpec, add_business_time
from sla.models import SlaPolicy, SlaTimer
from sla.sweep import timers_sweep
from sla.timers import timers_stop
from tests.factories import QualificationFactory, TeamFactory, UserFactory
from tests.sla.conftest import LEAD_DATA, timer_of

pytestmark = pytest.mark.django_db

PACKAGE = {
    "company_background": "400-person logistics firm in Surabaya; fits ICP.",
    "contacts_org_chart": "COO (buyer) -> Head of Sales (champion).",
    "pain_points": "Inbound leads wait two days for a reply.",
    "engagement_history": "Webinar, two calls.",
    "qualification_notes": "BANT: budget, authority, need confirmed.",
    "recommended_next_step": "Discovery with the COO.",
}


def _running_keys(lead: Lead) -> set[str]:
    return set(SlaTimer.objects.running().filter(lead=lead).values_list("policy__key", flat=True))


def _standard_week() -> CalendarSpec:
    return CalendarSpec.from_calendar(SlaPolicy.objects.get(key="accept-reject").calendar)


@pytest.mark.parametrize(
    ("key", "start", "stop", "value", "unit"),
    [
        ("route-mql", "mql", "assigned", 5, "minutes"),
        ("first-contact", "assigned", "first_contact", 24, "hours"),
        ("accept-reject", "assigned", "decided", 5, "business_days"),
        ("discovery-call", "handoff", "discovery", 2, "business_days"),
        ("convert-after-discovery", "discovery", "converted", 3, "days"),
    ],
)
def test_the_seeded_policies_are_the_domain_defaults(key, start, stop, value, unit):
    policy = SlaPolicy.objects.get(key=key)
    assert (policy.start_event, policy.stop_event) == (start, stop)
    assert (policy.target_value, policy.target_unit) == (value, unit)
    assert policy.warn_at_percent == 75 and policy.is_active
    assert policy.escalation_chain, "every default escalates"


def test_route_mql_runs_from_mql_until_assignment():
    # given an MQL that no routing rule matches
    lead = lead_services.lead_create(by=None, data=LEAD_DATA)
    timer = timer_of(lead, "route-mql")
    assert _running_keys(lead) == {"route-mql"}
    assert timer.started_at == lead.mql_at
    assert timer.due_at - timer.started_at == datetime.timedelta(minutes=5)
    assert timer.responsible is None

    # when RevOps assigns it
    ops = UserFactory(revops=True)
    rep = UserFactory(sdr=True)
    lead_services.lead_assign(lead_id=lead.pk, by=ops, owner=rep)

    # then the routing clock is met and the sales clocks start, owned by the rep
    timer.refresh_from_db()
    assert timer.met is True and timer.stopped_at is not None
    assert _running_keys(lead) == {"first-contact", "accept-reject"}
    assert SlaTimer.objects.get(lead=lead, policy__key="first-contact").responsible == rep


def test_routing_at_intake_meets_the_routing_clock_at_once():
    team = TeamFactory(name="Inbound")
    rep = UserFactory(sdr=True, team=team)
    RoutingRule.objects.create(name="All inbound", strategy="round_robin", team=team)

    lead = lead_services.lead_create(by=None, data=LEAD_DATA)

    assert lead.owner == rep
    assert timer_of(lead, "route-mql").met is True


def test_first_contact_runs_24_hours_from_assignment_until_the_first_call(owner, make_lead):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    assert timer.started_at == lead.assigned_at
    assert timer.due_at - timer.started_at == datetime.timedelta(hours=24)
    assert timer.responsible == owner

    # a note is not a contact; a call is
    lead_services.activity_log(lead_id=lead.pk, by=owner, kind="note", subject="Research")
    assert "first-contact" in _running_keys(lead)
    lead_services.activity_log(lead_id=lead.pk, by=owner, kind="call", subject="Intro call")

    timer.refresh_from_db()
    assert timer.met is True
    assert "first-contact" not in _running_keys(lead)


def test_accept_reject_runs_5_business_days_from_assignment_until_accepted(owner, make_lead):
    lead = make_lead()
    timer = timer_of(lead, "accept-reject")
    assert timer.due_at == add_business_time(timer.started_at, 5, "business_days", _standard_week())
    assert timer.calendar == SlaPolicy.objects.get(key="accept-reject").calendar

    lead_services.lead_accept(lead_id=lead.pk, by=owner)

    timer.refresh_from_db()
    assert timer.met is True


def test_accept_reject_is_also_stopped_by_a_rejection(owner, make_lead):
    lead = make_lead()

    lead_services.lead_reject(
        lead_id=lead.pk, by=owner, reason_code="no-intent", note="No project this year"
    )

    assert timer_of(lead, "accept-reject").met is True
    # the rejection takes the lead out of the flow: the other clocks end, neither met nor missed
    first_contact = timer_of(lead, "first-contact")
    assert first_contact.stopped_at is not None and first_contact.met is None


def _qualified_lead(owner, make_lead) -> Lead:
    lead = make_lead()
    lead_services.lead_accept(lead_id=lead.pk, by=owner)
    QualificationFactory._meta.model.objects.filter(lead=lead).delete()
    QualificationFactory(lead=lead, confirmed=True)
    return lead_services.lead_qualify(lead_id=lead.pk, by=owner)


def test_discovery_call_runs_2_business_days_from_hand_off_on_the_aes_clock(owner, make_lead):
    ae = UserFactory(ae=True, username="arif")
    lead = _qualified_lead(owner, make_lead)

    lead_services.lead_hand_off(
        lead_id=lead.pk,
        by=owner,
        to_user=ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(days=1),
    )

    timer = timer_of(lead, "discovery-call")
    assert timer.responsible == ae
    assert timer.due_at == add_business_time(timer.started_at, 2, "business_days", _standard_week())

    lead_services.lead_record_discovery(lead_id=lead.pk, by=ae, rating=4)

    timer.refresh_from_db()
    assert timer.met is True


def test_convert_after_discovery_runs_3_days_until_conversion(owner, make_lead):
    ae = UserFactory(ae=True, username="arif")
    lead = _qualified_lead(owner, make_lead)
    lead_services.lead_hand_off(
        lead_id=lead.pk,
        by=owner,
        to_user=ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(days=1),
    )
    lead_services.lead_record_discovery(lead_id=lead.pk, by=ae)
    timer = timer_of(lead, "convert-after-discovery")
    assert timer.responsible == ae
    assert timer.due_at - timer.started_at == datetime.timedelta(days=3)

    # the conversion service marks the lead converted inside its own locked transaction
    with transaction.atomic():
        locked = lead_services.lead_lock(lead.pk)
        lead_services.lead_mark_converted(
            lead=locked,
            by=ae,
            at=timezone.now(),
            account=None,
            contact=None,
            reason="Converted",
        )

    timer.refresh_from_db()
    assert timer.met is True
    assert _running_keys(lead) == set()


@pytest.mark.parametrize(
    ("ramp", "reasons"),
    [
        ("lead_nurture", {"reason": "Budget frozen"}),
        ("lead_disqualify", {"reason_code": "out-of-business", "note": "Company closed"}),
    ],
)
def test_leaving_the_flow_cancels_every_clock(owner, make_lead, ramp, reasons):
    lead = make_lead()

    assert _running_keys(lead) == {"first-contact", "accept-reject"}

    getattr(lead_services, ramp)(lead_id=lead.pk, by=owner, **reasons)

    lead.refresh_from_db()
    stopped_at = lead.nurtured_at or lead.disqualified_at
    timers = SlaTimer.objects.filter(lead=lead, policy__key__in=["first-contact", "accept-reject"])
    # Cancelled, neither met nor missed, at the moment the lead left the flow.
    assert sorted((t.policy.key, t.stopped_at, t.met) for t in timers) == [
        ("accept-reject", stopped_at, None),
        ("first-contact", stopped_at, None),
    ]
    assert _running_keys(lead) == set()


def test_a_reassigned_lead_hands_its_running_clocks_to_the_new_owner(owner, boss, make_lead):
    lead = make_lead()
    other = UserFactory(sdr=True, username="putu")

    lead_services.lead_assign(lead_id=lead.pk, by=boss, owner=other)

    assert {t.responsible for t in SlaTimer.objects.running().filter(lead=lead)} == {other}


def test_a_policy_only_covers_the_leads_it_applies_to(owner, make_lead):
    SlaPolicy.objects.filter(key="first-contact").update(applies_to_sources=["referral"])

    inbound = make_lead(source="inbound")
    referral = make_lead(source="referral")

    assert "first-contact" not in _running_keys(inbound)
    assert "first-contact" in _running_keys(referral)


def test_an_inactive_policy_starts_no_clock(make_lead):
    SlaPolicy.objects.filter(key="accept-reject").update(is_active=False)

    lead = make_lead()

    assert _running_keys(lead) == {"first-contact"}


def test_stopping_exactly_at_the_due_time_is_late_like_the_overdue_predicate(owner, make_lead):
    """Met means stopped before the clock counted as overdue: `overdue(now)` is due <= now."""
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    at = timer.due_at

    assert SlaTimer.objects.overdue(at).filter(pk=timer.pk).exists()

    timers_stop(lead=lead, event="first_contact", at=at)

    timer.refresh_from_db()
    assert timer.met is False
    assert timers_sweep(now=at).breaches == 0  # already stopped: nothing to sweep
