"""The conversion gate and service: every problem reported, atomic, once, deduplicated."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from crm.exceptions import NotAllowed, NotFound
from crm.models import Account, Contact, Notification
from leads.models import Lead
from opportunities import services
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityEvent,
    Stage,
    StageChange,
)
from opportunities.services import convert as convert_service
from sla.models import SlaTimer
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ConvertibleLeadFactory,
    OpportunityFactory,
    UserFactory,
    discovery_stage,
)

pytestmark = pytest.mark.django_db


def wizard_input(lead: Lead, **overrides) -> dict:
    today = timezone.localdate()
    raw = {
        "name": f"{lead.company_name} - Threshold CRM - Inbound lead routing",
        "amount": "48000",
        "currency": "USD",
        "expected_close_date": (today + datetime.timedelta(days=120)).isoformat(),
        "stage": discovery_stage().pk,
        "next_step": "Security review call with IT",
        "next_step_owner": lead.ae_id,
        "next_step_due": (today + datetime.timedelta(days=3)).isoformat(),
        "product_line": "CRM",
        "use_case": "Inbound routing",
        "industry_vertical": "Logistics",
        "decision_criteria": "Time to first response, price",
        "competitive_landscape": "HubSpot, spreadsheet",
        "risks": "Budget freeze in Q2",
        "contact_roles": [{"lead_contact": True, "role": "economic_buyer"}],
    }
    raw.update(overrides)
    return raw


def _counts() -> tuple[int, int, int, int]:
    return (
        Opportunity.objects.count(),
        Account.objects.count(),
        Contact.objects.count(),
        ConversionSnapshot.objects.count(),
    )


def test_a_ready_lead_converts_with_everything_linked(
    django_capture_on_commit_callbacks, mailoutbox
):
    lead = ConvertibleLeadFactory(source="referral", campaign="Partner day", score=81)
    with django_capture_on_commit_callbacks(execute=True):
        opp = services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead))
    lead.refresh_from_db()
    # the lead: converted, linked, timestamps kept
    assert lead.status == Lead.Status.CONVERTED and lead.converted_at
    assert lead.account == opp.account and lead.contact == opp.primary_contact
    assert lead.transitions.last().to_status == Lead.Status.CONVERTED
    # the opportunity: attribution frozen, stage entered, role assigned
    assert (opp.source, opp.campaign, opp.lead_score_at_conversion) == (
        "referral",
        "Partner day",
        81,
    )
    assert opp.owner == lead.ae and opp.probability == 10 and opp.stage.name == "Discovery"
    assert "Budget confirmed" in opp.qualification_summary
    assert list(opp.contact_roles.values_list("role", flat=True)) == ["economic_buyer"]
    assert StageChange.objects.filter(opportunity=opp, from_stage=None).exists()
    # after conversion: follow-up scheduled, snapshot frozen, marketing told, clocks stopped
    assert opp.activities.filter(kind="task", subject="Security review call with IT").exists()
    snapshot = ConversionSnapshot.objects.get(lead=lead)
    assert snapshot.criteria["budget"]["status"] == "confirmed"
    assert snapshot.handoff["pain_points"]
    assert any("converted" in m.subject for m in mailoutbox)
    assert not SlaTimer.objects.running().filter(lead=lead).exists()


GATE_KNOCKOUTS = [
    ("status", lambda lead: Lead.objects.filter(pk=lead.pk).update(status="sal"), "not_sql"),
    ("budget", lambda lead: _unconfirm(lead, "budget"), "budget_unconfirmed"),
    ("authority", lambda lead: _unconfirm(lead, "authority"), "authority_unconfirmed"),
    ("need", lambda lead: _unconfirm(lead, "need"), "need_unconfirmed"),
    ("timeline", lambda lead: _unconfirm(lead, "timeline"), "timeline_unconfirmed"),
    ("decision", lambda lead: _unconfirm(lead, "decision"), "decision_unconfirmed"),
    ("evidence", lambda lead: _blank_evidence(lead, "need"), "need_unconfirmed"),
    ("handoff", lambda lead: lead.handoffs.all().delete(), "no_handoff discovery_not_held"),
    (
        "discovery",
        lambda lead: lead.handoffs.update(discovery_held_at=None),
        "discovery_not_held",
    ),
    ("email", lambda lead: Lead.objects.filter(pk=lead.pk).update(email=""), "contact_unreachable"),
]


def _unconfirm(lead: Lead, criterion: str) -> None:
    q = lead.qualification
    setattr(q, f"{criterion}_status", "in_progress")
    q.save()


def _blank_evidence(lead: Lead, criterion: str) -> None:
    q = lead.qualification
    setattr(q, f"{criterion}_evidence", "")
    q.save()


@pytest.mark.parametrize(
    ("label", "knock_out", "code"), GATE_KNOCKOUTS, ids=[k[0] for k in GATE_KNOCKOUTS]
)
def test_the_gate_names_each_unmet_requirement(label, knock_out, code):
    lead = ConvertibleLeadFactory()
    knock_out(lead)
    lead.refresh_from_db()
    before = _counts()
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead))
    assert [p.code for p in caught.value.problems] == code.split()
    assert _counts() == before
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED


INPUT_KNOCKOUTS = [
    ({"name": "TBD"}, "name", "required"),
    ({"name": "Acme deal"}, "name", "name_format"),
    ({"name": "Acme - ? - Routing"}, "name", "name_format"),
    ({"amount": ""}, "amount", "required"),
    ({"amount": "0"}, "amount", "amount_not_positive"),
    ({"amount": "lots"}, "amount", "invalid_number"),
    ({"currency": "XXY"}, "currency", "invalid_currency"),
    ({"expected_close_date": ""}, "expected_close_date", "required"),
    ({"stage": ""}, "stage", "required"),
    ({"next_step": "Unknown"}, "next_step", "required"),
    ({"next_step_owner": ""}, "next_step_owner", "required"),
    ({"next_step_due": "2020-01-01"}, "next_step_due", "in_the_past"),
    ({"product_line": "N/A"}, "product_line", "required"),
    ({"risks": " "}, "risks", "required"),
    ({"contact_roles": []}, "contact_roles", "no_contact_role"),
    (
        {"contact_roles": [{"role": "ceo", "lead_contact": True}]},
        "contact_roles.0.role",
        "invalid_choice",
    ),
    ({"contact_roles": [{"role": "champion", "first_name": "X"}]}, "contact_roles.0", "required"),
    ({"probability": "120"}, "probability", "out_of_range"),
]


@pytest.mark.parametrize(("override", "field", "code"), INPUT_KNOCKOUTS)
def test_required_data_is_checked(override, field, code):
    lead = ConvertibleLeadFactory()
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, **override))
    assert [(p.field, p.code) for p in caught.value.problems] == [(field, code)]


def test_every_problem_is_reported_at_once():
    lead = ConvertibleLeadFactory()
    _unconfirm(lead, "timeline")
    raw = wizard_input(lead, name="", amount="-1", currency="", next_step="", contact_roles=[])
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert {p.field for p in caught.value.problems} == {
        "timeline_status",
        "name",
        "amount",
        "currency",
        "next_step",
        "contact_roles",
    }


def test_a_non_entry_stage_is_refused():
    lead = ConvertibleLeadFactory()
    raw = wizard_input(lead, stage=Stage.objects.get(name="Proposal").pk)
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert [p.code for p in caught.value.problems] == ["stage_not_entry"]


@pytest.mark.parametrize("days", [30, 365])
def test_close_date_outside_the_window_needs_a_reason(days):
    lead = ConvertibleLeadFactory()
    date = (timezone.localdate() + datetime.timedelta(days=days)).isoformat()
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(
            lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, expected_close_date=date)
        )
    assert [p.code for p in caught.value.problems] == ["close_date_outside_window"]
    raw = wizard_input(lead, expected_close_date=date, close_date_reason="Renewal date is fixed")
    opp = services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert opp.expected_close_date.isoformat() == date
    assert opp.close_date_reason == "Renewal date is fixed"


def test_the_window_and_required_fields_are_revops_settings():
    policy = ConversionPolicy.current()
    policy.close_window_min_days, policy.close_window_max_days = 10, 40
    policy.required_fields = ["product_line"]
    policy.save()
    lead = ConvertibleLeadFactory()
    date = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    raw = wizard_input(lead, expected_close_date=date, risks="", competitive_landscape="")
    opp = services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    # 30 days out is inside RevOps' 10-40 window (no reason asked), and only the product
    # line is required: the blank risks and competitors were accepted as blank.
    opp.refresh_from_db()
    assert opp.lead == lead and opp.expected_close_date.isoformat() == date
    assert opp.close_date_reason == ""
    assert (opp.product_line, opp.risks, opp.competitive_landscape) == ("CRM", "", "")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    other = ConvertibleLeadFactory()
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(
            lead_id=other.pk,
            by=other.ae,
            raw=wizard_input(other, expected_close_date=date, product_line=""),
        )
    assert [(p.code, p.field) for p in caught.value.problems] == [("required", "product_line")]


def test_a_failure_midway_leaves_nothing_behind():
    lead = ConvertibleLeadFactory()
    before = _counts()
    with (
        mock.patch.object(convert_service, "_snapshot", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead))
    assert _counts() == before
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SQL and lead.account is None
    assert not lead.transitions.filter(to_status="converted").exists()
    assert (
        SlaTimer.objects.filter(lead=lead, stopped_at__isnull=False, met__isnull=True).count() == 0
    )


def test_a_lead_converts_only_once():
    lead = ConvertibleLeadFactory()
    services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead))
    with pytest.raises(services.AlreadyConverted):
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead))
    assert Opportunity.objects.filter(lead=lead).count() == 1


def test_account_and_contacts_are_matched_never_duplicated():
    account = AccountFactory(name="Nusantara Logistik", domain="nusantara.example")
    existing = ContactFactory(account=account, email="CFO@nusantara.example", last_name="Halim")
    lead = ConvertibleLeadFactory(
        company_name="PT Nusantara Logistik Tbk", company_domain="", email="budi@nusantara.example"
    )
    raw = wizard_input(
        lead,
        contact_roles=[
            {"lead_contact": True, "role": "champion"},
            {
                "first_name": "Sari",
                "last_name": "Halim",
                "email": "cfo@nusantara.example",
                "role": "economic_buyer",
            },
            {"contact": existing.pk, "role": "influencer"},
        ],
    )
    opp = services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert opp.account == account and Account.objects.count() == 1
    assert opp.primary_contact == existing  # the economic buyer, matched on e-mail
    assert Contact.objects.filter(account=account).count() == 2
    assert set(opp.contact_roles.values_list("role", flat=True)) == {
        "champion",
        "economic_buyer",
        "influencer",
    }


def test_free_mail_domains_do_not_merge_companies():
    first = ConvertibleLeadFactory(company_name="Kopi Kita", company_domain="", email="a@gmail.com")
    second = ConvertibleLeadFactory(
        company_name="Batik Jaya", company_domain="", email="b@gmail.com"
    )
    a = services.lead_convert(lead_id=first.pk, by=first.ae, raw=wizard_input(first))
    b = services.lead_convert(lead_id=second.pk, by=second.ae, raw=wizard_input(second))
    assert a.account != b.account


def test_attach_to_an_open_deal_of_the_same_account_and_product_line():
    deal = OpportunityFactory(
        account=AccountFactory(name="Rinjani Retail", domain="rinjani.example"), product_line="CRM"
    )
    lead = ConvertibleLeadFactory(company_name="Rinjani Retail", company_domain="rinjani.example")
    assert services.existing_deals(lead, "CRM") == [deal]
    result = services.lead_convert(
        lead_id=lead.pk,
        by=lead.ae,
        raw={
            "attach_to": deal.pk,
            "product_line": "CRM",
            "contact_roles": [{"lead_contact": True, "role": "influencer"}],
        },
    )
    assert result == deal and Opportunity.objects.count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert ConversionSnapshot.objects.get(lead=lead).attached is True
    assert deal.contact_roles.filter(role="influencer", contact=lead.contact).exists()


def test_attaching_to_another_companys_deal_is_refused():
    deal = OpportunityFactory()
    lead = ConvertibleLeadFactory()
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(
            lead_id=lead.pk,
            by=lead.ae,
            raw={
                "attach_to": deal.pk,
                "contact_roles": [{"lead_contact": True, "role": "champion"}],
            },
        )
    assert [p.code for p in caught.value.problems] == ["attach_other_account"]


def test_wrong_roles_may_not_convert(sdr):
    lead = ConvertibleLeadFactory(owner=sdr)
    # the SDR sees the lead but does not convert it; another AE does not even see it
    for intruder, refusal in ((sdr, NotAllowed), (UserFactory(ae=True), NotFound)):
        with pytest.raises(refusal):
            services.lead_convert(lead_id=lead.pk, by=intruder, raw=wizard_input(lead))
    assert not Opportunity.objects.exists()


def test_large_deals_notify_the_manager_and_start_an_account_plan():
    boss = UserFactory(manager=True)
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss  # (UserFactory's `manager` keyword is the role trait)
    lead.ae.save()
    opp = services.lead_convert(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, amount="250000")
    )
    assert Notification.objects.filter(recipient=boss, kind="approval").exists()
    assert opp.approval == Opportunity.Approval.NOT_NEEDED
    assert opp.account.is_strategic
    assert opp.activities.filter(subject__startswith="Start the account plan").exists()


def test_approval_before_the_forecast_when_revops_requires_it():
    policy = ConversionPolicy.current()
    policy.approval_required = True
    policy.save()
    boss = UserFactory(manager=True)
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss  # (UserFactory's `manager` keyword is the role trait)
    lead.ae.save()
    opp = services.lead_convert(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, amount="250000")
    )
    assert opp.approval == Opportunity.Approval.PENDING
    with pytest.raises(NotAllowed):
        services.opportunity_approve(opportunity_id=opp.pk, by=lead.ae)
    assert services.opportunity_approve(opportunity_id=opp.pk, by=boss).approval == "approved"
    event = OpportunityEvent.objects.get(opportunity=opp)
    assert (event.kind, event.actor, event.changes) == (
        "approved",
        boss,
        {"approval": ["pending", "approved"]},
    )


def test_override_waits_for_a_manager_and_is_flagged():
    boss = UserFactory(manager=True)
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss  # (UserFactory's `manager` keyword is the role trait)
    lead.ae.save()
    _unconfirm(lead, "timeline")
    with pytest.raises(services.ValidationFailed):
        services.conversion_request_create(
            lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead), rationale=""
        )
    request = services.conversion_request_create(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead), rationale="Renewal forced by the board"
    )
    assert [u["code"] for u in request.unmet] == ["timeline_unconfirmed"]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SQL  # waits
    with pytest.raises(NotAllowed):
        services.conversion_request_approve(request_id=request.pk, by=lead.ae)
    services.conversion_request_approve(request_id=request.pk, by=boss, note="Board says go")
    request.refresh_from_db()
    assert request.state == ConversionRequest.State.APPROVED
    assert (request.decided_by, request.decision_note) == (boss, "Board says go")
    assert request.decided_at is not None
    opp = request.opportunity
    assert opp.is_override
    assert ConversionSnapshot.objects.get(lead=lead).unmet_overridden == ["timeline_unconfirmed"]


def test_override_cannot_waive_missing_fields():
    lead = ConvertibleLeadFactory()
    _unconfirm(lead, "timeline")
    with pytest.raises(services.NotReady) as caught:
        services.conversion_request_create(
            lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, amount=""), rationale="Hurry"
        )
    assert [p.code for p in caught.value.problems] == ["required"]


# --- the pipeline ---------------------------------------------------------------------------------


def test_stage_moves_record_time_in_stage_and_reset_probability():
    opp = OpportunityFactory(next_step="Demo", decision_criteria="Price")
    opp.stage_entered_at = timezone.now() - datetime.timedelta(days=4)
    opp.save()
    moved = services.opportunity_move_stage(
        opportunity_id=opp.pk, by=opp.owner, to=Stage.objects.get(name="Qualification")
    )
    assert moved.probability == 20
    change = moved.stage_changes.get()
    assert change.time_in_previous_stage >= datetime.timedelta(days=4)


def test_exit_criteria_are_enforced_on_every_move():
    opp = OpportunityFactory(decision_criteria="")
    with pytest.raises(services.ValidationFailed) as caught:
        services.opportunity_move_stage(
            opportunity_id=opp.pk, by=opp.owner, to=Stage.objects.get(name="Qualification")
        )
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("exit_field_missing", "decision_criteria")
    ]


def test_closing_lost_asks_why_and_to_whom():
    opp = OpportunityFactory(decision_criteria="Price")
    lost = Stage.objects.get(name="Closed Lost")
    with pytest.raises(services.ValidationFailed) as caught:
        services.opportunity_move_stage(opportunity_id=opp.pk, by=opp.owner, to=lost)
    assert {p.field for p in caught.value.problems} == {"lost_reason", "lost_to_competitor"}
    done = services.opportunity_move_stage(
        opportunity_id=opp.pk,
        by=opp.owner,
        to=lost,
        lost_reason="Price",
        lost_to_competitor="HubSpot",
    )
    assert done.closed_at and done.probability == 0


def test_another_ae_may_not_move_the_deal():
    opp = OpportunityFactory(decision_criteria="Price")
    with pytest.raises(NotFound):  # another AE may not even see it
        services.opportunity_move_stage(
            opportunity_id=opp.pk,
            by=UserFactory(ae=True),
            to=Stage.objects.get(name="Qualification"),
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_conversions_make_one_opportunity():
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    lead = ConvertibleLeadFactory()
    raw = wizard_input(lead)
    barrier = Barrier(20)

    def convert(_: int) -> str:
        try:
            barrier.wait()
            services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
            return "created"
        except services.AlreadyConverted:
            return "already"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(convert, range(20)))
    assert results.count("created") == 1
    assert results.count("already") == 19
    assert Opportunity.objects.filter(lead=lead).count() == 1
    assert Account.objects.count() == 1


def test_a_role_cannot_point_at_another_companys_contact():
    stranger = ContactFactory()  # works at some other account
    lead = ConvertibleLeadFactory()
    raw = wizard_input(lead, contact_roles=[{"contact": stranger.pk, "role": "champion"}])
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("contact_other_account", "contact_roles.0.contact")
    ]


def test_new_contacts_need_a_valid_email_and_text_fits_its_column():
    lead = ConvertibleLeadFactory()
    raw = wizard_input(
        lead,
        product_line="a" * 101,  # "xxx…" would be a placeholder
        contact_roles=[
            {"first_name": "A", "last_name": "B", "email": "not-an-address", "role": "champion"}
        ],
    )
    with pytest.raises(services.NotReady) as caught:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("too_long", "product_line"),
        ("invalid_email", "contact_roles.0.email"),
    }


def test_only_the_owners_manager_approves_a_large_deal():
    policy = ConversionPolicy.current()
    policy.approval_required = True
    policy.save()
    boss, other_boss = UserFactory(manager=True), UserFactory(manager=True)
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss
    lead.ae.save()
    opp = services.lead_convert(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead, amount="250000")
    )
    with pytest.raises(NotFound):  # not their people's deal: they may not even see it
        services.opportunity_approve(opportunity_id=opp.pk, by=other_boss)
    sent_back = services.opportunity_send_back(
        opportunity_id=opp.pk, by=boss, reason="Re-check the budget first"
    )
    assert sent_back.approval == "rejected"
    event = OpportunityEvent.objects.get(opportunity=opp)
    assert (event.kind, event.actor, event.reason) == (
        "sent_back",
        boss,
        "Re-check the budget first",
    )
    assert event.changes == {"approval": ["pending", "rejected"]}
    with pytest.raises(services.AlreadyDecided):
        services.opportunity_approve(opportunity_id=opp.pk, by=boss)


def test_only_the_requesters_manager_decides_an_override():
    boss, other_boss = UserFactory(manager=True), UserFactory(manager=True)
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss
    lead.ae.save()
    _unconfirm(lead, "timeline")
    request = services.conversion_request_create(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead), rationale="Board deadline"
    )
    with pytest.raises(services.OverridePending):
        services.conversion_request_create(
            lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead), rationale="Again"
        )
    with pytest.raises(NotFound):  # not their people's request: they may not even see it
        services.conversion_request_approve(request_id=request.pk, by=other_boss)
    declined = services.conversion_request_decline(
        request_id=request.pk, by=boss, note="Wait for the board"
    )
    assert declined.state == ConversionRequest.State.DECLINED
    declined.refresh_from_db()
    assert (declined.decided_by, declined.decision_note) == (boss, "Wait for the board")
    with pytest.raises(services.AlreadyDecided):
        services.conversion_request_approve(request_id=request.pk, by=boss)


def test_moving_back_needs_no_exit_fields():
    opp = OpportunityFactory(decision_criteria="Price", competitive_landscape="")
    qualification = Stage.objects.get(name="Qualification")
    services.opportunity_move_stage(opportunity_id=opp.pk, by=opp.owner, to=qualification)
    back = services.opportunity_move_stage(
        opportunity_id=opp.pk, by=opp.owner, to=Stage.objects.get(name="Discovery")
    )
    assert back.stage.name == "Discovery"


def test_stale_deals_are_a_model_fact():
    opp = OpportunityFactory()
    now = timezone.now()
    assert not opp.is_stale(now)
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=now - datetime.timedelta(days=22))
    opp.refresh_from_db()
    assert opp.is_stale(now)
    assert list(Opportunity.objects.stale(now)) == [opp]
