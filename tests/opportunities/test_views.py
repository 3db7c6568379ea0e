"""The AE's browser pages: conversion wizard, overrides, the deal list and page, the board."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Account, Contact, Notification
from leads.models import Activity, Lead
from opportunities import services
from opportunities.models import (
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    Stage,
    StageChange,
)
from opportunities.views import board as board_views
from opportunities.views import deals as deal_views
from tests.factories import (
    AccountFactory,
    ContactFactory,
    HandoffFactory,
    LeadFactory,
    OpportunityFactory,
    QualificationFactory,
    TeamFactory,
    UserFactory,
)


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _convertible_lead(sdr, ae, **kwargs: Any) -> Lead:
    lead = LeadFactory(status="sql", owner=sdr, ae=ae, industry="Logistics", **kwargs)
    QualificationFactory(
        lead=lead,
        confirmed=True,
        decision_criteria="Response time, CRM fit",
        decision_other_vendors="RouteCo",
    )
    HandoffFactory(lead=lead, to_user=ae, discovery_held_at=timezone.now())
    return lead


def _wizard_post(lead: Lead, ae, **overrides: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "name": f"{lead.company_name} - Routing Engine - Inbound speed",
        "amount": "50000",
        "currency": "USD",
        "discount_notes": "",
        "expected_close_date": (today + datetime.timedelta(days=120)).isoformat(),
        "close_date_reason": "",
        "stage": str(_stage("Discovery").pk),
        "probability": "10",
        "next_step": "Technical deep-dive with IT",
        "next_step_owner": str(ae.pk),
        "next_step_due": (today + datetime.timedelta(days=7)).isoformat(),
        "product_line": "Routing",
        "use_case": "Inbound speed",
        "industry_vertical": "Logistics",
        "decision_criteria": "Response time, CRM fit",
        "competitive_landscape": "RouteCo",
        "risks": "Budget freeze in Q4",
        "attach_to": "",
        "override_rationale": "",
        "action": "convert",
        "roles-TOTAL_FORMS": "2",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "50",
        "roles-0-kind": "lead",
        "roles-0-role": "economic_buyer",
        "roles-1-kind": "other",
        "roles-1-role": "champion",
        "roles-1-contact": "",
        "roles-1-first_name": "Rina",
        "roles-1-last_name": "Sari",
        "roles-1-email": "rina@champion.example",
        "roles-1-job_title": "RevOps lead",
    }
    data.update(overrides)
    return data


def _counts() -> tuple[int, int, int]:
    return Opportunity.objects.count(), Account.objects.count(), Contact.objects.count()


def _convert_url(lead: Lead) -> str:
    return reverse("opportunities:convert", args=[lead.pk])


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# --- the wizard: readiness and pre-fill ----------------------------------------------------------


def test_wizard_shows_the_checklist_and_prefills_from_the_lead(client, sdr, ae):
    # given a handed-off SQL lead whose company already has an account
    lead = _convertible_lead(sdr, ae, campaign="Spring webinar", score=77)
    account = AccountFactory(name=lead.company_name, domain=lead.company_domain)
    client.force_login(ae)

    # when the AE opens the wizard
    response = client.get(_convert_url(lead))

    # then the gate reads "ready", each check met, and the form is pre-filled
    assert response.status_code == 200
    assert response.context["lead_ready"] is True
    assert all(check.met for check in response.context["checks"])
    assert {c.code for c in response.context["checks"]} >= {
        "not_sql",
        "budget_unconfirmed",
        "authority_unconfirmed",
        "need_unconfirmed",
        "timeline_unconfirmed",
        "decision_unconfirmed",
        "discovery_not_held",
    }
    form = response.context["form"]
    assert form["name"].value() == f"{lead.company_name} - "
    assert form["currency"].value() == ae.default_currency
    assert form["industry_vertical"].value() == "Logistics"
    assert form["decision_criteria"].value() == "Response time, CRM fit"
    assert form["competitive_landscape"].value() == "RouteCo"
    assert form["next_step_owner"].value() == str(ae.pk)
    assert form["stage"].value() == str(_stage("Discovery").pk)
    assert form["probability"].value() == 10
    assert response.context["account"] == account
    html = response.content.decode()
    assert "Spring webinar" in html and ">77<" in html
    assert "Existing account" in html
    assert 'data-testid="verdict"' in html and "Ready" in html
    # only entry stages are offered
    assert [s.name for s in response.context["stages"]] == ["Discovery", "Qualification"]


def test_wizard_prefills_the_buyers_close_date_only_while_it_is_ahead(client, sdr, ae):
    today = timezone.localdate()
    ahead = _convertible_lead(sdr, ae)
    ahead.qualification.timeline_target_date = today + datetime.timedelta(days=60)
    ahead.qualification.save()
    passed = _convertible_lead(sdr, ae)
    passed.qualification.timeline_target_date = today - datetime.timedelta(days=30)
    passed.qualification.save()
    client.force_login(ae)

    ahead_form = client.get(_convert_url(ahead)).context["form"]
    passed_form = client.get(_convert_url(passed)).context["form"]

    assert (
        ahead_form["expected_close_date"].value()
        == (today + datetime.timedelta(days=60)).isoformat()
    )
    assert not passed_form["expected_close_date"].value()  # a past date could only fail


def test_wizard_says_a_new_account_will_be_created_and_lists_what_is_unmet(client, sdr, ae):
    lead = LeadFactory(status="sql", owner=sdr, ae=ae)
    QualificationFactory(lead=lead, confirmed=True, timeline_status="in_progress")
    HandoffFactory(lead=lead, to_user=ae)  # discovery not held yet
    client.force_login(ae)

    response = client.get(_convert_url(lead))

    assert response.status_code == 200
    assert response.context["account"] is None
    unmet = {c.code for c in response.context["unmet_checks"]}
    assert unmet == {"timeline_unconfirmed", "discovery_not_held"}
    html = response.content.decode()
    assert "a new account will be created" in html
    assert "Not ready" in html
    assert "Record the discovery call before converting." in html
    # discovery is not a criterion: no override is offered
    assert response.context["can_override"] is False


# --- the wizard: submitting ------------------------------------------------------------------


def test_missing_data_shows_every_problem_at_once_and_creates_nothing(client, sdr, ae):
    # given a lead without a discovery call and a wizard left mostly blank
    lead = LeadFactory(status="sql", owner=sdr, ae=ae)
    QualificationFactory(lead=lead, confirmed=True)
    HandoffFactory(lead=lead, to_user=ae)
    client.force_login(ae)
    before = _counts()
    data = _wizard_post(
        lead,
        ae,
        name="TBD",
        amount="",
        expected_close_date="",
        next_step="",
        next_step_due="",
        product_line="",
        risks="unknown",
        **{"roles-0-role": "", "roles-1-role": "", "roles-1-last_name": "", "roles-1-email": ""},
    )
    data["roles-1-first_name"] = ""
    data["roles-1-job_title"] = ""

    # when it is submitted
    response = client.post(_convert_url(lead), data)

    # then nothing is written and every problem is listed, each on its input
    assert response.status_code == 422
    assert _counts() == before
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SQL
    codes = {(p.code, p.field) for p in response.context["problems"]}
    assert codes >= {
        ("discovery_not_held", "discovery_held_at"),
        ("required", "name"),
        ("required", "amount"),
        ("required", "expected_close_date"),
        ("required", "next_step"),
        ("required", "next_step_due"),
        ("required", "product_line"),
        ("required", "risks"),
        ("no_contact_role", "contact_roles"),
    }
    form = response.context["form"]
    for field in ("name", "amount", "expected_close_date", "next_step", "product_line", "risks"):
        assert form.errors.get(field), field
    html = response.content.decode()
    for problem in response.context["problems"]:
        assert str(problem.message) in html
    assert f"Not converted: {len(response.context['problems'])} things to fix" in html


def test_a_contact_row_problem_lands_on_its_row(client, sdr, ae):
    lead = _convertible_lead(sdr, ae)
    client.force_login(ae)
    # the lead's own row gets no role, so the service sees the new contact as row 0
    data = _wizard_post(lead, ae, **{"roles-0-role": "", "roles-1-email": ""})

    response = client.post(_convert_url(lead), data)

    assert response.status_code == 422
    assert [(p.code, p.field) for p in response.context["problems"]] == [
        ("required", "contact_roles.0")
    ]
    row = response.context["roles"].forms[1]
    assert row.non_field_errors() == ["A new contact needs a last name and an e-mail address."]
    assert Opportunity.objects.count() == 0


def test_close_date_outside_the_window_needs_a_reason(client, sdr, ae):
    lead = _convertible_lead(sdr, ae)
    client.force_login(ae)
    soon = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()

    refused = client.post(_convert_url(lead), _wizard_post(lead, ae, expected_close_date=soon))
    accepted = client.post(
        _convert_url(lead),
        _wizard_post(
            lead, ae, expected_close_date=soon, close_date_reason="Renewal deadline in 3 weeks."
        ),
    )

    assert refused.status_code == 422
    assert "outside 90–180" in refused.context["form"].errors["expected_close_date"][0]
    assert accepted.status_code == 302
    assert Opportunity.objects.get().close_date_reason == "Renewal deadline in 3 weeks."


def test_valid_wizard_converts_links_the_existing_account_and_redirects(client, sdr, ae):
    # given the company already is an account and the lead's person already a contact
    lead = _convertible_lead(sdr, ae)
    account = AccountFactory(name=lead.company_name, domain=lead.company_domain)
    person = ContactFactory(account=account, email=lead.email, last_name=lead.last_name)
    client.force_login(ae)
    accounts_before = Account.objects.count()

    # when the AE submits a complete wizard
    response = client.post(_convert_url(lead), _wizard_post(lead, ae))

    # then one opportunity, on the existing account, and the page is the deal
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[opportunity.pk])
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert opportunity.account == account
    assert Account.objects.count() == accounts_before
    assert opportunity.owner == ae and opportunity.lead == lead
    assert opportunity.source == lead.source and opportunity.lead_score_at_conversion == lead.score
    roles = {(r.contact.email, r.role) for r in opportunity.contact_roles.select_related("contact")}
    assert roles == {(person.email, "economic_buyer"), ("rina@champion.example", "champion")}
    assert opportunity.primary_contact == person
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Converted." in page.content.decode()


def test_converted_lead_sends_the_wizard_to_its_opportunity(client, sdr, ae):
    lead = _convertible_lead(sdr, ae)
    client.force_login(ae)
    client.post(_convert_url(lead), _wizard_post(lead, ae))
    opportunity = Opportunity.objects.get()

    response = client.get(_convert_url(lead))

    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[opportunity.pk])


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_the_leads_ae_manager_or_revops_may_convert(client, sdr, ae, method):
    lead = _convertible_lead(sdr, ae)
    other_ae = UserFactory(ae=True)
    before = _counts()

    client.force_login(other_ae)
    hidden = getattr(client, method)(_convert_url(lead), _wizard_post(lead, ae))
    client.force_login(sdr)  # owns the lead, may read it, may not convert it
    refused = getattr(client, method)(_convert_url(lead), _wizard_post(lead, ae))

    assert hidden.status_code == 404
    assert refused.status_code == 403
    assert _counts() == before


def test_revops_may_convert_and_the_ae_owns_the_deal(client, sdr, ae, revops):
    lead = _convertible_lead(sdr, ae)
    client.force_login(revops)

    response = client.post(_convert_url(lead), _wizard_post(lead, ae))

    assert response.status_code == 302
    assert Opportunity.objects.get().owner == ae


# --- attaching to an existing deal ---------------------------------------------------------------


def test_an_open_deal_at_the_company_is_offered_and_attached_to(client, sdr, ae):
    # given the company already has an open deal for the same product line
    lead = _convertible_lead(sdr, ae)
    account = AccountFactory(name=lead.company_name, domain=lead.company_domain)
    deal = OpportunityFactory(account=account, owner=ae, product_line="Routing")
    client.force_login(ae)

    offered = client.get(_convert_url(lead))
    data = _wizard_post(lead, ae, attach_to=str(deal.pk))
    response = client.post(_convert_url(lead), data)

    assert offered.context["deals"] == [deal]
    assert f"Attach to {deal.name}" in offered.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[deal.pk])
    assert Opportunity.objects.count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    snapshot = ConversionSnapshot.objects.get(lead=lead)
    assert snapshot.attached and snapshot.opportunity == deal
    assert OpportunityContactRole.objects.filter(opportunity=deal, role="champion").exists()


def test_attaching_to_another_companys_deal_is_refused(client, sdr, ae):
    lead = _convertible_lead(sdr, ae)
    elsewhere = OpportunityFactory(owner=ae)
    client.force_login(ae)

    response = client.post(_convert_url(lead), _wizard_post(lead, ae, attach_to=str(elsewhere.pk)))

    assert response.status_code == 422
    assert response.context["form"].errors["attach_to"] == ["That deal belongs to another company."]
    assert Opportunity.objects.count() == 1


# --- overrides ---------------------------------------------------------------------------------


@pytest.fixture
def unready_lead(sdr, ae, manager):
    ae.manager = manager
    ae.save()
    lead = LeadFactory(status="sql", owner=sdr, ae=ae)
    QualificationFactory(lead=lead, confirmed=True, timeline_status="in_progress")
    HandoffFactory(lead=lead, to_user=ae, discovery_held_at=timezone.now())
    return lead


def test_override_needs_a_rationale_then_waits_for_a_manager(client, ae, unready_lead):
    lead = unready_lead
    client.force_login(ae)

    page = client.get(_convert_url(lead))
    blank = client.post(_convert_url(lead), _wizard_post(lead, ae, action="override"))
    asked = client.post(
        _convert_url(lead),
        _wizard_post(
            lead,
            ae,
            action="override",
            override_rationale="Renewal of their current tool is forced by a merger; sign now.",
        ),
    )

    assert page.context["can_override"] is True
    assert 'data-testid="request-override"' in page.content.decode()
    assert blank.status_code == 400
    assert blank.context["form"].errors["override_rationale"]
    assert asked.status_code == 302
    assert asked["Location"] == reverse("leads:detail", args=[lead.pk])
    request = ConversionRequest.objects.get()
    assert request.state == ConversionRequest.State.PENDING
    assert [u["code"] for u in request.unmet] == ["timeline_unconfirmed"]
    assert Opportunity.objects.count() == 0
    waiting = client.get(_convert_url(lead))
    assert 'data-testid="pending-override"' in waiting.content.decode()
    assert waiting.context["can_override"] is False


def test_the_approving_manager_is_not_told_of_the_large_deal_he_approved(ae, manager, unready_lead):
    team_manager = UserFactory(manager=True)
    ae.team = TeamFactory(manager=team_manager)
    ae.save()
    raw = services_raw(unready_lead, ae) | {"amount": "900000"}
    services.conversion_request_create(
        lead_id=unready_lead.pk, by=ae, raw=raw, rationale="Merger forces the timeline."
    )

    services.conversion_request_approve(
        request_id=ConversionRequest.objects.get().pk, by=manager, note="Go."
    )

    told = Notification.objects.filter(message__startswith="Large deal converted")
    assert not told.filter(recipient=manager).exists()  # his own action
    assert told.filter(recipient=team_manager).count() == 1  # the team's manager still is


def test_plain_convert_with_a_criterion_unmet_is_refused(client, ae, unready_lead):
    client.force_login(ae)

    response = client.post(_convert_url(unready_lead), _wizard_post(unready_lead, ae))

    assert response.status_code == 422
    assert [p.code for p in response.context["problems"]] == ["timeline_unconfirmed"]
    assert 'data-testid="request-override"' in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_manager_approves_an_override_and_the_deal_is_flagged(client, ae, manager, unready_lead):
    # given a pending override request
    lead = unready_lead
    services.conversion_request_create(
        lead_id=lead.pk,
        by=ae,
        raw=services_raw(lead, ae),
        rationale="Merger forces the timeline; sign this quarter.",
    )
    request = ConversionRequest.objects.get()

    # the AE may not see the approvals page; the manager sees the request
    client.force_login(ae)
    assert client.get(reverse("opportunities:overrides")).status_code == 403
    client.force_login(manager)
    listing = client.get(reverse("opportunities:overrides"))
    html = listing.content.decode()
    assert listing.status_code == 200
    assert lead.company_name in html and "Merger forces the timeline" in html
    assert "Timeline defined" in html
    assert listing.context["pending"][0]["stage"] == "Discovery"

    # when the manager approves
    response = client.post(
        reverse("opportunities:override-decide", args=[request.pk]),
        {"decision": "approve", "note": "Go."},
    )

    # then the lead converts, flagged as an override, and lists show the badge
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[opportunity.pk])
    assert opportunity.is_override
    request.refresh_from_db()
    assert request.state == ConversionRequest.State.APPROVED and request.decided_by == manager
    listed = client.get(reverse("opportunities:list") + "?approval=override")
    assert list(listed.context["opportunities"]) == [opportunity]
    assert "flag-override" in listed.content.decode()
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
    assert "Converted by override." in detail.content.decode()


def test_manager_declines_an_override(client, ae, manager, unready_lead):
    services.conversion_request_create(
        lead_id=unready_lead.pk,
        by=ae,
        raw=services_raw(unready_lead, ae),
        rationale="Sign now.",
    )
    request = ConversionRequest.objects.get()
    client.force_login(manager)

    response = client.post(
        reverse("opportunities:override-decide", args=[request.pk]), {"decision": "decline"}
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == ConversionRequest.State.DECLINED
    assert Opportunity.objects.count() == 0
    unready_lead.refresh_from_db()
    assert unready_lead.status == Lead.Status.SQL


def test_a_manager_of_another_team_cannot_decide(client, ae, unready_lead):
    services.conversion_request_create(
        lead_id=unready_lead.pk, by=ae, raw=services_raw(unready_lead, ae), rationale="Now."
    )
    request = ConversionRequest.objects.get()
    stranger = UserFactory(manager=True)
    client.force_login(stranger)

    listing = client.get(reverse("opportunities:overrides"))
    response = client.post(
        reverse("opportunities:override-decide", args=[request.pk]), {"decision": "approve"}
    )

    assert listing.context["pending"] == []
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.state == ConversionRequest.State.PENDING


def services_raw(lead: Lead, ae) -> dict[str, Any]:
    """The wizard's raw dict, as the view builds it from `_wizard_post`."""
    data = _wizard_post(lead, ae)
    raw = {k: v for k, v in data.items() if not k.startswith("roles-")}
    raw.pop("action")
    raw.pop("override_rationale")
    raw["contact_roles"] = [{"lead_contact": True, "role": "economic_buyer"}]
    return raw


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_only_visible_deals_and_filters(client, ae):
    mine_usd = OpportunityFactory(owner=ae, name="Alpha Co - Routing - Speed")
    mine_eur = OpportunityFactory(
        owner=ae, currency="EUR", source="referral", account=AccountFactory(name="Borneo Foods")
    )
    mine_qual = OpportunityFactory(owner=ae, stage=_stage("Qualification"))
    won = OpportunityFactory(owner=ae, stage=_stage("Closed Won"))
    stale = OpportunityFactory(
        owner=ae, stage_entered_at=timezone.now() - datetime.timedelta(days=30)
    )
    pending = OpportunityFactory(owner=ae, approval=Opportunity.Approval.PENDING)
    OpportunityFactory()  # someone else's
    client.force_login(ae)
    url = reverse("opportunities:list")

    def listed(query: str = "") -> set[int]:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200
        return {o.pk for o in response.context["opportunities"]}

    assert listed() == {mine_usd.pk, mine_eur.pk, mine_qual.pk, stale.pk, pending.pk}
    assert listed("state=all") == {
        mine_usd.pk,
        mine_eur.pk,
        mine_qual.pk,
        won.pk,
        stale.pk,
        pending.pk,
    }
    assert listed("state=won") == {won.pk}
    assert listed("state=stale") == {stale.pk}
    assert listed(f"stage={_stage('Qualification').pk}") == {mine_qual.pk}
    assert listed("currency=EUR") == {mine_eur.pk}
    assert listed("source=referral") == {mine_eur.pk}
    assert listed("approval=pending") == {pending.pk}
    assert listed("q=alpha") == {mine_usd.pk}
    assert listed("q=borneo") == {mine_eur.pk}
    assert listed(f"owner={ae.pk}&state=closed") == {won.pk}
    html = client.get(url).content.decode()
    assert "flag-stale" in html and "flag-pending" in html


def test_list_pages_by_keyset_in_a_constant_number_of_queries(client, ae):
    client.force_login(ae)
    url = reverse("opportunities:list")
    OpportunityFactory.create_batch(5, owner=ae)
    few = _queries(client, url)
    OpportunityFactory.create_batch(35, owner=ae)
    many = _queries(client, url)

    first = client.get(url)
    second = client.get(url + first.context["next_url"])

    assert few == many
    assert len(first.context["opportunities"]) == deal_views.PAGE_SIZE
    assert len(second.context["opportunities"]) == 40 - deal_views.PAGE_SIZE
    assert second.context["next_url"] == ""
    seen = {o.pk for o in first.context["opportunities"]} | {
        o.pk for o in second.context["opportunities"]
    }
    assert len(seen) == 40
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "opportunities_opportunity" in sql]


def test_manager_sees_the_team_and_may_filter_by_owner(client, ae, manager):
    ae.manager = manager
    ae.save()
    theirs = OpportunityFactory(owner=ae)
    OpportunityFactory()
    client.force_login(manager)

    response = client.get(reverse("opportunities:list") + f"?owner={ae.pk}")

    assert list(response.context["opportunities"]) == [theirs]
    assert response.context["show_owner_filter"]


# --- the detail page, edits, approvals ----------------------------------------------------------


def test_detail_shows_everything_and_hides_from_strangers(client, sdr, ae):
    lead = _convertible_lead(sdr, ae)
    client.force_login(ae)
    client.post(_convert_url(lead), _wizard_post(lead, ae, amount="1234567.5", currency="EUR"))
    opportunity = Opportunity.objects.get()

    response = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
    html = response.content.decode()

    assert response.status_code == 200
    assert "€1,234,567.50" in html
    assert "Technical deep-dive with IT" in html  # next step, and its follow-up task
    assert "Economic buyer" in html and "Champion" in html
    assert 'data-testid="snapshot"' in html and "CFO approved 120k" in html
    assert 'data-testid="stage-history"' in html and "Converted from lead" in html
    assert response.context["activities"][0].subject == "Technical deep-dive with IT"
    # the SDR who sourced it may read it; another AE may not
    client.force_login(sdr)
    assert client.get(reverse("opportunities:detail", args=[opportunity.pk])).status_code == 200
    client.force_login(UserFactory(ae=True))
    assert client.get(reverse("opportunities:detail", args=[opportunity.pk])).status_code == 404


def test_detail_marks_a_stale_deal(client, ae):
    opportunity = OpportunityFactory(
        owner=ae, stage_entered_at=timezone.now() - datetime.timedelta(days=25)
    )
    client.force_login(ae)

    response = client.get(reverse("opportunities:detail", args=[opportunity.pk]))

    assert response.context["stale"] is True
    assert "Stale: 25 days in Discovery" in response.content.decode()


def test_edit_saves_with_the_version(client, ae):
    opportunity = OpportunityFactory(owner=ae)
    client.force_login(ae)
    form = client.get(reverse("opportunities:edit", args=[opportunity.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(amount="75000", next_step="Send the proposal")

    response = client.post(reverse("opportunities:edit", args=[opportunity.pk]), data)

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("75000")
    assert opportunity.next_step == "Send the proposal"
    assert opportunity.version == 2


def test_edit_after_someone_else_saved_is_a_clear_conflict(client, ae, manager):
    # given the AE loaded the edit form, then the manager changed the deal
    ae.manager = manager
    ae.save()
    opportunity = OpportunityFactory(owner=ae, next_step="Old step")
    client.force_login(ae)
    form = client.get(reverse("opportunities:edit", args=[opportunity.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    services.opportunity_update(
        opportunity_id=opportunity.pk, by=manager, data={"next_step": "Manager's step"}
    )

    # when the AE saves their version
    data["next_step"] = "AE's step"
    response = client.post(reverse("opportunities:edit", args=[opportunity.pk]), data)

    # then nothing is saved, the message says why, and both values are on the page
    assert response.status_code == 409
    opportunity.refresh_from_db()
    assert opportunity.next_step == "Manager's step"
    html = response.content.decode()
    assert "Someone else changed this deal while you were editing" in html
    assert "Manager&#x27;s step" in html and "AE&#x27;s step" in html
    assert response.context["form"]["version"].value() == str(opportunity.version)


def test_edit_problems_from_the_service_land_on_fields(client, ae):
    opportunity = OpportunityFactory(owner=ae)
    client.force_login(ae)
    form = client.get(reverse("opportunities:edit", args=[opportunity.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["name"] = "TBD"

    response = client.post(reverse("opportunities:edit", args=[opportunity.pk]), data)

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["Name the opportunity."]


def test_edit_is_forbidden_to_the_sdr_and_hidden_from_others(client, sdr, ae):
    lead = LeadFactory(owner=sdr, status="converted", converted_at=timezone.now())
    opportunity = OpportunityFactory(owner=ae, lead=lead)

    client.force_login(sdr)
    forbidden = client.get(reverse("opportunities:edit", args=[opportunity.pk]))
    client.force_login(UserFactory(ae=True))
    hidden = client.get(reverse("opportunities:edit", args=[opportunity.pk]))

    assert forbidden.status_code == 403
    assert hidden.status_code == 404


def test_manager_approves_a_large_deal(client, ae, manager):
    ae.manager = manager
    ae.save()
    opportunity = OpportunityFactory(owner=ae, approval=Opportunity.Approval.PENDING)
    url = reverse("opportunities:approval", args=[opportunity.pk])

    client.force_login(manager)
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
    client.force_login(ae)
    refused = client.post(url, {"decision": "approve"})
    client.force_login(manager)
    approved = client.post(url, {"decision": "approve"})

    assert 'data-testid="approve"' in page.content.decode()
    assert refused.status_code == 403
    assert approved.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.approval == Opportunity.Approval.APPROVED


# --- moving stages -----------------------------------------------------------------------------


def _move(client, opportunity: Opportunity, stage: str, **extra: Any):
    return client.post(
        reverse("opportunities:stage", args=[opportunity.pk]),
        {"stage": _stage(stage).pk, "version": opportunity.version, **extra},
        HTTP_ACCEPT="application/json",
    )


def test_moving_a_deal_answers_with_the_new_column_totals(client, ae):
    opportunity = OpportunityFactory(owner=ae, decision_criteria="Price, speed")
    OpportunityFactory(owner=ae, currency="EUR", amount=Decimal("30000"))
    client.force_login(ae)

    response = _move(client, opportunity, "Qualification")

    assert response.status_code == 200
    body = response.json()
    qualification = str(_stage("Qualification").pk)
    discovery = str(_stage("Discovery").pk)
    assert body["opportunity"]["stage"] == int(qualification)
    assert body["opportunity"]["version"] == 2
    assert body["columns"][qualification] == {"count": 1, "totals": "USD\u00a050K"}
    assert body["columns"][discovery] == {"count": 1, "totals": "EUR\u00a030K"}
    change = StageChange.objects.get(opportunity=opportunity, from_stage=_stage("Discovery"))
    assert change.to_stage == _stage("Qualification") and change.actor == ae


def test_leaving_a_stage_with_its_exit_fields_blank_is_a_400(client, ae):
    opportunity = OpportunityFactory(owner=ae, decision_criteria="")
    client.force_login(ae)

    response = _move(client, opportunity, "Qualification")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["decision_criteria"]
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_closing_lost_needs_a_reason_and_a_competitor(client, ae):
    opportunity = OpportunityFactory(owner=ae, decision_criteria="Price")
    client.force_login(ae)

    refused = _move(client, opportunity, "Closed Lost")
    closed = _move(
        client, opportunity, "Closed Lost", lost_reason="Price", lost_to_competitor="RouteCo"
    )

    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"lost_reason", "lost_to_competitor"}
    assert closed.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.stage.is_lost and opportunity.lost_to_competitor == "RouteCo"


def test_a_stale_version_or_a_reader_cannot_move(client, sdr, ae):
    lead = LeadFactory(owner=sdr, status="converted", converted_at=timezone.now())
    opportunity = OpportunityFactory(owner=ae, lead=lead, decision_criteria="Price")
    client.force_login(ae)
    stale = client.post(
        reverse("opportunities:stage", args=[opportunity.pk]),
        {"stage": _stage("Qualification").pk, "version": 99},
        HTTP_ACCEPT="application/json",
    )
    client.force_login(sdr)
    reader = _move(client, opportunity, "Qualification")
    client.force_login(UserFactory(ae=True))
    stranger = _move(client, opportunity, "Qualification")

    assert stale.status_code == 409
    assert stale.json()["errors"][0]["code"] == "stale_version"
    assert reader.status_code == 403
    assert stranger.status_code == 404
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_the_detail_page_form_moves_and_shows_exit_problems(client, ae):
    opportunity = OpportunityFactory(owner=ae, decision_criteria="")
    client.force_login(ae)
    url = reverse("opportunities:stage", args=[opportunity.pk])

    refused = client.post(url, {"stage": _stage("Qualification").pk, "version": 1})
    opportunity.decision_criteria = "Price"
    opportunity.save()
    moved = client.post(url, {"stage": _stage("Qualification").pk, "version": 1})

    assert refused.status_code == 400
    assert "Fill in decision criteria before leaving Discovery." in refused.content.decode()
    assert moved.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.stage == _stage("Qualification")


# --- the board ---------------------------------------------------------------------------------


def test_board_has_a_column_per_stage_with_count_and_totals_per_currency(client, ae):
    OpportunityFactory(owner=ae, amount=Decimal("1000000"))
    OpportunityFactory(owner=ae, amount=Decimal("200000"))
    OpportunityFactory(owner=ae, amount=Decimal("300000"), currency="EUR")
    OpportunityFactory(owner=ae, stage=_stage("Qualification"), approval="pending")
    OpportunityFactory(amount=Decimal("999"))  # not visible to this AE
    client.force_login(ae)

    response = client.get(reverse("opportunities:board"))

    columns = {c["stage"].name: c for c in response.context["columns"]}
    assert list(columns) == list(
        Stage.objects.filter(is_active=True).order_by("position").values_list("name", flat=True)
    )
    assert columns["Discovery"]["count"] == 3
    assert columns["Discovery"]["totals"] == "EUR\u00a0300K · USD\u00a01.2M"
    # the pending deal sits apart, outside the stage's pipeline count
    assert columns["Qualification"]["count"] == 0
    assert columns["Qualification"]["pending_count"] == 1
    assert columns["Closed Won"]["count"] == 0
    html = response.content.decode()
    assert html.count('data-testid="deal-card"') == 4
    assert "flag-pending" in html
    assert response.context["can_drag"] is True
    assert "Edit stages" not in html


def test_board_runs_a_constant_number_of_queries_and_caps_columns(client, ae, monkeypatch):
    client.force_login(ae)
    url = reverse("opportunities:board")
    OpportunityFactory.create_batch(5, owner=ae)
    few = _queries(client, url)
    OpportunityFactory.create_batch(35, owner=ae)
    OpportunityFactory.create_batch(3, owner=ae, stage=_stage("Proposal"))
    many = _queries(client, url)
    monkeypatch.setattr(board_views, "BOARD_CARDS_PER_COLUMN", 10)

    capped = client.get(url)

    assert few == many
    discovery = next(c for c in capped.context["columns"] if c["stage"].name == "Discovery")
    assert len(discovery["cards"]) == 10 and discovery["count"] == 40
    assert discovery["more_url"] and 'data-testid="load-more"' in capped.content.decode()
    newest = Opportunity.objects.filter(stage=_stage("Discovery")).order_by("-created_at", "-id")
    assert [c.pk for c in discovery["cards"]] == [o.pk for o in newest[:10]]
    proposal = next(c for c in capped.context["columns"] if c["stage"].name == "Proposal")
    assert len(proposal["cards"]) == 3 and not proposal["more_url"]


def test_load_more_appends_the_next_cards_of_a_column_until_none_are_left(client, ae, monkeypatch):
    client.force_login(ae)
    OpportunityFactory.create_batch(25, owner=ae)
    monkeypatch.setattr(board_views, "BOARD_CARDS_PER_COLUMN", 10)
    newest = [
        o.pk
        for o in Opportunity.objects.filter(stage=_stage("Discovery")).order_by(
            "-created_at", "-id"
        )
    ]
    seen = [c.pk for c in _column(client.get(reverse("opportunities:board")), "Discovery")]
    url = _column_info(client.get(reverse("opportunities:board")), "Discovery")["more_url"]

    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [card.pk for card in response.context["cards"]]
        url = response.context["more_url"]
        pages += 1

    assert seen == newest and pages == 2
    assert 'hx-swap-oob="true"' in response.content.decode()


def test_the_board_filters_by_currency_and_close_month_and_keeps_them_for_the_table(client, ae):
    client.force_login(ae)
    march = OpportunityFactory(
        owner=ae, currency="IDR", expected_close_date=datetime.date(2031, 3, 14)
    )
    OpportunityFactory(owner=ae, currency="IDR", expected_close_date=datetime.date(2031, 4, 1))
    OpportunityFactory(owner=ae, currency="USD", expected_close_date=datetime.date(2031, 3, 2))

    response = client.get(
        reverse("opportunities:board"), {"currency": "IDR", "close_month": "2031-03"}
    )

    shown = [c.pk for col in response.context["columns"] for c in col["cards"]]
    assert shown == [march.pk]
    assert "close_month=2031-03" in response.context["table_url"]
    table = client.get(response.context["table_url"])
    assert [o.pk for o in table.context["opportunities"]] == [march.pk]


def test_a_month_that_is_not_one_is_a_field_error_not_a_500(client, ae):
    client.force_login(ae)

    response = client.get(reverse("opportunities:board"), {"close_month": "0000-13"})

    assert response.status_code == 200
    assert response.context["form"].errors["close_month"]


def _column_info(response, name):
    return next(c for c in response.context["columns"] if c["stage"].name == name)


def _column(response, name):
    return _column_info(response, name)["cards"]


def test_board_filters_by_owner_for_managers_and_links_stages_for_revops(client, ae, revops):
    mine = OpportunityFactory(owner=ae)
    OpportunityFactory()
    client.force_login(revops)

    everyone = client.get(reverse("opportunities:board"))
    filtered = client.get(reverse("opportunities:board") + f"?owner={ae.pk}")

    assert sum(c["count"] for c in everyone.context["columns"]) == 2
    assert sum(c["count"] for c in filtered.context["columns"]) == 1
    cards = [card for c in filtered.context["columns"] for card in c["cards"]]
    assert cards == [mine]
    assert reverse("opportunities:settings-stages") in everyone.content.decode()


def test_navigation_lists_opportunities_pipeline_and_approvals_by_role(client, ae, manager):
    client.force_login(ae)
    ae_items = [str(label) for label, *_ in client.get("/").context["nav_items"]]
    client.force_login(manager)
    manager_items = [str(label) for label, *_ in client.get("/").context["nav_items"]]

    assert {"Opportunities", "Pipeline"} <= set(ae_items)
    assert "Approvals" not in ae_items
    assert "Approvals" in manager_items


def test_the_lead_page_card_shows_readiness_and_a_waiting_override(rf, ae, unready_lead):
    from leads.panels import render_panels

    request = rf.get("/")
    request.user = ae

    (before,) = render_panels(request, ae, unready_lead)
    services.conversion_request_create(
        lead_id=unready_lead.pk, by=ae, raw=services_raw(unready_lead, ae), rationale="Now."
    )
    (after,) = render_panels(request, ae, unready_lead)

    assert "Not ready — 1 unmet" in before
    assert "Define the forcing event and target date, with evidence." in before
    assert _convert_url(unready_lead) in before
    assert "Override waiting for a manager" in after


def _waiting_requests(ae, n: int) -> list[ConversionRequest]:
    """`n` override requests by `ae`, each for its own lead with the timeline unmet."""
    requests = []
    for _ in range(n):
        lead = LeadFactory(status="sql", ae=ae)
        requests.append(
            ConversionRequest.objects.create(
                lead=lead,
                requested_by=ae,
                data=services_raw(lead, ae),
                unmet=[{"code": "timeline_unconfirmed", "field": "timeline_status"}],
                rationale="Board deadline",
            )
        )
    return requests


def test_the_override_list_costs_the_same_queries_for_any_number_of_requests(
    client, ae, manager, django_assert_num_queries
):
    # given a manager whose AE asked for one override, and one decided earlier
    ae.manager = manager
    ae.save()
    first, decided = _waiting_requests(ae, 2)
    services.conversion_request_decline(request_id=decided.pk, by=manager, note="Not yet")
    client.force_login(manager)
    url = reverse("opportunities:overrides")
    with CaptureQueriesContext(connection) as baseline:
        client.get(url)

    # when many more wait
    _waiting_requests(ae, 12)

    # then the page still costs exactly as many queries, and lists them all with buttons
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(url)
    assert len(response.context["pending"]) == 13
    assert [row["request"] for row in response.context["decided"]] == [decided]
    assert all(row["can_decide"] for row in response.context["pending"])
    assert response.content.decode().count('data-testid="approve-override"') == 13


def test_the_deal_page_shows_edits_and_the_approval_with_who_when_and_why(client, ae, manager):
    ae.manager = manager
    ae.save()
    opportunity = OpportunityFactory(
        owner=ae, amount=Decimal("50000"), approval=Opportunity.Approval.PENDING
    )
    services.opportunity_update(
        opportunity_id=opportunity.pk, by=ae, data={"amount": Decimal("75000")}
    )
    client.force_login(manager)

    client.post(
        reverse("opportunities:approval", args=[opportunity.pk]),
        {"decision": "approve", "note": "Budget signed off by the CFO"},
    )
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk]))

    events = page.context["events"]
    assert [(row.event.kind, row.event.actor) for row in events] == [
        ("approved", manager),
        ("edited", ae),
    ]
    assert events[1].changes == [("Estimated deal size", "50000.00", "75000")]
    html = page.content.decode()
    assert 'data-testid="deal-events"' in html
    assert "Budget signed off by the CFO" in html and "Approved" in html


def test_the_deals_next_step_leads_its_activities_whatever_is_due_first(client, ae):
    # given a deal whose next step is due after another open task
    opportunity = OpportunityFactory(owner=ae, next_step="Security review")
    now = timezone.now()
    earlier = Activity.objects.create(
        kind="task",
        opportunity=opportunity,
        owner=ae,
        subject="Start the account plan",
        due_at=now + datetime.timedelta(days=1),
    )
    undated = Activity.objects.create(
        kind="note", opportunity=opportunity, owner=ae, subject="Met at the fair"
    )
    next_step = Activity.objects.create(
        kind="task",
        opportunity=opportunity,
        owner=opportunity.next_step_owner,
        subject="Security review",
        due_at=now + datetime.timedelta(days=5),
    )
    client.force_login(ae)

    response = client.get(reverse("opportunities:detail", args=[opportunity.pk]))

    # then the next step comes first, the rest by due date, undated last
    assert response.context["activities"] == [next_step, earlier, undated]


def test_a_lead_converted_meanwhile_sends_the_wizard_on_to_its_deal(client, sdr, ae, monkeypatch):
    # given the AE submits the wizard while someone else converts the lead
    lead = _convertible_lead(sdr, ae)
    client.force_login(ae)

    convert = services.lead_convert

    def convert_first(**kwargs: Any) -> Opportunity:
        convert(lead_id=lead.pk, by=ae, raw=services_raw(lead, ae))
        return convert(**kwargs)

    monkeypatch.setattr(services, "lead_convert", convert_first)
    response = client.post(_convert_url(lead), _wizard_post(lead, ae), follow=True)

    # then nothing is converted twice, and the user lands on the deal, told why
    opportunity = Opportunity.objects.get()
    assert response.redirect_chain == [
        (_convert_url(lead), 302),
        (reverse("opportunities:detail", args=[opportunity.pk]), 302),
    ]
    assert "This lead is already converted." in response.content.decode()
