"""GET /api/v1/opportunities/export/ and the deal list's Export CSV: the list's filters
and scope, every row, streamed, formula-safe, amounts with their currency."""

from __future__ import annotations

import csv
import datetime
import io
import types
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from opportunities.models import Opportunity
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/opportunities/export/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def names(rows: list[dict[str, str]]) -> list[str]:
    return [row["Name"] for row in rows]


@pytest.fixture
def world(db):
    team = TeamFactory(name="Enterprise")
    manager = UserFactory(manager=True, username="ent-manager", team=team)
    team.manager = manager
    team.save()
    ae = UserFactory(ae=True, username="ent-ae", team=team, manager=manager)
    other = UserFactory(ae=True, username="smb-ae")
    OpportunityFactory(name="Alpha deal", owner=ae, amount=Decimal("1200.50"), currency="USD")
    OpportunityFactory(name="Bravo deal", owner=ae, amount=Decimal("1600000"), currency="JPY")
    OpportunityFactory(name="Other deal", owner=other, amount=Decimal("900"), currency="USD")
    return types.SimpleNamespace(manager=manager, ae=ae, other=other)


def test_a_user_exports_only_the_deals_they_may_see(world, revops, sdr):
    assert sorted(names(read(client_for(revops).get(URL)))) == [
        "Alpha deal",
        "Bravo deal",
        "Other deal",
    ]
    assert sorted(names(read(client_for(world.ae).get(URL)))) == ["Alpha deal", "Bravo deal"]
    assert sorted(names(read(client_for(world.manager).get(URL)))) == ["Alpha deal", "Bravo deal"]
    assert names(read(client_for(world.other).get(URL))) == ["Other deal"]
    assert names(read(client_for(sdr).get(URL))) == []


def test_anonymous_is_refused_in_json():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_the_list_filters_and_ordering_apply(world, revops):
    client = client_for(revops)
    assert names(read(client.get(URL, {"currency": "JPY"}))) == ["Bravo deal"]
    assert names(read(client.get(URL, {"owner": world.other.pk}))) == ["Other deal"]
    assert names(read(client.get(URL, {"ordering": "name"}))) == [
        "Alpha deal",
        "Bravo deal",
        "Other deal",
    ]
    # amounts sort within their currency: JPY before USD, then by amount
    assert names(read(client.get(URL, {"ordering": "amount"}))) == [
        "Bravo deal",
        "Other deal",
        "Alpha deal",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "secret"}, "ordering"),
        ({"is_open": "maybe"}, "is_open"),
        ({"q": "Alpha"}, "q"),
    ],
)
def test_a_bad_filter_is_a_json_400_naming_it(world, revops, params, field):
    response = client_for(revops).get(URL, params, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_cells_amounts_and_instants(world):
    reader = UserFactory(revops=True, time_zone="America/New_York")
    at = datetime.datetime(2025, 7, 1, 12, 0, tzinfo=datetime.UTC)
    Opportunity.objects.filter(name="Alpha deal").update(
        created_at=at, name='=HYPERLINK("http://evil.example")', next_step="-1+1"
    )
    rows = {
        row["Currency"]: row for row in read(client_for(reader).get(URL, {"owner": world.ae.pk}))
    }
    usd, jpy = rows["USD"], rows["JPY"]
    assert usd["Name"] == '\'=HYPERLINK("http://evil.example")'
    assert usd["Next step"] == "'-1+1"
    assert usd["Amount"] == "1200.50"
    assert jpy["Amount"] == "1600000"
    assert usd["Created"] == "2025-07-01T08:00:00-04:00"
    assert usd["Owner"] == str(world.ae)
    assert usd["Stage"] == "Discovery"
    overrides = {row["Converted with a criterion unmet"] for row in rows.values()}
    assert overrides <= {"Yes", "No"} and overrides  # a reader's words, not Python's


def _export_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = read(client.get(URL))
    return len(rows), len(queries)


def test_the_export_streams_in_constant_queries(revops):
    client = client_for(revops)
    OpportunityFactory.create_batch(2)
    few, few_queries = _export_queries(client)
    OpportunityFactory.create_batch(60)
    many, many_queries = _export_queries(client)
    assert (few, many) == (2, 62)
    assert many_queries == few_queries


# --- the list's Export CSV -----------------------------------------------------------------------


def test_the_list_exports_what_it_shows(client, world):
    client.force_login(world.manager)
    page = client.get("/opportunities/", {"q": "deal", "ordering": "-name"})
    export_url = page.context["export_url"]
    assert export_url.startswith("/opportunities/export/?")
    assert names(read(client.get(export_url))) == ["Bravo deal", "Alpha deal"]
    assert names(read(client.get("/opportunities/export/", {"currency": "JPY"}))) == ["Bravo deal"]


def test_the_list_export_needs_a_signed_in_user(client):
    response = client.get("/opportunities/export/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_list_export_refuses_a_filter_it_cannot_read_rather_than_export_more(client, world):
    # given an export link whose stage is no stage (the list would show every deal)
    client.force_login(world.manager)
    response = client.get("/opportunities/export/?stage=zz", follow=True)
    # then the list with a message naming the field, no file
    assert response.redirect_chain[0] == ("/opportunities/?stage=zz", 302)
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and " Stage: " in shown[0]


def test_the_list_says_which_filter_it_left_out(client, world):
    client.force_login(world.manager)
    [shown] = [str(m) for m in client.get("/opportunities/?stage=zz").context["messages"]]
    assert shown.startswith("A filter could not be read and was left out: Stage: ")
