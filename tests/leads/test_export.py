"""GET /api/v1/leads/export/ and the queue's Export CSV: the list's filters and scope,
every row, streamed, formula-safe, in the reader's time zone."""

from __future__ import annotations

import csv
import datetime
import io
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, Source
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/export/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def companies(rows: list[dict[str, str]]) -> list[str]:
    return [row["Company"] for row in rows]


@pytest.fixture
def world(db):
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    manager = UserFactory(manager=True, username="north-manager", team=north)
    north.manager = manager
    north.save()
    mine = UserFactory(sdr=True, username="sdr-north", team=north, manager=manager)
    other = UserFactory(sdr=True, username="sdr-south", team=south)
    LeadFactory(company_name="Alpha", owner=mine, team=north, source=Source.REFERRAL)
    LeadFactory(company_name="Bravo", owner=mine, team=north, status=Lead.Status.SAL)
    LeadFactory(company_name="Zulu South", owner=other, team=south)
    return types.SimpleNamespace(manager=manager, mine=mine, other=other)


def test_a_user_exports_only_the_leads_they_may_see(world, revops):
    assert sorted(companies(read(client_for(revops).get(URL)))) == [
        "Alpha",
        "Bravo",
        "Zulu South",
    ]
    assert sorted(companies(read(client_for(world.mine).get(URL)))) == ["Alpha", "Bravo"]
    assert sorted(companies(read(client_for(world.manager).get(URL)))) == ["Alpha", "Bravo"]
    assert companies(read(client_for(world.other).get(URL))) == ["Zulu South"]
    assert companies(read(client_for(UserFactory(ae=True)).get(URL))) == []


def test_anonymous_is_refused_in_json():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_the_list_filters_and_ordering_apply(world, revops):
    client = client_for(revops)
    assert companies(read(client.get(URL, {"status": "sal"}))) == ["Bravo"]
    assert companies(read(client.get(URL, {"source": "referral"}))) == ["Alpha"]
    assert companies(read(client.get(URL, {"search": "zulu"}))) == ["Zulu South"]
    assert companies(read(client.get(URL, {"owner": world.other.pk}))) == ["Zulu South"]
    assert companies(read(client.get(URL, {"ordering": "company_name"}))) == [
        "Alpha",
        "Bravo",
        "Zulu South",
    ]
    assert companies(read(client.get(URL, {"ordering": "-company_name"}))) == [
        "Zulu South",
        "Bravo",
        "Alpha",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"ordering": "password"}, "ordering"), ({"status": "nope"}, "status"), ({"q": "Alpha"}, "q")],
)
def test_a_bad_filter_is_a_json_400_naming_it(world, revops, params, field):
    response = client_for(revops).get(URL, params, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_formula_injection_is_neutralized(revops):
    LeadFactory(
        company_name='=HYPERLINK("http://evil.example","Click")',
        first_name="@SUM(A1)",
        last_name="-2+3",
        phone="+62 812 0000",
        campaign="\t=cmd",
    )
    (row,) = read(client_for(revops).get(URL))
    assert row["Company"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["First name"] == "'@SUM(A1)"
    assert row["Last name"] == "'-2+3"
    assert row["Phone"] == "'+62 812 0000"
    assert row["Campaign"] == "'\t=cmd"


def test_names_labels_and_instants_in_the_readers_zone(world):
    reader = UserFactory(revops=True, time_zone="Asia/Jakarta")
    at = datetime.datetime(2025, 3, 4, 9, 15, tzinfo=datetime.UTC)
    Lead.objects.filter(company_name="Alpha").update(created_at=at, mql_at=at)
    rows = read(client_for(reader).get(URL, {"ordering": "company_name"}))
    alpha = rows[0]
    assert alpha["Owner"] == str(world.mine)
    assert alpha["Team"] == "North"
    assert alpha["Status"] == "MQL"
    assert alpha["Source"] == "Referral"
    assert alpha["Created"] == "2025-03-04T16:15:00+07:00"
    assert alpha["AE"] == ""


def test_the_export_accepts_text_csv(world, revops):
    response = client_for(revops).get(URL, HTTP_ACCEPT="text/csv")
    assert len(read(response)) == 3
    assert response["Content-Disposition"].startswith('attachment; filename="threshold-leads-')


def _export_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
        rows = read(response)
    return len(rows), len(queries)


def test_the_export_streams_in_constant_queries(revops):
    # given a few leads, then many more
    client = client_for(revops)
    LeadFactory.create_batch(3)
    few, few_queries = _export_queries(client)
    owner = UserFactory(sdr=True)
    now = timezone.now()
    Lead.objects.bulk_create(
        [
            Lead(
                company_name=f"Bulk {n}",
                last_name="Row",
                source=Source.INBOUND,
                owner=owner,
                status=Lead.Status.MQL,
                mql_at=now,
            )
            for n in range(2500)
        ]
    )
    # when both are exported
    response = client.get(URL)
    # then the answer is a stream, read as it is sent, and costs the same queries
    assert response.streaming
    assert not isinstance(response.streaming_content, list | bytes)
    many, many_queries = _export_queries(client)
    assert (few, many) == (3, 2503)
    assert many_queries == few_queries


# --- the queue's Export CSV ---------------------------------------------------------------------


def test_the_queue_exports_what_it_shows(client, world, revops):
    # given the queue's own filters (open leads by default, a search) and a sort
    Lead.objects.filter(company_name="Bravo").update(status=Lead.Status.DISQUALIFIED)
    client.force_login(world.manager)
    page = client.get("/leads/", {"q": "a", "ordering": "-company_name"})
    assert page.status_code == 200
    export_url = page.context["export_url"]
    assert export_url.startswith("/leads/export/?")
    # when the Export CSV link is followed
    rows = read(client.get(export_url))
    # then it holds the open leads the manager sees that match, in the page's order
    assert companies(rows) == ["Alpha"]
    client.force_login(revops)
    assert companies(read(client.get("/leads/export/", {"ordering": "-company_name"}))) == [
        "Zulu South",
        "Alpha",
    ]
    assert companies(
        read(client.get("/leads/export/", {"status": "all", "ordering": "company_name"}))
    ) == [
        "Alpha",
        "Bravo",
        "Zulu South",
    ]


def test_the_queue_export_needs_a_signed_in_user(client):
    response = client.get("/leads/export/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_queue_export_of_an_sdr_is_her_own(client, world):
    client.force_login(world.other)
    assert companies(read(client.get("/leads/export/"))) == ["Zulu South"]


@pytest.mark.parametrize(
    ("query", "label"), [("status=bogus", "Status"), ("due=zzz", None), ("owner=abc", None)]
)
def test_the_list_export_refuses_a_filter_it_cannot_read_rather_than_export_more(
    client, world, query, label
):
    # given a hand-edited or stale export link with a filter that does not parse
    client.force_login(world.manager)

    # when it is opened
    response = client.get(f"/leads/export/?{query}", follow=True)

    # then no file (which would have held every lead) but the list, with a message
    assert response.redirect_chain[0] == (f"/leads/?{query}", 302)
    assert response["Content-Type"].startswith("text/html")
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1
    if label:
        assert shown[0].startswith("Nothing was exported") and f" {label}: " in shown[0]


def test_an_empty_choice_is_no_filter_in_the_api(world, revops):
    rows = read(client_for(revops).get(URL, {"status": "", "source": ""}))
    assert sorted(companies(rows)) == ["Alpha", "Bravo", "Zulu South"]
    listed = client_for(revops).get("/api/v1/leads/", {"status": ""})
    assert listed.status_code == 200


def test_a_merged_away_lead_says_whose_record_it_is(world, revops, client):
    alpha = Lead.objects.get(company_name="Alpha")
    Lead.objects.filter(company_name="Bravo").update(
        merged_into=alpha, status=Lead.Status.DISQUALIFIED
    )
    rows = {row["Company"]: row for row in read(client_for(revops).get(URL))}
    assert rows["Bravo"]["Merged into"] == str(alpha.pk)
    assert rows["Alpha"]["Merged into"] == ""
    # the list says so beside its status, linking to the lead that holds the person
    client.force_login(revops)
    page = client.get("/leads/", {"status": "all", "q": "Bravo"}).content.decode()
    assert f'merged into <a href="/leads/{alpha.pk}/">#{alpha.pk}</a>' in page


def test_the_list_says_which_filter_it_left_out(client, world):
    client.force_login(world.manager)
    response = client.get("/leads/?status=bogus")
    assert response.status_code == 200
    [shown] = [str(m) for m in response.context["messages"]]
    assert shown.startswith("A filter could not be read and was left out: Status: ")
    # a good filter says nothing
    assert not list(client.get("/leads/?status=mql").context["messages"])
