"""The gate cannot leak (issue 10): a placeholder is never evidence, a recycled lead
starts over, and a lead without a qualification record is not stuck.

Each case fails on the code before the fix: "TBD" counted as evidence, a reopened lead
converted on its old hand-off and discovery call, and a SAL lead seeded without a
qualification record offered a "Move to SQL" button that could only answer 400.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.exceptions import InvalidTransition, ValidationFailed
from crm.placeholders import is_placeholder
from leads import gate, services
from leads.access import lead_actions
from leads.models import Handoff, Lead, LeadEvent, Qualification
from tests.factories import (
    ConvertibleLeadFactory,
    LeadFactory,
    QualificationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = Lead.Status
PACKAGE = {
    "company_background": "400-person logistics firm in Surabaya; fits ICP.",
    "contacts_org_chart": "COO (buyer), Head of Sales (champion).",
    "pain_points": "Inbound leads wait two days for a reply.",
    "engagement_history": "Webinar, two calls, then nurture; came back in spring.",
    "qualification_notes": "BANT: budget, authority, need confirmed again.",
    "recommended_next_step": "Discovery with the COO.",
}
SQL_CRITERIA = ("need", "budget", "authority")


def _url(name: str, lead: Lead) -> str:
    return reverse(f"leads:{name}", args=[lead.pk])


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- one placeholder rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "TBD",
        " tbd. ",
        "t.b.d.",
        "Unknown",
        "N/A",
        "n/a",
        "N.A.",
        "?",
        "???",
        "-",
        "--",
        "—",
        "...",
        "…",
        "none",
        "TBA",
        "TBC",
        "To be confirmed",
        "to be determined",
        "xxx",
        "XXXX",
        "todo",
        "not sure",
        "\t- \n",
    ],
)
def test_placeholders_count_as_missing(text):
    assert is_placeholder(text)
    assert gate.is_blank(text)  # the gate's name for the same rule


@pytest.mark.parametrize(
    "text",
    [
        "CFO approved 120k",
        "Budget is unknown until March; the CFO decides then",
        "No",
        "0",
        "x",
        "Nadia",
        "TBD by the CFO on 3 March, 120k ceiling",
    ],
)
def test_real_answers_are_not_placeholders(text):
    assert not is_placeholder(text)


def _sal_with(evidence: str) -> Lead:
    lead = LeadFactory(status=S.SAL)
    QualificationFactory(lead=lead, confirmed=True, budget_evidence=evidence)
    return lead


@pytest.mark.parametrize("evidence", ["TBD", "n/a", "—", "to be confirmed", "   "])
def test_a_confirmed_criterion_with_placeholder_evidence_is_not_met(evidence):
    lead = _sal_with(evidence)
    q = lead.qualification

    assert not q.is_confirmed("budget")
    assert q.confirmed_count == 4
    assert "budget_unconfirmed" in [p.code for p in gate.sql_problems(lead, q)]


def test_the_sql_gate_refuses_tbd_evidence_and_says_why():
    lead = _sal_with("TBD")

    with pytest.raises(ValidationFailed) as caught:
        services.lead_qualify(lead_id=lead.pk, by=lead.owner)

    (problem,) = caught.value.problems
    assert (problem.code, problem.field) == ("budget_unconfirmed", "budget_status")
    assert "“TBD” is a placeholder, not evidence" in problem.message
    assert Lead.objects.get(pk=lead.pk).status == S.SAL


def test_the_conversion_gate_refuses_tbd_evidence():
    lead = ConvertibleLeadFactory()
    Qualification.objects.filter(lead=lead).update(decision_evidence="Unknown")

    problems = gate.conversion_problems(lead, Qualification.objects.get(lead=lead))

    assert [p.code for p in problems] == ["decision_unconfirmed"]


def test_the_api_counts_no_placeholder_as_confirmed(sdr):
    lead = LeadFactory(owner=sdr, status=S.SAL)
    QualificationFactory(lead=lead, confirmed=True, need_evidence="N/A", timeline_evidence="?")

    body = _api(sdr).get(f"/api/v1/leads/{lead.pk}/qualification/").json()

    assert body["confirmed_count"] == 3


def test_the_qualification_panel_counts_and_explains_placeholder_evidence(client, sdr):
    lead = LeadFactory(owner=sdr, status=S.SAL)
    QualificationFactory(lead=lead, confirmed=True, need_evidence="TBD")
    client.force_login(sdr)

    page = client.get(_url("detail", lead))

    assert page.context["confirmed_count"] == 4
    need = next(c for c in page.context["criteria"] if c["key"] == "need")
    assert need["needs_evidence"] and need["placeholder_evidence"]
    html = page.content.decode()
    assert "<strong>4</strong>/5 confirmed" in html
    assert "“TBD” is a placeholder, not evidence" in html
    assert not page.context["sql_ready"]


def test_hand_off_fields_refuse_every_placeholder(sdr, ae):
    lead = LeadFactory(owner=sdr, status=S.SQL, qualified_at=timezone.now())
    package = PACKAGE | {"pain_points": "—", "engagement_history": "To be confirmed"}

    with pytest.raises(ValidationFailed) as caught:
        services.lead_hand_off(
            lead_id=lead.pk,
            by=sdr,
            to_user=ae,
            package=package,
            discovery_meeting_at=timezone.now() + datetime.timedelta(days=2),
        )

    assert {p.field for p in caught.value.problems} == {"pain_points", "engagement_history"}
    assert not Handoff.objects.filter(lead=lead).exists()


# --- a recycled lead starts over --------------------------------------------------------------


def _recycle(lead: Lead, *, by) -> Lead:
    """Nurture a handed-off SQL lead, reopen it, accept it and qualify it again."""
    services.lead_nurture(lead_id=lead.pk, by=by, reason="Budget frozen until spring.")
    services.lead_reopen(lead_id=lead.pk, by=by, reason="They came back with budget.")
    services.lead_accept(lead_id=lead.pk, by=by)
    services.qualification_update(
        lead_id=lead.pk,
        by=by,
        data={f"{c}_status": "confirmed" for c in Qualification.CRITERIA},
    )
    services.lead_qualify(lead_id=lead.pk, by=by)
    lead.refresh_from_db()
    return lead


def test_a_recycled_lead_does_not_convert_on_its_old_hand_off_and_discovery():
    # given a lead that was handed off and had its discovery call
    lead = ConvertibleLeadFactory()
    assert gate.conversion_problems(lead, lead.qualification) == []

    # when it is nurtured, reopened, accepted and qualified again
    lead = _recycle(lead, by=lead.owner)

    # then the gate wants a fresh hand-off and a fresh discovery call
    problems = gate.conversion_problems(lead, Qualification.objects.get(lead=lead))
    assert [p.code for p in problems] == ["no_handoff", "discovery_not_held"]
    assert gate.current_handoff(lead) is None


def test_a_recycled_lead_converts_after_a_fresh_hand_off_and_discovery():
    lead = ConvertibleLeadFactory()
    old_ae = lead.ae
    lead = _recycle(lead, by=lead.owner)
    new_ae = UserFactory(ae=True)

    # the SDR may hand it off again, to whichever AE
    assert lead_actions(lead.owner, lead, handoff=None)["handoff"]
    handoff = services.lead_hand_off(
        lead_id=lead.pk,
        by=lead.owner,
        to_user=new_ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(days=2),
    )
    lead.refresh_from_db()
    assert lead.ae == new_ae and old_ae != new_ae
    problems = gate.conversion_problems(lead, Qualification.objects.get(lead=lead))
    assert [p.code for p in problems] == ["discovery_not_held"]

    # and the new AE records the new discovery call
    services.lead_record_discovery(lead_id=lead.pk, by=new_ae, rating=4)

    handoff.refresh_from_db()
    assert handoff.discovery_held_at is not None
    assert gate.current_handoff(lead) == handoff
    assert gate.conversion_problems(lead, Qualification.objects.get(lead=lead)) == []


def test_reopening_resets_the_ae_the_hand_off_date_and_the_confirmations():
    lead = ConvertibleLeadFactory()
    old_ae = lead.ae
    services.lead_nurture(lead_id=lead.pk, by=lead.owner, reason="Not now.")

    services.lead_reopen(lead_id=lead.pk, by=lead.owner, reason="Back with a project.")

    lead.refresh_from_db()
    assert lead.status == S.MQL
    assert lead.ae is None and lead.handed_off_at is None
    q = Qualification.objects.get(lead=lead)
    # the evidence stays as a starting point; each criterion is confirmed afresh
    assert [q.criterion_status(c) for c in Qualification.CRITERIA] == ["in_progress"] * 5
    assert q.budget_evidence == "CFO approved 120k in the Q3 cycle."
    assert q.confirmed_count == 0
    edited = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.EDITED)
    assert edited.changes["ae"] == [str(old_ae), None]
    reset = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.QUALIFICATION).get()
    assert reset.changes["budget_status"] == ["confirmed", "in_progress"]
    # the old AE no longer works the lead
    assert not Lead.objects.visible_to(old_ae).filter(pk=lead.pk).exists()


def test_discovery_cannot_be_recorded_on_the_old_hand_off():
    lead = ConvertibleLeadFactory()
    old_ae = lead.ae
    old = Handoff.objects.get(lead=lead)
    Handoff.objects.filter(pk=old.pk).update(discovery_held_at=None)
    lead = _recycle(lead, by=lead.owner)

    with pytest.raises(InvalidTransition):
        services.lead_record_discovery(lead_id=lead.pk, by=UserFactory(revops=True))

    old.refresh_from_db()
    assert old.discovery_held_at is None
    assert old_ae != lead.ae


def test_the_lead_page_offers_the_hand_off_again_and_marks_the_old_package(client):
    lead = ConvertibleLeadFactory()
    lead = _recycle(lead, by=lead.owner)
    client.force_login(lead.owner)

    page = client.get(_url("detail", lead))

    assert page.context["actions"]["handoff"]
    assert not page.context["actions"]["discovery"]
    assert page.context["handoff_is_current"] is False
    html = page.content.decode()
    assert 'data-testid="earlier-handoff"' in html
    assert "before the lead was reopened" in html
    form = client.get(_url("handoff", lead))
    assert form.status_code == 200
    assert form.context["previous_handoff"] == Handoff.objects.get(lead=lead)


# --- leads without a qualification record are not stuck ---------------------------------------


def test_a_sal_lead_without_a_qualification_shows_the_panel_and_no_dead_button(client, sdr):
    # given a SAL lead seeded without a qualification record
    lead = LeadFactory(owner=sdr, status=S.SAL)
    client.force_login(sdr)

    # then its page shows the criteria panel, and no "Move to SQL" yet
    page = client.get(_url("detail", lead))
    html = page.content.decode()
    assert 'data-testid="qualification-form"' in html
    assert "No qualification record" not in html
    assert not page.context["actions"]["qualify"]
    assert f'action="{_url("qualify", lead)}"' not in html

    # when the SDR saves the panel, the record is created through the service
    data = dict.fromkeys(services.QUALIFICATION_FIELDS, "") | {
        "version": 1,
        "framework": "bant",
        **{f"{c}_status": "unknown" for c in Qualification.CRITERIA},
        **{f"{c}_status": "confirmed" for c in SQL_CRITERIA},
        **{f"{c}_evidence": f"What the COO said about {c}." for c in SQL_CRITERIA},
    }
    saved = client.post(_url("qualification", lead), data)
    assert saved.status_code == 302
    assert Qualification.objects.get(lead=lead).confirmed_count == 3

    # then "Move to SQL" is offered, and works
    page = client.get(_url("detail", lead))
    assert page.context["actions"]["qualify"]
    assert f'action="{_url("qualify", lead)}"' in page.content.decode()
    moved = client.post(_url("qualify", lead), {"version": lead.version})
    assert moved.status_code == 302
    assert Lead.objects.get(pk=lead.pk).status == S.SQL


def test_move_to_sql_is_offered_only_when_the_gate_allows_it(client, sdr):
    lead = LeadFactory(owner=sdr, status=S.SAL)
    QualificationFactory(lead=lead, confirmed=True, authority_evidence="TBD")
    client.force_login(sdr)

    blocked = client.get(_url("detail", lead))
    Qualification.objects.filter(lead=lead).update(authority_evidence="COO signs.")
    ready = client.get(_url("detail", lead))

    assert not blocked.context["actions"]["qualify"]
    assert f'action="{_url("qualify", lead)}"' not in blocked.content.decode()
    assert "“Move to SQL” appears under Next step once they are." in blocked.content.decode()
    assert ready.context["actions"]["qualify"]
    assert f'action="{_url("qualify", lead)}"' in ready.content.decode()


def test_an_sql_lead_without_a_qualification_shows_the_panel_for_every_role(client, sdr, revops):
    lead = LeadFactory(owner=sdr, status=S.SQL, qualified_at=timezone.now())
    manager = UserFactory(manager=True)
    sdr.manager = manager
    sdr.save()

    for user in (sdr, manager, revops):
        client.force_login(user)
        page = client.get(_url("detail", lead))
        assert page.status_code == 200
        assert 'data-testid="qualification-form"' in page.content.decode()
        assert page.context["confirmed_count"] == 0
    # looking at it creates nothing; saving does
    assert not Qualification.objects.filter(lead=lead).exists()
