"""After a merge: the person is held by the survivor at every entry point (intake, the
webhook, web forms, imports, the browser's warning); the survivor's history says which
entries came from the merged lead and counts them as the message does; the merge page
refuses a pair it cannot merge up front, naming the lead; an import's closed rows are
not routed."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from capture.services.forms import web_form_create
from capture.services.keys import intake_key_create
from crm.exceptions import NotAllowed, NotFound
from leads import services
from leads.duplicates import find_duplicates
from leads.models import Lead, LeadEvent, RoutingFallback
from leads.services.bulk_intake import Assignment, leads_bulk_intake
from leads.services.bulk_rows import BulkRow
from leads.services.merge import moved_summary
from sla.models import SlaTimer
from tests.factories import HandoffFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Lead.Status
PERSON = {
    "company_name": "PT Nusantara Logistik",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "source": "inbound",
}
SURVIVOR_EMAIL = "budi@nusantara.example"
MERGED_EMAIL = "budi.wijaya@gmail.com"


@pytest.fixture(autouse=True)
def own_cache(settings) -> None:
    # The public form and the webhook count requests in the cache: one per test.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"merge-followups-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def boss(db):
    return UserFactory(manager=True, username="mira")


@pytest.fixture
def rep(boss):
    team = TeamFactory(name="Jakarta Inbound", manager=boss)
    return UserFactory(sdr=True, username="dewi", team=team)


@pytest.fixture
def merged(rep, boss) -> tuple[Lead, Lead]:
    """Lead B (the merged e-mail, via the webhook) merged into lead A (another e-mail)."""
    survivor = services.lead_create(by=rep, data={**PERSON, "email": SURVIVOR_EMAIL}, owner=rep)
    duplicate = services.lead_create(
        by=None, data={**PERSON, "email": MERGED_EMAIL}, owner=rep, via="webhook"
    )
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    return survivor, duplicate


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- 1. one person, one open lead, after a merge ------------------------------------------


@pytest.mark.parametrize("via", ["form", "api", "import", "web_form", "webhook"])
def test_the_merged_e_mail_is_a_touch_on_the_open_survivor(merged, via):
    survivor, _duplicate = merged
    leads_before = Lead.objects.count()

    result = services.lead_intake(by=None, data={**PERSON, "email": MERGED_EMAIL}, via=via)

    assert (result.outcome, result.lead.pk, result.previous) == ("deduplicated", survivor.pk, None)
    assert Lead.objects.count() == leads_before
    assert survivor.events.filter(kind=LeadEvent.Kind.TOUCH).count() == 1


def test_the_webhook_answers_deduplicated_with_the_survivor(merged, revops):
    survivor, _duplicate = merged
    secret = intake_key_create(by=revops, name="HubSpot workflow").secret
    client = APIClient()
    client.credentials(HTTP_X_INTAKE_KEY=secret)

    response = client.post("/api/v1/intake/", {**PERSON, "email": MERGED_EMAIL}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["results"][0] == {
        "index": 0,
        "outcome": "deduplicated",
        "lead": survivor.pk,
    }


def test_the_public_web_form_is_a_touch_on_the_survivor(client, merged, revops):
    survivor, _duplicate = merged
    form = web_form_create(
        by=revops,
        data={
            "name": "Demo request",
            "fields": ["first_name", "last_name", "email", "company_name"],
            "source": "inbound",
        },
    )
    leads_before = Lead.objects.count()

    response = client.post(f"/f/{form.key}/", {**PERSON, "email": MERGED_EMAIL})

    assert response.status_code == 200
    assert Lead.objects.count() == leads_before
    assert form.submissions.get().lead_id == survivor.pk


def test_the_browser_form_warns_of_the_survivor_and_records_the_touch_on_it(client, merged, rep):
    survivor, duplicate = merged
    client.force_login(rep)
    data = {**PERSON, "email": MERGED_EMAIL, "score": "0"}

    warned = client.post(reverse("leads:new"), data)

    assert b'data-testid="duplicate-warning"' in warned.content
    assert reverse("leads:detail", args=[survivor.pk]).encode() in warned.content
    assert reverse("leads:detail", args=[duplicate.pk]).encode() not in warned.content
    confirmed = client.post(reverse("leads:new"), {**data, "confirm_duplicate": "1"})
    assert confirmed.status_code == 302
    assert confirmed.url == reverse("leads:detail", args=[survivor.pk])
    assert not Lead.objects.filter(previous_lead=survivor).exists()


def test_find_duplicates_shows_the_survivor_within_the_scope(merged, rep):
    survivor, _duplicate = merged
    data = {"email": MERGED_EMAIL}  # the e-mail alone: only the merged lead had it
    assert find_duplicates(data) == [survivor]
    assert find_duplicates(data, rows=Lead.objects.visible_to(rep)) == [survivor]
    assert find_duplicates(data, exclude=survivor.pk) == []
    stranger = UserFactory(sdr=True)
    assert find_duplicates(data, rows=Lead.objects.visible_to(stranger)) == []


def test_an_import_row_updates_the_survivor(merged, revops):
    survivor, _duplicate = merged
    row = BulkRow(data={**PERSON, "email": MERGED_EMAIL, "job_title": "COO"})

    result = leads_bulk_intake(rows=[row], by=revops, on_duplicate="fill")

    assert [(o.outcome, o.lead_id) for o in result.outcomes] == [("updated", survivor.pk)]
    survivor.refresh_from_db()
    assert survivor.job_title == "COO"
    assert not Lead.objects.filter(previous_lead=survivor).exists()


def test_an_import_finds_every_survivor_in_a_fixed_number_of_queries(rep, boss, revops):
    def merged_people(n: int, start: int) -> list[BulkRow]:
        rows = []
        for i in range(start, start + n):
            kept = LeadFactory(owner=rep, team=rep.team, email=f"kept{i}@acme.example")
            gone = LeadFactory(owner=rep, team=rep.team, email=f"gone{i}@acme.example")
            Lead.objects.filter(pk=gone.pk).update(merged_into=kept, status=S.DISQUALIFIED)
            rows.append(BulkRow(data={**PERSON, "email": f"gone{i}@acme.example"}))
        return rows

    def queries_for(rows: list[BulkRow]) -> int:
        with CaptureQueriesContext(connection) as queries:
            result = leads_bulk_intake(rows=rows, by=revops)
        assert {o.outcome for o in result.outcomes} == {"skipped"}
        return len(queries)

    assert queries_for(merged_people(2, 0)) == queries_for(merged_people(12, 100))


def test_a_chain_of_merges_is_followed_to_its_end(merged, boss, rep):
    survivor, _duplicate = merged
    final = services.lead_create(by=rep, data={**PERSON, "email": "b@third.example"}, owner=rep)
    services.lead_merge(by=boss, survivor=final.pk, duplicate=survivor.pk)

    result = services.lead_intake(by=None, data={**PERSON, "email": MERGED_EMAIL}, via="api")
    row = leads_bulk_intake(rows=[BulkRow(data={**PERSON, "email": MERGED_EMAIL})], by=None)

    assert (result.outcome, result.lead.pk) == ("deduplicated", final.pk)
    assert row.outcomes[0].lead_id == final.pk
    assert find_duplicates({**PERSON, "email": MERGED_EMAIL}) == [final]


def test_a_closed_survivor_makes_way_for_a_new_lead_linked_to_it(merged, revops):
    survivor, _duplicate = merged
    Lead.objects.filter(pk=survivor.pk).update(status=S.CONVERTED, converted_at=timezone.now())

    result = services.lead_intake(by=None, data={**PERSON, "email": MERGED_EMAIL}, via="webhook")

    assert result.outcome == "created"
    assert (result.previous, result.lead.previous_lead) == (survivor, survivor)
    assert result.lead.is_open
    imported = leads_bulk_intake(
        rows=[BulkRow(data={**PERSON, "email": MERGED_EMAIL, "company_name": "X"})], by=revops
    )
    # Now the new open lead holds the person.
    assert imported.outcomes[0].lead_id == result.lead.pk


def test_an_import_of_a_closed_survivor_s_person_links_the_new_lead(merged, revops):
    survivor, _duplicate = merged
    Lead.objects.filter(pk=survivor.pk).update(status=S.CONVERTED, converted_at=timezone.now())

    result = leads_bulk_intake(rows=[BulkRow(data={**PERSON, "email": MERGED_EMAIL})], by=revops)

    assert result.outcomes[0].outcome == "created"
    assert Lead.objects.get(pk=result.outcomes[0].lead_id).previous_lead == survivor


# --- 2. the survivor's history -----------------------------------------------------------


def test_the_survivor_s_history_marks_what_came_from_the_merged_lead(client, rep, boss):
    survivor = services.lead_create(by=rep, data={**PERSON, "email": SURVIVOR_EMAIL}, owner=rep)
    duplicate = services.lead_create(
        by=None, data={**PERSON, "email": MERGED_EMAIL}, owner=rep, via="webhook"
    )
    HandoffFactory(lead=duplicate)
    own = set(survivor.events.values_list("pk", flat=True))
    theirs = set(duplicate.events.values_list("pk", flat=True))

    result = services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)

    event = survivor.events.get(kind=LeadEvent.Kind.MERGED)
    assert set(event.changes["moved_rows"][1]["events"]) == theirs
    assert len(event.changes["moved_rows"][1]["transitions"]) == result.moved["transitions"]
    client.force_login(boss)
    page = client.get(reverse("leads:detail", args=[survivor.pk])).content.decode()
    marked = page.count('data-testid="merged-from"')
    assert marked == len(theirs) + result.moved["transitions"]
    assert f"from lead #{duplicate.pk}" in page
    # The survivor's own entries and the merge itself are not marked.
    assert page.count('data-testid="history-entry"') == len(own) + 2 + marked


def test_a_row_moved_twice_names_the_lead_it_began_on(client, merged, rep, boss):
    survivor, duplicate = merged
    final = services.lead_create(by=rep, data={**PERSON, "email": "b@third.example"}, owner=rep)
    services.lead_merge(by=boss, survivor=final.pk, duplicate=survivor.pk)
    client.force_login(boss)

    page = client.get(reverse("leads:detail", args=[final.pk])).content.decode()

    assert f"from lead #{duplicate.pk}" in page
    assert f"from lead #{survivor.pk}" in page


def test_the_message_and_the_history_count_alike_in_proper_plurals(client, pair_for_browser):
    survivor, duplicate, boss = pair_for_browser
    HandoffFactory(lead=duplicate)
    client.force_login(boss)
    url = reverse("leads:merge", args=[survivor.pk, duplicate.pk])
    chooser = client.get(url).content.decode()
    # the duplicate has CREATED and ASSIGNED events and its NEW -> MQL move
    expected = "3 history entries (1 status move), 1 hand-off"
    assert expected in " ".join(chooser.split())

    response = client.post(
        url,
        {"survivor_version": survivor.version, "duplicate_version": duplicate.version},
        follow=True,
    )

    page = " ".join(response.content.decode().split())
    assert f"Lead #{duplicate.pk} merged into this lead: {expected} moved over." in page
    assert f"Moved over: {expected}." in page
    assert "1 status moves" not in page and "1 hand-offs" not in page


@pytest.mark.parametrize(
    ("moved", "words"),
    [
        (
            {"activities": 1, "events": 1, "transitions": 0, "handoffs": 0},
            "1 activity, 1 history entry",
        ),
        (
            {"activities": 2, "events": 2, "transitions": 1, "handoffs": 2, "criteria": 1},
            "2 activities, 3 history entries (1 status move), 2 hand-offs, 1 qualification answer",
        ),
        (
            {"events": 3, "transitions": 2, "touches": 1},
            "5 history entries (2 status moves, 1 touch)",
        ),
        ({"activities": 0, "events": 0}, ""),
    ],
)
def test_moved_summary_words(moved, words):
    assert moved_summary(moved) == words


# --- 3. and 4. the merge page and the API say why not, naming the lead ---------------------


@pytest.fixture
def pair_for_browser(rep, boss) -> tuple[Lead, Lead, object]:
    survivor = services.lead_create(by=rep, data={**PERSON, "email": SURVIVOR_EMAIL}, owner=rep)
    duplicate = services.lead_create(by=rep, data={**PERSON, "email": MERGED_EMAIL}, owner=rep)
    return survivor, duplicate, boss


@pytest.mark.parametrize("side", ["survivor", "duplicate"])
def test_the_merge_page_says_up_front_that_a_converted_lead_cannot_be_merged(
    client, pair_for_browser, side
):
    survivor, duplicate, boss = pair_for_browser
    target = survivor if side == "survivor" else duplicate
    Lead.objects.filter(pk=target.pk).update(status=S.CONVERTED, converted_at=timezone.now())
    client.force_login(boss)
    url = reverse("leads:merge", args=[survivor.pk, duplicate.pk])

    page = client.get(url)

    content = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="merge-refused"' in content
    assert f"Lead #{target.pk} is converted" in content
    assert 'data-testid="merge-form"' not in content
    assert 'data-testid="confirm-merge"' not in content
    posted = client.post(
        url, {"survivor_version": survivor.version, "duplicate_version": duplicate.version}
    )
    assert posted.status_code == 400
    assert not Lead.objects.filter(merged_into__isnull=False).exists()


def test_the_merge_pick_page_does_not_suggest_a_converted_lead(client, pair_for_browser):
    survivor, duplicate, boss = pair_for_browser
    Lead.objects.filter(pk=duplicate.pk).update(status=S.CONVERTED, converted_at=timezone.now())
    client.force_login(boss)
    page = client.get(reverse("leads:merge_pick", args=[survivor.pk])).content
    assert reverse("leads:merge", args=[survivor.pk, duplicate.pk]).encode() not in page


def test_a_duplicate_in_another_team_is_no_such_lead_naming_the_field(pair_for_browser):
    survivor, _duplicate, boss = pair_for_browser
    elsewhere = LeadFactory(email="budi@elsewhere.example", team=TeamFactory(name="Surabaya"))

    with pytest.raises(NotFound) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=elsewhere.pk)

    assert [(p.code, p.field) for p in caught.value.problems] == [("not_found", "duplicate")]
    response = _api(boss).post(
        f"/api/v1/leads/{survivor.pk}/merge/", {"duplicate": elsewhere.pk}, format="json"
    )
    assert response.status_code == 404
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("not_found", "duplicate")
    ]
    assert str(elsewhere.company_name) not in response.content.decode()


def test_a_visible_duplicate_one_may_not_merge_is_refused_naming_the_field(pair_for_browser):
    survivor, _duplicate, boss = pair_for_browser
    # The manager sits in a team whose members see its leads, but does not manage it.
    open_team = TeamFactory(name="Bandung Outbound", sdrs_see_team_leads=True)
    boss.team = open_team
    boss.save(update_fields=["team"])
    seen = LeadFactory(email="budi@bandung.example", team=open_team)

    with pytest.raises(NotAllowed) as caught:
        services.lead_merge(by=boss, survivor=survivor.pk, duplicate=seen.pk)

    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("permission_denied", "duplicate")
    ]
    response = _api(boss).post(
        f"/api/v1/leads/{survivor.pk}/merge/", {"duplicate": seen.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "duplicate"


def test_the_browser_says_on_the_page_that_the_duplicate_is_no_such_lead(client, pair_for_browser):
    survivor, _duplicate, boss = pair_for_browser
    elsewhere = LeadFactory(email="budi@elsewhere.example", company_name="Hidden Co")
    client.force_login(boss)

    page = client.get(reverse("leads:merge", args=[survivor.pk, elsewhere.pk]))

    content = page.content.decode()
    assert page.status_code == 404
    assert 'data-testid="merge-refused"' in content
    assert "No such lead." in content
    assert f"Lead #{elsewhere.pk} cannot be merged into this one." in content
    assert "Hidden Co" not in content
    assert 'data-testid="merge-form"' not in content


# --- 5. an import's closed rows are not routed -------------------------------------------


@pytest.fixture
def sdrs(db):
    RoutingFallback.objects.update(last_assigned=None)
    return [UserFactory(sdr=True) for _ in range(2)]


@pytest.mark.parametrize("status", [S.DISQUALIFIED, S.NURTURE])
def test_a_closed_imported_lead_is_not_routed_and_takes_no_turn(sdrs, revops, status):
    rows = [
        BulkRow(data={**PERSON, "email": "closed@acme.example"}, status=status),
        BulkRow(data={**PERSON, "email": "open@acme.example"}),
    ]

    result = leads_bulk_intake(rows=rows, by=revops)

    closed, routed = (Lead.objects.get(pk=o.lead_id) for o in result.outcomes)
    assert (closed.status, closed.owner, closed.assigned_at) == (status, None, None)
    assert not closed.events.filter(kind=LeadEvent.Kind.ASSIGNED).exists()
    assert not SlaTimer.objects.filter(lead=closed).exists()
    assert closed not in Lead.objects.unassigned()
    # The open row takes the first turn, as if the closed one were not in the file.
    assert routed.owner == sdrs[0]
    assert RoutingFallback.objects.get().last_assigned_id == sdrs[0].pk
    assert dict(result.owners) == {sdrs[0].pk: 1}


def test_a_closed_imported_lead_keeps_an_owner_the_file_or_the_import_names(sdrs, revops):
    named, default = sdrs
    rows = [
        BulkRow(data={**PERSON, "email": "a@acme.example"}, status=S.DISQUALIFIED, owner=named),
        BulkRow(data={**PERSON, "email": "b@acme.example"}, status=S.DISQUALIFIED),
    ]

    result = leads_bulk_intake(rows=rows, by=revops, assignment=Assignment(owner=default))

    owners = [Lead.objects.get(pk=o.lead_id).owner for o in result.outcomes]
    assert owners == [named, default]
    assert RoutingFallback.objects.get().last_assigned_id is None


def test_the_merge_page_refuses_a_lead_merged_into_itself_up_front(client, pair_for_browser):
    survivor, _duplicate, boss = pair_for_browser
    client.force_login(boss)
    page = client.get(reverse("leads:merge", args=[survivor.pk, survivor.pk]))
    content = page.content.decode()
    assert 'data-testid="merge-refused"' in content
    assert "a lead is not its own duplicate" in content
    assert 'data-testid="confirm-merge"' not in content


def test_a_manager_merging_an_unassigned_lead_gets_both_leads_back_not_a_500(rep, boss):
    # given an open unassigned lead (a manager sees it only while it is open)
    survivor = services.lead_create(by=rep, data={**PERSON, "email": SURVIVOR_EMAIL}, owner=rep)
    stray = LeadFactory(owner=None, email=MERGED_EMAIL, **PERSON)

    # when the manager merges it into their team's lead through the API
    response = _api(boss).post(
        f"/api/v1/leads/{survivor.pk}/merge/", {"duplicate": stray.pk}, format="json"
    )

    # then the answer carries both, the duplicate closed as the merge left it
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"]["id"] == stray.pk
    assert response.json()["survivor"]["id"] == survivor.pk
    assert Lead.objects.get(pk=stray.pk).merged_into_id == survivor.pk


def test_the_fields_alike_on_both_show_their_labels(client, pair_for_browser):
    survivor, duplicate, boss = pair_for_browser  # both came in as source "inbound"
    client.force_login(boss)
    page = client.get(reverse("leads:merge", args=[survivor.pk, duplicate.pk]))
    alike = {row["label"]: row["value"] for row in page.context["alike"]}
    assert str(alike["Source"]) == "Inbound"


def test_a_touch_is_counted_alike_before_and_after_the_merge(client, pair_for_browser):
    # given a duplicate the person came in again on (a touch on its history)
    survivor, duplicate, boss = pair_for_browser
    services.lead_intake(by=None, data={**PERSON, "email": MERGED_EMAIL}, via="webhook")
    client.force_login(boss)
    url = reverse("leads:merge", args=[survivor.pk, duplicate.pk])
    chooser = " ".join(client.get(url).content.decode().split())
    expected = "4 history entries (1 status move, 1 touch)"
    assert expected in chooser

    # when it is merged, the message and the history say the same
    response = client.post(
        url,
        {"survivor_version": survivor.version, "duplicate_version": duplicate.version},
        follow=True,
    )
    page = " ".join(response.content.decode().split())
    assert f"Lead #{duplicate.pk} merged into this lead: {expected} moved over." in page
    assert f"Moved over: {expected}." in page
