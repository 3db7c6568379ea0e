"""Disqualifying a lead names a reason from RevOps' list and a written rationale, like
rejecting: the service, the lead page and the API, for each role, and every bad input
answered on its field."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from crm.exceptions import ValidationFailed
from leads import services
from leads.models import DisqualificationReason, Lead, LeadTransition
from sla.models import SlaTimer
from tests.factories import LeadFactory, QualificationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Lead.Status


def _lead(owner, status=S.MQL, **kwargs) -> Lead:
    lead = LeadFactory(owner=owner, status=status, **kwargs)
    QualificationFactory(lead=lead)
    return lead


def _reason(code: str) -> DisqualificationReason:
    return DisqualificationReason.objects.get(code=code)


def _retired(code: str = "too-small") -> DisqualificationReason:
    reason = DisqualificationReason.objects.get(code=code)
    reason.is_active = False
    reason.save()
    return reason


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _api_disqualify(user, lead: Lead, body) -> tuple[int, dict]:
    response = _api(user).post(f"/api/v1/leads/{lead.pk}/disqualify/", body, format="json")
    return response.status_code, response.json()


def _problems(body: dict) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in body["errors"]}


@pytest.fixture
def boss(sdr):
    boss = UserFactory(manager=True)
    sdr.manager = boss
    sdr.save()
    return boss


@pytest.fixture
def teammate(sdr):
    """An SDR who may read the lead (team setting on) but not work it."""
    team = TeamFactory(sdrs_see_team_leads=True)
    sdr.team = team
    sdr.save()
    return UserFactory(sdr=True, team=team)


# --- the service ---------------------------------------------------------------------------------


def test_disqualifying_keeps_the_reason_and_rationale_and_tells_marketing(
    sdr, mailoutbox, django_capture_on_commit_callbacks
):
    lead = services.lead_create(
        by=sdr,
        data={
            "company_name": "Kopi Kita",
            "last_name": "Tan",
            "email": "t@kopi.example",
            "source": "inbound",
        },
        owner=sdr,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.lead_disqualify(
            lead_id=lead.pk,
            by=sdr,
            reason_code="out-of-business",
            note="  Acquired by Indofood in May; the brand is gone.  ",
        )

    lead.refresh_from_db()
    assert lead.status == S.DISQUALIFIED and lead.disqualified_at is not None
    assert lead.disqualification_reason.code == "out-of-business"
    assert lead.disqualification_note == "Acquired by Indofood in May; the brand is gone."
    move = LeadTransition.objects.get(lead=lead, to_status=S.DISQUALIFIED)
    assert move.actor == sdr
    assert (
        move.reason == "Company closed or acquired: Acquired by Indofood in May; the brand is gone."
    )
    assert not SlaTimer.objects.running().filter(lead=lead).exists()
    mail = mailoutbox[-1]
    assert "disqualified (Company closed or acquired)" in mail.subject
    assert "Acquired by Indofood" in mail.body


@pytest.mark.parametrize(
    ("code", "note", "expected"),
    [
        ("no-such-reason", "Fake company.", {("reason", "invalid_choice")}),
        ("too-small", "Fake company.", {("reason", "invalid_choice")}),  # retired below
        ("", "Fake company.", {("reason", "required")}),
        ("other", "TBD", {("note", "required")}),
        ("other", " n/a. ", {("note", "required")}),
        ("nope", "", {("reason", "invalid_choice"), ("note", "required")}),
    ],
)
def test_a_disqualification_needs_an_active_reason_and_a_real_rationale(sdr, code, note, expected):
    _retired("too-small")
    lead = _lead(sdr)

    with pytest.raises(ValidationFailed) as caught:
        services.lead_disqualify(lead_id=lead.pk, by=sdr, reason_code=code, note=note)

    assert {(p.field, p.code) for p in caught.value.problems} == expected
    lead.refresh_from_db()
    assert lead.status == S.MQL and lead.disqualification_reason is None
    assert not LeadTransition.objects.filter(lead=lead).exists()


# --- the lead page -------------------------------------------------------------------------------


def test_the_form_offers_only_active_reasons_and_asks_for_a_rationale(client, sdr):
    _retired("too-small")
    lead = _lead(sdr)
    client.force_login(sdr)

    page = client.get(reverse("leads:detail", args=[lead.pk]))

    form = page.context["forms"]["disqualify"]
    codes = [code for code, _label in form.fields["reason"].choices]
    assert codes[0] == "" and "other" in codes and "not-a-company" in codes
    assert "too-small" not in codes
    html = page.content.decode()
    assert 'name="note"' in html and "Below our minimum company size" not in html
    assert "Not a real company, spam or test entry" in html


@pytest.mark.parametrize("who", ["sdr", "boss", "revops"])
def test_whoever_may_work_the_lead_disqualifies_it_from_the_page(client, sdr, boss, revops, who):
    lead = _lead(sdr, status=S.SAL)
    client.force_login({"sdr": sdr, "boss": boss, "revops": revops}[who])

    response = client.post(
        reverse("leads:disqualify", args=[lead.pk]),
        {"reason": "personal", "note": "A student project, says so on the form.", "version": 1},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == S.DISQUALIFIED and lead.disqualification_reason.code == "personal"
    page = client.get(reverse("leads:detail", args=[lead.pk]))
    shown = page.content.decode()
    assert "Student, job seeker or personal use" in shown
    assert "A student project, says so on the form." in shown
    history = [e for e in page.context["timeline"] if e["type"] == "transition"]
    assert history[0]["reason"] == (
        "Student, job seeker or personal use: A student project, says so on the form."
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": "too-small", "note": "Ten people."}, "reason", None),  # retired
        ({"reason": "bogus", "note": "Ten people."}, "reason", None),
        ({"reason": "", "note": "Ten people."}, "reason", "Choose a disqualification reason."),
        (
            {"reason": "other", "note": "TBD"},
            "note",
            "Explain why: marketing reads this rationale.",
        ),
    ],
)
def test_bad_input_comes_back_on_its_field(client, sdr, data, field, message):
    _retired("too-small")
    lead = _lead(sdr)
    client.force_login(sdr)

    response = client.post(reverse("leads:disqualify", args=[lead.pk]), data)

    assert response.status_code == 400
    errors = response.context["forms"]["disqualify"].errors
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert response.context["open_action"] == "disqualify"
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


def test_a_teammate_who_may_read_cannot_disqualify(client, sdr, teammate):
    lead = _lead(sdr, team=sdr.team)
    client.force_login(teammate)

    page = client.get(reverse("leads:detail", args=[lead.pk]))
    response = client.post(
        reverse("leads:disqualify", args=[lead.pk]), {"reason": "other", "note": "Mine now."}
    )

    assert page.status_code == 200 and not page.context["actions"]["disqualify"]
    assert 'data-testid="disqualify"' not in page.content.decode()
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_people_who_cannot_see_the_lead_get_404(client, sdr, role):
    lead = _lead(sdr)
    client.force_login(UserFactory(role=role))

    response = client.post(
        reverse("leads:disqualify", args=[lead.pk]), {"reason": "other", "note": "Not mine."}
    )

    assert response.status_code == 404
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


def test_old_leads_keep_showing_their_reason(client, sdr):
    retired = DisqualificationReason.objects.get(code="competitor")
    with_retired = _lead(sdr, status=S.DISQUALIFIED, disqualification_reason=retired)
    _retired("competitor")
    free_text_only = _lead(
        sdr, status=S.DISQUALIFIED, disqualification_note="Spam: asdf asdf in every field."
    )
    client.force_login(sdr)

    retired_page = client.get(reverse("leads:detail", args=[with_retired.pk])).content.decode()
    text_page = client.get(reverse("leads:detail", args=[free_text_only.pk])).content.decode()

    assert "Competitor or partner, not a buyer" in retired_page
    assert "reason since retired" in retired_page
    assert "Spam: asdf asdf in every field." in text_page


# --- the API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sdr", "boss", "revops"])
def test_the_api_disqualifies_with_a_reason_code_and_a_rationale(sdr, boss, revops, who):
    lead = _lead(sdr)
    user = {"sdr": sdr, "boss": boss, "revops": revops}[who]

    status, body = _api_disqualify(
        user, lead, {"reason": "unreachable", "note": "Bounced; phone disconnected."}
    )

    assert status == 200, body
    assert body["status"] == "disqualified"
    assert body["disqualification_reason"] == "unreachable"
    assert body["disqualification_note"] == "Bounced; phone disconnected."
    transitions = _api(user).get(f"/api/v1/leads/{lead.pk}/transitions/").json()
    assert transitions[-1]["reason"].startswith("Contact data invalid and cannot be corrected: ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"reason": "no-such", "note": "x y"}, {("reason", "invalid_choice")}),
        ({"reason": "too-small", "note": "x y"}, {("reason", "invalid_choice")}),  # retired
        ({"reason": "other", "note": "TBD"}, {("note", "required")}),
        ({"reason": "other", "note": "?"}, {("note", "required")}),
        ({"reason": "", "note": ""}, {("reason", "required"), ("note", "required")}),
        # The old free-text shape: refused, naming both fields at once.
        ({"reason": "Company closed"}, {("reason", "invalid_choice"), ("note", "required")}),
        ({}, {("reason", "required"), ("note", "required")}),
        ({"reason": 7, "note": "x y"}, {("reason", "invalid_choice")}),
        ({"reason": ["other"], "note": "x y"}, {("reason", "invalid")}),
        (
            {"reason": "other", "rationale": "x y"},
            {("rationale", "unknown_field"), ("note", "required")},
        ),
    ],
)
def test_bad_api_input_is_a_400_naming_each_field(sdr, body, expected):
    _retired("too-small")
    lead = _lead(sdr)

    status, answer = _api_disqualify(sdr, lead, body)

    assert status == 400
    assert _problems(answer) == expected
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


def test_the_api_refuses_the_wrong_people(sdr, teammate):
    lead = _lead(sdr, team=sdr.team)
    body = {"reason": "other", "note": "Not yours."}

    read_only_status, read_only = _api_disqualify(teammate, lead, body)
    hidden_status, _hidden = _api_disqualify(UserFactory(ae=True), lead, body)

    assert read_only_status == 403 and read_only["errors"][0]["code"]
    assert hidden_status == 404
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


def test_a_stale_version_is_refused(sdr):
    lead = _lead(sdr)

    status, body = _api_disqualify(sdr, lead, {"reason": "other", "note": "Dup.", "version": 99})

    assert status == 412, body
    assert Lead.objects.get(pk=lead.pk).status == S.MQL


def test_the_schema_documents_the_reason_code_and_the_rationale(sdr):
    schema = _api(sdr).get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/leads/{id}/disqualify/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(request["properties"]) == {"reason", "note", "version"}
    assert set(request["required"]) == {"reason", "note"}
    assert "DisqualificationReason code" in request["properties"]["reason"]["description"]
    lead_schema = schema["components"]["schemas"]["Lead"]["properties"]
    assert {"disqualification_reason", "disqualification_note"} <= set(lead_schema)


def test_the_lead_list_reads_the_reasons_in_the_same_query(sdr):
    for code in ("other", "personal", "unreachable"):
        _lead(sdr, status=S.DISQUALIFIED, disqualification_reason=_reason(code))
    client = _api(sdr)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/leads/")
    for code in ("too-small", "competitor", "not-a-company", "outside-market"):
        _lead(sdr, status=S.DISQUALIFIED, disqualification_reason=_reason(code))

    with CaptureQueriesContext(connection) as more:
        body = client.get("/api/v1/leads/").json()

    assert len(more) == len(few)
    assert {row["disqualification_reason"] for row in body["results"]} >= {"other", "competitor"}
