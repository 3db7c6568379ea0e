"""The lifecycle through its domain functions: every move, legal and illegal, by role."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from crm.exceptions import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from crm.models import Notification
from leads import services
from leads.models import (
    ALLOWED_TRANSITIONS,
    Lead,
    LeadEvent,
    LeadTransition,
    RejectionReason,
    RoutingRule,
)
from sla.models import SlaTimer
from tests.factories import (
    LeadFactory,
    QualificationFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = Lead.Status
VALID = {
    "company_name": "PT Nusantara Logistik",
    "last_name": "Wijaya",
    "first_name": "Budi",
    "email": "budi@nusantara.example",
    "source": "inbound",
}
PACKAGE = {
    "company_background": "400-person logistics firm in Surabaya; fits ICP.",
    "contacts_org_chart": "COO (buyer) -> Head of Sales (champion).",
    "pain_points": "Inbound leads wait two days for a reply.",
    "engagement_history": "Webinar, two calls.",
    "qualification_notes": "BANT: budget, authority, need confirmed.",
    "recommended_next_step": "Discovery with the COO.",
}


def _lead(status=S.MQL, **kwargs) -> Lead:
    """A lead already in `status`, with the fields the database requires there."""
    if status == S.REJECTED:
        kwargs.setdefault("rejection_reason", RejectionReason.objects.get(code="not-icp"))
    if status == S.CONVERTED:
        kwargs.setdefault("converted_at", timezone.now())
    lead = LeadFactory(status=status, **kwargs)
    QualificationFactory(lead=lead)
    return lead


def _confirm(lead: Lead, *criteria: str) -> None:
    q = lead.qualification
    for c in criteria:
        setattr(q, f"{c}_status", "confirmed")
        setattr(q, f"{c}_evidence", f"{c} evidence from the call")
    q.save()


# --- intake and routing -------------------------------------------------------------------


def test_intake_creates_an_mql_routed_round_robin_within_the_team(sdr):
    team = TeamFactory(name="Inbound")
    first = UserFactory(sdr=True, team=team)
    second = UserFactory(sdr=True, team=team)
    RoutingRule.objects.create(name="All inbound", strategy="round_robin", team=team)

    leads = [
        services.lead_create(by=None, data={**VALID, "email": f"p{i}@x.example"}) for i in range(3)
    ]

    assert [lead.status for lead in leads] == [S.MQL] * 3
    assert [lead.owner for lead in leads] == [first, second, first]
    assert all(lead.mql_at and lead.assigned_at for lead in leads)
    assert LeadEvent.objects.filter(kind="assigned").count() == 3
    assert LeadTransition.objects.filter(from_status=S.NEW, to_status=S.MQL).count() == 3
    assert Notification.objects.filter(recipient=first, kind="assignment").count() == 2


def test_territory_rule_routes_only_matching_leads():
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    east_sdr, west_sdr = UserFactory(sdr=True, team=east), UserFactory(sdr=True, team=west)
    RoutingRule.objects.create(
        name="East", strategy="territory", team=east, match_territory="East Java", position=0
    )
    RoutingRule.objects.create(name="Rest", strategy="round_robin", team=west, position=1)

    assert services.lead_create(by=None, data={**VALID, "territory": "east java"}).owner == east_sdr
    assert services.lead_create(by=None, data={**VALID, "territory": "Bali"}).owner == west_sdr


def test_no_matching_rule_leaves_the_lead_unassigned_with_the_routing_clock_running():
    lead = services.lead_create(by=None, data=VALID)
    assert lead.owner is None
    assert SlaTimer.objects.running().filter(lead=lead, policy__key="route-mql").exists()


def test_assignment_starts_the_sales_clocks(sdr):
    lead = services.lead_create(by=sdr, data=VALID, owner=sdr)
    running = set(
        SlaTimer.objects.running().filter(lead=lead).values_list("policy__key", flat=True)
    )
    assert running == {"first-contact", "accept-reject"}
    assert SlaTimer.objects.get(lead=lead, policy__key="route-mql").met is True


@pytest.mark.parametrize(
    ("missing", "field", "code"),
    [
        ("company_name", "company_name", "required"),
        ("last_name", "last_name", "required"),
        ("source", "source", "required"),
    ],
)
def test_intake_refuses_missing_minimum_data(missing, field, code):
    data = {**VALID, missing: ""}
    with pytest.raises(ValidationFailed) as caught:
        services.lead_create(by=None, data=data)
    assert [(p.code, p.field) for p in caught.value.problems] == [(code, field)]
    assert not Lead.objects.exists()


def test_intake_names_every_problem_at_once():
    with pytest.raises(ValidationFailed) as caught:
        services.lead_create(by=None, data={"company_name": "TBD", "source": "fax"})
    fields = {p.field for p in caught.value.problems}
    assert fields == {"company_name", "last_name", "email", "source"}


def test_a_contact_needs_an_email_or_a_phone():
    with pytest.raises(ValidationFailed) as caught:
        services.lead_create(by=None, data={**VALID, "email": ""})
    assert [(p.code, p.field) for p in caught.value.problems] == [("contact_unreachable", "email")]
    assert not Lead.objects.exists()

    lead = services.lead_create(by=None, data={**VALID, "email": "", "phone": "+62 31 555 0101"})

    stored = Lead.objects.get()
    assert stored == lead
    assert (stored.email, stored.phone) == ("", "+62 31 555 0101")
    assert stored.status == S.MQL


# --- the lifecycle ----------------------------------------------------------------------------


def test_accept_moves_mql_to_sal_and_stops_the_decision_clock(sdr):
    lead = services.lead_create(by=sdr, data=VALID, owner=sdr)
    services.lead_accept(lead_id=lead.pk, by=sdr, reason="Fits ICP")
    lead.refresh_from_db()
    assert lead.status == S.SAL and lead.accepted_at
    assert SlaTimer.objects.get(lead=lead, policy__key="accept-reject").met is True
    t = lead.transitions.last()
    assert (t.from_status, t.to_status, t.actor, t.reason) == (S.MQL, S.SAL, sdr, "Fits ICP")


def test_reject_needs_a_listed_reason_and_a_rationale(
    sdr, mailoutbox, django_capture_on_commit_callbacks
):
    lead = _lead(owner=sdr)
    with pytest.raises(ValidationFailed) as caught:
        services.lead_reject(lead_id=lead.pk, by=sdr, reason_code="nope", note=" ")
    assert {p.field for p in caught.value.problems} == {"reason", "note"}
    lead.refresh_from_db()
    assert lead.status == S.MQL

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.lead_reject(lead_id=lead.pk, by=sdr, reason_code="not-icp", note="5 staff only")
    lead.refresh_from_db()
    assert lead.status == S.REJECTED and lead.rejection_reason.code == "not-icp"
    assert lead.rejection_note == "5 staff only"
    assert len(callbacks) == 1
    assert "rejected" in mailoutbox[0].subject and "5 staff only" in mailoutbox[0].body


def test_marketing_hears_nothing_when_the_transaction_rolls_back(sdr, mailoutbox):
    lead = _lead(owner=sdr)
    with pytest.raises(StaleVersion):
        services.lead_reject(
            lead_id=lead.pk, by=sdr, reason_code="not-icp", note="x", expected_version=99
        )
    assert mailoutbox == []


def test_qualify_needs_need_budget_and_authority_confirmed(sdr):
    lead = _lead(status=S.SAL, owner=sdr)
    _confirm(lead, "need")
    with pytest.raises(ValidationFailed) as caught:
        services.lead_qualify(lead_id=lead.pk, by=sdr)
    assert {p.code for p in caught.value.problems} == {
        "budget_unconfirmed",
        "authority_unconfirmed",
    }

    _confirm(lead, "budget", "authority")
    services.lead_qualify(lead_id=lead.pk, by=sdr)
    lead.refresh_from_db()
    assert lead.status == S.SQL and lead.qualified_at


def test_confirmed_without_evidence_does_not_count(sdr):
    lead = _lead(status=S.SAL, owner=sdr)
    _confirm(lead, "need", "budget", "authority")
    lead.qualification.need_evidence = "  "
    lead.qualification.save()
    with pytest.raises(ValidationFailed) as caught:
        services.lead_qualify(lead_id=lead.pk, by=sdr)
    assert [p.code for p in caught.value.problems] == ["need_unconfirmed"]


def test_hand_off_needs_the_whole_package_and_a_future_meeting(sdr, ae):
    lead = _lead(status=S.SQL, owner=sdr)
    with pytest.raises(ValidationFailed) as caught:
        services.lead_hand_off(
            lead_id=lead.pk,
            by=sdr,
            to_user=sdr,
            package={**PACKAGE, "pain_points": "TBD", "engagement_history": ""},
            discovery_meeting_at=timezone.now() - datetime.timedelta(hours=1),
        )
    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("required", "pain_points"),
        ("required", "engagement_history"),
        ("not_an_ae", "to_user"),
        ("in_the_past", "discovery_meeting_at"),
    }
    assert not lead.handoffs.exists()


def test_hand_off_notifies_the_ae_and_starts_the_discovery_clock(
    sdr, ae, mailoutbox, django_capture_on_commit_callbacks
):
    lead = _lead(status=S.SQL, owner=sdr)
    meeting = timezone.now() + datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = services.lead_hand_off(
            lead_id=lead.pk, by=sdr, to_user=ae, package=PACKAGE, discovery_meeting_at=meeting
        )
    lead.refresh_from_db()
    assert lead.ae == ae and lead.handed_off_at and lead.status == S.SQL
    assert handoff.pain_points == PACKAGE["pain_points"]
    assert Notification.objects.filter(recipient=ae, kind="handoff").exists()
    assert mailoutbox and mailoutbox[0].to == [ae.email]
    timer = SlaTimer.objects.get(lead=lead, policy__key="discovery-call")
    assert timer.responsible == ae
    assert lead.activities.filter(kind="meeting", owner=ae, due_at=meeting).exists()


def test_discovery_held_records_hand_off_quality_and_starts_conversion_clock(sdr, ae):
    lead = _lead(status=S.SQL, owner=sdr, ae=ae)
    services.lead_hand_off(
        lead_id=lead.pk,
        by=sdr,
        to_user=ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(hours=2),
    )
    handoff = services.lead_record_discovery(
        lead_id=lead.pk, by=ae, rating=4, repeated_discovery=False
    )
    assert handoff.ae_rating == 4 and handoff.discovery_held_at
    assert SlaTimer.objects.get(lead=lead, policy__key="discovery-call").met is True
    assert (
        SlaTimer.objects.running().filter(lead=lead, policy__key="convert-after-discovery").exists()
    )


@pytest.mark.parametrize("start", [S.MQL, S.SAL, S.SQL])
def test_nurture_and_disqualify_need_a_reason_and_stop_every_clock(sdr, start):
    lead = services.lead_create(by=sdr, data=VALID, owner=sdr)
    Lead.objects.filter(pk=lead.pk).update(status=start)
    with pytest.raises(ValidationFailed):
        services.lead_nurture(lead_id=lead.pk, by=sdr, reason="")
    services.lead_nurture(lead_id=lead.pk, by=sdr, reason="Budget frozen until 2027")
    lead.refresh_from_db()
    assert lead.status == S.NURTURE and lead.nurtured_at
    assert not SlaTimer.objects.running().filter(lead=lead).exists()
    services.lead_disqualify(
        lead_id=lead.pk, by=sdr, reason_code="out-of-business", note="Company closed"
    )
    lead.refresh_from_db()
    assert lead.status == S.DISQUALIFIED and lead.disqualification_note == "Company closed"
    assert lead.disqualification_reason.code == "out-of-business"


def test_reopen_a_nurtured_lead_returns_it_as_mql_with_fresh_clocks(sdr):
    lead = services.lead_create(by=sdr, data=VALID, owner=sdr)
    services.lead_accept(lead_id=lead.pk, by=sdr)
    services.lead_nurture(lead_id=lead.pk, by=sdr, reason="Not now")
    services.lead_reopen(lead_id=lead.pk, by=sdr, reason="Budget approved")
    lead.refresh_from_db()
    assert lead.status == S.MQL and lead.accepted_at is None and lead.owner == sdr
    assert SlaTimer.objects.running().filter(lead=lead, policy__key="accept-reject").exists()


def test_overturning_a_rejection_is_a_managers_call(sdr):
    boss = UserFactory(manager=True)
    sdr.manager = boss
    sdr.save()
    lead = _lead(owner=sdr)
    services.lead_reject(lead_id=lead.pk, by=sdr, reason_code="no-intent", note="No project")
    with pytest.raises(NotAllowed):
        services.lead_reopen(lead_id=lead.pk, by=sdr, reason="Changed my mind")
    services.lead_reopen(lead_id=lead.pk, by=boss, reason="They came back with a project")
    lead.refresh_from_db()
    assert lead.status == S.MQL


# Every (from, to) pair the lifecycle does NOT allow is refused and changes nothing.
_MOVES = {
    S.SAL: lambda lead, by: services.lead_accept(lead_id=lead.pk, by=by),
    S.REJECTED: lambda lead, by: services.lead_reject(
        lead_id=lead.pk, by=by, reason_code="not-icp", note="x"
    ),
    S.SQL: lambda lead, by: services.lead_qualify(lead_id=lead.pk, by=by),
    S.NURTURE: lambda lead, by: services.lead_nurture(lead_id=lead.pk, by=by, reason="x"),
    S.DISQUALIFIED: lambda lead, by: services.lead_disqualify(
        lead_id=lead.pk, by=by, reason_code="other", note="x"
    ),
    S.MQL: lambda lead, by: services.lead_reopen(lead_id=lead.pk, by=by, reason="x"),
}
_ILLEGAL = [
    (start, target)
    for start in S.values
    for target in _MOVES
    if target not in ALLOWED_TRANSITIONS[start]
]


@pytest.mark.parametrize(("start", "target"), _ILLEGAL)
def test_illegal_moves_are_refused_and_change_nothing(revops, start, target):
    lead = _lead(status=start)
    _confirm(lead, "need", "budget", "authority")
    before = (lead.status, lead.version)
    with pytest.raises(InvalidTransition):
        _MOVES[target](lead, revops)
    lead.refresh_from_db()
    assert (lead.status, lead.version) == before
    assert not lead.transitions.exists()


_LEGAL = [
    (start, target)
    for start in S.values
    for target in _MOVES
    if target in ALLOWED_TRANSITIONS[start]
]


@pytest.mark.parametrize(("start", "target"), _LEGAL)
def test_every_legal_move_is_recorded_with_who_and_why(revops, start, target):
    lead = _lead(status=start)
    _confirm(lead, "need", "budget", "authority")
    _MOVES[target](lead, revops)
    lead.refresh_from_db()
    assert lead.status == target
    t = lead.transitions.get()
    assert (t.from_status, t.to_status, t.actor) == (start, target, revops)
    assert t.created_at is not None


# --- permissions --------------------------------------------------------------------------


def _work_calls(lead: Lead, by) -> list:
    return [
        lambda: services.lead_accept(lead_id=lead.pk, by=by),
        lambda: services.lead_nurture(lead_id=lead.pk, by=by, reason="x"),
        lambda: services.lead_update(lead_id=lead.pk, by=by, data={"score": 90}),
        lambda: services.qualification_update(lead_id=lead.pk, by=by, data={"notes": "x"}),
        lambda: services.activity_log(lead_id=lead.pk, by=by, kind="call", subject="Hi"),
    ]


def test_another_sdr_may_not_work_the_lead_nor_learn_it_exists(sdr):
    other = UserFactory(sdr=True)
    lead = _lead(owner=sdr)
    for call in _work_calls(lead, other):
        with pytest.raises(NotFound):
            call()
    lead.refresh_from_db()
    assert lead.status == S.MQL and lead.score == 50


def test_a_teammate_who_may_read_the_lead_may_not_work_it(sdr):
    team = TeamFactory(sdrs_see_team_leads=True)
    reader = UserFactory(sdr=True, team=team)
    lead = _lead(owner=sdr, team=team)
    for call in _work_calls(lead, reader):
        with pytest.raises(NotAllowed):
            call()
    lead.refresh_from_db()
    assert lead.status == S.MQL and lead.score == 50


def test_the_manager_of_the_owner_may_work_and_assign(sdr):
    boss = UserFactory(manager=True)
    sdr.manager = boss
    sdr.save()
    other = UserFactory(sdr=True)
    lead = _lead(owner=sdr)
    services.lead_accept(lead_id=lead.pk, by=boss)
    services.lead_assign(lead_id=lead.pk, by=boss, owner=other, reason="Rebalancing")
    lead.refresh_from_db()
    assert lead.owner == other


def test_an_sdr_may_not_reassign_their_own_lead(sdr):
    lead = _lead(owner=sdr)
    with pytest.raises(NotAllowed):
        services.lead_assign(lead_id=lead.pk, by=sdr, owner=UserFactory(sdr=True))


def test_visibility_by_role(sdr, ae, revops):
    team = TeamFactory(name="T")
    boss = UserFactory(manager=True)
    team.manager = boss
    team.save()
    mine = _lead(owner=sdr, team=team)
    theirs = _lead(owner=UserFactory(sdr=True, team=team), team=team)
    handed = _lead(owner=UserFactory(sdr=True), ae=ae)
    assert set(Lead.objects.visible_to(sdr)) == {mine}
    assert set(Lead.objects.visible_to(ae)) == {handed}
    assert set(Lead.objects.visible_to(boss)) == {mine, theirs}
    assert set(Lead.objects.visible_to(revops)) == {mine, theirs, handed}
    # RevOps may let SDRs read (not work) their team's leads.
    sdr.team = team
    sdr.save()
    team.sdrs_see_team_leads = True
    team.save()
    sdr.refresh_from_db()
    assert set(Lead.objects.visible_to(sdr)) == {mine, theirs}
    assert sdr.has_perm("leads.view_lead", theirs)
    assert not sdr.has_perm("leads.work_lead", theirs)


# --- edits, versions, activities -----------------------------------------------------------


def test_edits_are_recorded_field_by_field(sdr):
    lead = _lead(owner=sdr, score=40)
    services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 80, "campaign": "Q3 webinar"})
    event = lead.events.get(kind="edited")
    assert event.changes == {"score": [40, 80], "campaign": ["", "Q3 webinar"]}
    assert event.actor == sdr


def test_a_stale_version_is_refused_and_nothing_is_written(sdr):
    lead = _lead(owner=sdr)
    services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 60}, expected_version=1)
    with pytest.raises(StaleVersion):
        services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 70}, expected_version=1)
    lead.refresh_from_db()
    assert (lead.score, lead.version) == (60, 2)


def test_qualification_versions_guard_concurrent_edits(sdr):
    lead = _lead(owner=sdr)
    services.qualification_update(
        lead_id=lead.pk, by=sdr, data={"budget_status": "in_progress"}, expected_version=1
    )
    with pytest.raises(StaleVersion):
        services.qualification_update(
            lead_id=lead.pk, by=sdr, data={"budget_holder": "CFO"}, expected_version=1
        )
    assert lead.events.get(kind="qualification").changes == {
        "budget_status": ["unknown", "in_progress"]
    }


def test_first_call_is_first_contact_and_stops_that_clock(sdr):
    lead = services.lead_create(by=sdr, data=VALID, owner=sdr)
    services.activity_log(lead_id=lead.pk, by=sdr, kind="note", subject="Researched company")
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    call = services.activity_log(lead_id=lead.pk, by=sdr, kind="call", subject="Intro call")
    later = services.activity_log(lead_id=lead.pk, by=sdr, kind="email", subject="Follow-up")
    lead.refresh_from_db()
    assert call.is_first_contact and not later.is_first_contact
    assert lead.first_contacted_at == call.occurred_at
    assert SlaTimer.objects.get(lead=lead, policy__key="first-contact").met is True


def test_a_follow_up_task_needs_a_due_date(sdr):
    lead = _lead(owner=sdr)
    with pytest.raises(ValidationFailed) as caught:
        services.activity_log(lead_id=lead.pk, by=sdr, kind="task", subject="Call back")
    assert [p.field for p in caught.value.problems] == ["due_at"]
    task = services.activity_log(
        lead_id=lead.pk,
        by=sdr,
        kind="task",
        subject="Call back",
        due_at=timezone.now() + datetime.timedelta(days=2),
    )
    assert task.occurred_at is None and task.due_at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_accepts_move_the_lead_once():
    """Row lock: the second request sees SAL and is refused, never a double transition."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    owner = UserFactory(sdr=True)
    lead = _lead(owner=owner)

    def accept() -> str:
        try:
            services.lead_accept(lead_id=lead.pk, by=owner)
            return "ok"
        except InvalidTransition:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = sorted(pool.map(lambda _: accept(), range(4)))
    assert results == ["ok", "refused", "refused", "refused"]
    assert LeadTransition.objects.filter(lead=lead, to_status=S.SAL).count() == 1


def test_only_the_ae_side_records_the_discovery_call(sdr, ae):
    lead = _lead(status=S.SQL, owner=sdr)
    services.lead_hand_off(
        lead_id=lead.pk,
        by=sdr,
        to_user=ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(hours=2),
    )
    with pytest.raises(NotAllowed):
        services.lead_record_discovery(lead_id=lead.pk, by=sdr)
    assert services.lead_record_discovery(lead_id=lead.pk, by=ae).discovery_held_at


def test_a_lead_is_handed_off_once_per_qualification(sdr, ae):
    lead = _lead(status=S.SQL, owner=sdr, qualified_at=timezone.now())
    meeting = timezone.now() + datetime.timedelta(days=1)
    services.lead_hand_off(
        lead_id=lead.pk, by=sdr, to_user=ae, package=PACKAGE, discovery_meeting_at=meeting
    )
    with pytest.raises(InvalidTransition):
        services.lead_hand_off(
            lead_id=lead.pk, by=sdr, to_user=ae, package=PACKAGE, discovery_meeting_at=meeting
        )
    assert lead.handoffs.count() == 1


def test_invalid_qualification_values_are_field_errors(sdr):
    lead = _lead(owner=sdr)
    with pytest.raises(ValidationFailed) as caught:
        services.qualification_update(lead_id=lead.pk, by=sdr, data={"budget_status": "maybe"})
    assert [p.field for p in caught.value.problems] == ["budget_status"]


def test_wrong_role_hears_403_before_any_field_error(sdr):
    team = TeamFactory(sdrs_see_team_leads=True)
    reader = UserFactory(sdr=True, team=team)
    lead = _lead(owner=sdr, team=team)
    with pytest.raises(NotAllowed):
        services.lead_reject(lead_id=lead.pk, by=reader, reason_code="", note="")
    with pytest.raises(NotAllowed):
        services.activity_log(lead_id=lead.pk, by=reader, kind="bogus", subject="")


def test_an_intruder_hears_404_before_any_field_error(sdr):
    lead = _lead(owner=sdr)
    intruder = UserFactory(sdr=True)
    with pytest.raises(NotFound):
        services.lead_reject(lead_id=lead.pk, by=intruder, reason_code="", note="")
    with pytest.raises(NotFound):
        services.activity_log(lead_id=lead.pk, by=intruder, kind="bogus", subject="")
