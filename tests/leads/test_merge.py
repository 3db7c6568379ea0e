"""Merging two leads of one person: a manager or RevOps picks the surviving values; all
the duplicate's rows move over; nothing is deleted; both leads record the merge."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.exceptions import NotAllowed, NotFound, StaleVersion, ValidationFailed
from leads import services
from leads.models import (
    Activity,
    Handoff,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
    RejectionReason,
)
from sla.models import SlaTimer
from tests.factories import (
    ActivityFactory,
    HandoffFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = Lead.Status
PERSON = {
    "company_name": "PT Nusantara Logistik",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "source": "inbound",
}


@pytest.fixture
def boss(db):
    return UserFactory(manager=True, username="mira")


@pytest.fixture
def rep(boss):
    team = TeamFactory(name="Jakarta Inbound", manager=boss)
    return UserFactory(sdr=True, username="dewi", team=team)


@pytest.fixture
def pair(rep):
    """Two leads of one person, both through intake (so their clocks run), both `rep`'s."""
    survivor = services.lead_create(
        by=rep, data={**PERSON, "email": "budi@nusantara.example"}, owner=rep
    )
    duplicate = services.lead_create(
        by=rep,
        data={
            **PERSON,
            "company_name": "Nusantara Logistik",
            "email": "budi.wijaya@gmail.com",
            "phone": "+62 31 555 0101",
            "job_title": "COO",
            "campaign": "webinar-q3",
        },
        owner=rep,
    )
    return survivor, duplicate


def _rows_of(lead: Lead) -> dict[str, int]:
    return {
        "activities": Activity.objects.filter(lead=lead).count(),
        "events": LeadEvent.objects.filter(lead=lead).count(),
        "transitions": LeadTransition.objects.filter(lead=lead).count(),
        "handoffs": Handoff.objects.filter(lead=lead).count(),
        "timers": SlaTimer.objects.filter(lead=lead).count(),
    }


def test_a_merge_moves_everything_and_deletes_nothing(pair, boss):
    # given: a duplicate with a history of its own
    survivor, duplicate = pair
    ActivityFactory.create_batch(2, lead=duplicate)
    ActivityFactory(lead=survivor)
    services.lead_intake(
        by=None,
        data={**PERSON, "email": "budi.wijaya@gmail.com", "source": "event"},
        via="web_form",
        form="webinar",
    )
    HandoffFactory(lead=duplicate)
    q = Qualification.objects.get(lead=duplicate)
    q.need_status, q.need_evidence, q.notes = "confirmed", "Leads wait two days.", "Met at expo"
    q.save()
    before = {"survivor": _rows_of(survivor), "duplicate": _rows_of(duplicate)}
    leads_before = Lead.objects.count()

    # when
    result = services.lead_merge(
        by=boss,
        survivor=survivor.pk,
        duplicate=duplicate.pk,
        values={"company_name": "duplicate"},
        reason="Same person: personal and work address.",
    )

    # then: every row of the duplicate is on the survivor, none lost
    after = {"survivor": _rows_of(survivor), "duplicate": _rows_of(duplicate)}
    assert Lead.objects.count() == leads_before
    for kind in ("activities", "handoffs", "timers"):
        assert after["survivor"][kind] == before["survivor"][kind] + before["duplicate"][kind]
        assert after["duplicate"][kind] == 0
    # History moved over; the duplicate keeps only its closing move and its merge record.
    assert after["survivor"]["transitions"] == (
        before["survivor"]["transitions"] + before["duplicate"]["transitions"]
    )
    assert after["duplicate"]["transitions"] == 1
    assert list(duplicate.events.values_list("kind", flat=True)) == [LeadEvent.Kind.MERGED]
    assert survivor.events.filter(kind=LeadEvent.Kind.TOUCH).count() == 1
    assert result.moved["activities"] == 2
    assert result.moved["handoffs"] == 1

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    # chosen, filled where blank, kept otherwise
    assert survivor.company_name == "Nusantara Logistik"
    assert survivor.phone == "+62 31 555 0101"
    assert survivor.job_title == "COO"
    assert survivor.email == "budi@nusantara.example"
    # the duplicate is kept, closed and points at the survivor
    assert duplicate.merged_into == survivor
    assert duplicate.status == S.DISQUALIFIED
    assert f"#{survivor.pk}" in duplicate.disqualification_note
    assert not SlaTimer.objects.running().filter(lead=duplicate).exists()
    # qualification answers the survivor lacked are taken over
    ours = Qualification.objects.get(lead=survivor)
    assert (ours.need_status, ours.need_evidence, ours.notes) == (
        "confirmed",
        "Leads wait two days.",
        "Met at expo",
    )
    # both record who, when, why and what
    merged = survivor.events.get(kind=LeadEvent.Kind.MERGED)
    assert merged.actor == boss
    assert merged.note == "Same person: personal and work address."
    assert merged.changes["company_name"] == ["PT Nusantara Logistik", "Nusantara Logistik"]
    assert merged.changes["merged_lead"] == [None, duplicate.pk]
    gone = duplicate.events.get(kind=LeadEvent.Kind.MERGED)
    assert gone.changes["merged_into"] == [None, survivor.pk]
    assert gone.changes["status"] == ["mql", "disqualified"]


def test_running_clocks_move_one_per_policy(pair, boss):
    survivor, duplicate = pair
    running_before = SlaTimer.objects.running().filter(lead=survivor).count()
    assert running_before and SlaTimer.objects.running().filter(lead=duplicate).count()
    total = SlaTimer.objects.filter(lead__in=[survivor, duplicate]).count()
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    # Both ran the same policies: the duplicate's are cancelled, then moved as history.
    assert SlaTimer.objects.running().filter(lead=survivor).count() == running_before
    assert SlaTimer.objects.filter(lead=survivor).count() == total


def test_a_merged_away_lead_is_read_only(pair, boss, rep):
    survivor, duplicate = pair
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    with pytest.raises(NotAllowed) as refused:
        services.lead_update(lead_id=duplicate.pk, by=rep, data={"job_title": "CEO"})
    assert f"merged into lead #{survivor.pk}" in str(refused.value.problems[0].message)
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    assert ("already_merged", "duplicate") in {(p.code, p.field) for p in caught.value.problems}


def test_a_step_on_a_stale_page_of_a_merged_away_lead_says_where_to_go(client, pair, boss, rep):
    # given: the SDR has the duplicate's page open while a manager merges it away
    survivor, duplicate = pair
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    client.force_login(rep)
    page = reverse("leads:detail", args=[duplicate.pk])
    # when they use a button of that page
    response = client.post(
        reverse("leads:accept", args=[duplicate.pk]), {"note": "Called"}, HTTP_REFERER=page
    )
    # then they are back on it, told where the person is now, not "your role cannot"
    assert (response.status_code, response["Location"]) == (302, page)
    shown = client.get(page).content.decode()
    assert f"This lead was merged into lead #{survivor.pk}: work on that one." in shown
    assert f'href="/leads/{survivor.pk}/"' in shown


def test_the_duplicate_s_own_note_names_where_it_went(pair, boss):
    survivor, duplicate = pair
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    duplicate.refresh_from_db()
    # not "Same person as lead #<itself>", the survivor's default note
    assert duplicate.disqualification_note == f"Merged into lead #{survivor.pk}."
    kept = LeadEvent.objects.get(lead=survivor, kind=LeadEvent.Kind.MERGED)
    assert kept.note == f"Same person as lead #{duplicate.pk}."


def test_a_rejected_duplicate_keeps_its_status_and_cannot_be_reopened(pair, boss, rep):
    survivor, duplicate = pair
    reason = RejectionReason.objects.filter(is_active=True).first()
    services.lead_reject(lead_id=duplicate.pk, by=rep, reason_code=reason.code, note="Dupe")
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (S.REJECTED, survivor)
    with pytest.raises(NotAllowed):
        services.lead_reopen(lead_id=duplicate.pk, by=boss, reason="Back")


@pytest.mark.parametrize("side", ["survivor", "duplicate"])
def test_converted_leads_are_refused_on_either_side(pair, boss, side):
    survivor, duplicate = pair
    target = survivor if side == "survivor" else duplicate
    Lead.objects.filter(pk=target.pk).update(status=S.CONVERTED, converted_at=timezone.now())
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    assert [(p.code, p.field) for p in caught.value.problems] == [("lead_converted", side)]
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).exists()


def test_a_disqualified_lead_does_not_absorb_a_live_one(pair, boss, rep):
    survivor, duplicate = pair
    Lead.objects.filter(pk=survivor.pk).update(status=S.DISQUALIFIED)
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    assert [(p.code, p.field) for p in caught.value.problems] == [("survivor_closed", "survivor")]
    # the other way round is the merge to make
    services.lead_merge(by=boss, survivor=duplicate.pk, duplicate=survivor.pk)


def test_a_nurtured_lead_does_not_absorb_a_live_one(pair, boss):
    survivor, duplicate = pair
    Lead.objects.filter(pk=survivor.pk).update(status=S.NURTURE)
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("survivor_closed", "survivor")
    assert f"keep lead #{duplicate.pk}" in problem.message


def test_the_lead_further_along_survives_with_its_hand_off(pair, boss):
    # given: the duplicate was qualified and handed off; the survivor is still an MQL
    survivor, duplicate = pair
    ae = UserFactory(ae=True)
    HandoffFactory(lead=duplicate, to_user=ae)
    Lead.objects.filter(pk=duplicate.pk).update(
        status=S.SQL, ae=ae, handed_off_at=timezone.now(), qualified_at=timezone.now()
    )
    Lead.objects.filter(pk=survivor.pk).update(status=S.MQL)

    # when it is merged into the MQL, the merge is refused, naming the lead to keep
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("survivor_behind", "survivor")
    assert f"Lead #{duplicate.pk} is further along (SQL)" in problem.message
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).exists()

    # the other way round keeps the stage, the AE and the hand-off
    services.lead_merge(by=boss, survivor=duplicate.pk, duplicate=survivor.pk)
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert (duplicate.status, duplicate.ae) == (S.SQL, ae)
    assert duplicate.handed_off_at is not None
    assert (survivor.status, survivor.merged_into) == (S.DISQUALIFIED, duplicate)


def test_an_unassigned_duplicate_joins_the_survivors_team(pair, boss):
    # given: the person's second lead came in unassigned (routing found nobody)
    survivor, _duplicate = pair
    stray = LeadFactory(email="budi.w@gmail.com", owner=None, team=None, status=S.MQL)
    assert Lead.objects.visible_to(boss).filter(pk=stray.pk).exists()  # open: in the queue
    # when RevOps merges it into the team's lead
    services.lead_merge(by=UserFactory(revops=True), survivor=survivor.pk, duplicate=stray.pk)
    # then, closed, it is still the team manager's to open from the survivor's history
    stray.refresh_from_db()
    assert survivor.team_id is not None
    assert (stray.status, stray.team_id) == (S.DISQUALIFIED, survivor.team_id)
    assert Lead.objects.visible_to(boss).filter(pk=stray.pk).exists()


def test_who_may_merge(pair, boss, rep):
    survivor, duplicate = pair
    with pytest.raises(NotAllowed):
        services.lead_merge(by=rep, survivor=survivor.pk, duplicate=duplicate.pk)
    ae = UserFactory(ae=True)
    with pytest.raises(NotFound):
        services.lead_merge(by=ae, survivor=survivor.pk, duplicate=duplicate.pk)
    other_manager = UserFactory(manager=True)
    with pytest.raises(NotFound):
        services.lead_merge(by=other_manager, survivor=survivor.pk, duplicate=duplicate.pk)
    # A manager of one lead only may not merge the other into it.
    stranger = LeadFactory(email="budi@elsewhere.example")
    with pytest.raises(NotFound):
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=stranger.pk)
    revops = UserFactory(revops=True)
    services.lead_merge(by=revops, survivor=survivor.pk, duplicate=duplicate.pk)


def test_bad_requests_name_the_field(pair, boss):
    survivor, duplicate = pair
    with pytest.raises(ValidationFailed) as caught:
        services.lead_merge(
            by=boss,
            survivor=survivor.pk,
            duplicate=survivor.pk,
            values={"status": "duplicate", "phone": "both"},
        )
    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("same_lead", "duplicate"),
        ("unknown_field", "values.status"),
        ("invalid_choice", "values.phone"),
    }


def test_a_stale_version_is_refused(pair, boss):
    survivor, duplicate = pair
    with pytest.raises(StaleVersion):
        services.lead_merge(
            by=boss,
            survivor=survivor.pk,
            duplicate=duplicate.pk,
            duplicate_version=duplicate.version - 1,
        )


def test_a_merge_costs_a_bounded_number_of_queries(pair, boss):
    survivor, duplicate = pair
    ActivityFactory.create_batch(5, lead=duplicate)
    with CaptureQueriesContext(connection) as queries:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    assert len(queries) <= 40, len(queries)


# --- API --------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(lead: Lead) -> str:
    return f"/api/v1/leads/{lead.pk}/merge/"


def test_api_merges_and_answers_both_leads(pair, boss):
    survivor, duplicate = pair
    response = _api(boss).post(
        _url(survivor),
        {"duplicate": duplicate.pk, "values": {"phone": "duplicate"}, "reason": "Same COO"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["survivor"]["phone"] == "+62 31 555 0101"
    assert body["duplicate"]["merged_into"] == survivor.pk
    assert body["duplicate"]["status"] == "disqualified"
    assert body["moved"]["transitions"] == 1  # NEW -> MQL
    assert response.headers["ETag"] == f'"{body["survivor"]["version"]}"'


def test_api_errors_name_fields(pair, boss):
    survivor, duplicate = pair
    response = _api(boss).post(
        _url(survivor),
        {"duplicate": "x", "values": {"status": "duplicate"}, "colour": "red"},
        format="json",
    )
    assert response.status_code == 400
    fields = {(e["code"], e["field"]) for e in response.json()["errors"]}
    assert ("unknown_field", "colour") in fields
    assert ("invalid", "duplicate") in fields
    assert ("unknown_field", "values.status") in fields

    response = _api(boss).post(_url(survivor), {}, format="json")
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("required", "duplicate")
    ]


def test_api_roles_and_visibility(pair, boss, rep):
    survivor, duplicate = pair
    body = {"duplicate": duplicate.pk}
    assert _api(rep).post(_url(survivor), body, format="json").status_code == 403
    assert (
        _api(UserFactory(manager=True)).post(_url(survivor), body, format="json").status_code == 404
    )
    missing = _api(boss).post("/api/v1/leads/999999/merge/", body, format="json")
    assert missing.status_code == 404
    hidden = _api(boss).post(_url(survivor), {"duplicate": 999999}, format="json")
    assert hidden.status_code == 404


def test_api_refuses_a_converted_duplicate(pair, boss):
    survivor, duplicate = pair
    Lead.objects.filter(pk=duplicate.pk).update(status=S.CONVERTED, converted_at=timezone.now())
    response = _api(boss).post(_url(survivor), {"duplicate": duplicate.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "lead_converted"
    assert response.json()["errors"][0]["field"] == "duplicate"


def test_api_intake_answers_created_then_deduplicated(rep, boss):
    data = {**PERSON, "email": "budi@nusantara.example"}
    created = _api(rep).post("/api/v1/leads/", data, format="json")
    assert created.status_code == 201
    assert created.json()["outcome"] == "created"
    again = _api(rep).post(
        "/api/v1/leads/", {**data, "email": "BUDI@nusantara.example "}, format="json"
    )
    assert again.status_code == 200
    assert again.json()["outcome"] == "deduplicated"
    assert again.json()["id"] == created.json()["id"]
    assert again.json()["lead"]["id"] == created.json()["id"]
    # Another rep learns the person is taken, without reading the lead.
    other = UserFactory(sdr=True)
    hidden = _api(other).post("/api/v1/leads/", data, format="json")
    assert hidden.status_code == 200
    assert hidden.json() == {"outcome": "deduplicated", "id": created.json()["id"], "lead": None}


# --- the browser --------------------------------------------------------------------------


def test_the_merge_button_follows_the_rule(client, pair, boss, rep):
    survivor, _duplicate = pair
    client.force_login(rep)
    page = client.get(reverse("leads:detail", args=[survivor.pk])).content
    assert b'data-testid="merge"' not in page
    assert client.get(reverse("leads:merge_pick", args=[survivor.pk])).status_code == 403
    client.force_login(boss)
    page = client.get(reverse("leads:detail", args=[survivor.pk])).content
    assert b'data-testid="merge"' in page


def test_merging_in_the_browser(client, pair, boss):
    survivor, duplicate = pair
    client.force_login(boss)
    # step 1: the duplicate is suggested
    pick = client.get(reverse("leads:merge_pick", args=[survivor.pk]))
    assert reverse("leads:merge", args=[survivor.pk, duplicate.pk]).encode() in pick.content
    found = client.get(reverse("leads:merge_pick", args=[survivor.pk]), {"q": f"#{duplicate.pk}"})
    assert reverse("leads:merge", args=[survivor.pk, duplicate.pk]).encode() in found.content
    # step 2: side by side, only the differing fields to choose
    url = reverse("leads:merge", args=[survivor.pk, duplicate.pk])
    chooser = client.get(url).content.decode()
    assert 'name="choice_company_name"' in chooser
    assert 'name="choice_last_name"' not in chooser  # the same on both
    # confirm
    response = client.post(
        url,
        {
            "choice_company_name": "duplicate",
            "choice_email": "survivor",
            "choice_phone": "duplicate",
            "choice_job_title": "duplicate",
            "choice_campaign": "survivor",
            "reason": "Same COO, two addresses",
            "survivor_version": survivor.version,
            "duplicate_version": duplicate.version,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[survivor.pk])
    page = response.content.decode()
    assert f"Lead #{duplicate.pk} merged into this lead" in page
    assert 'data-testid="merge-note"' in page
    survivor.refresh_from_db()
    assert (survivor.company_name, survivor.campaign) == ("Nusantara Logistik", "")
    gone = client.get(reverse("leads:detail", args=[duplicate.pk])).content.decode()
    assert 'data-testid="merged-into"' in gone


def test_a_stale_merge_page_is_refused(client, pair, boss):
    survivor, duplicate = pair
    client.force_login(boss)
    url = reverse("leads:merge", args=[survivor.pk, duplicate.pk])
    response = client.post(
        url, {"survivor_version": survivor.version - 1, "duplicate_version": duplicate.version}
    )
    assert response.status_code in (302, 409)
    assert not Lead.objects.filter(merged_into__isnull=False).exists()
