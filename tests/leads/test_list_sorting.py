"""Sortable lead lists: `?ordering=` on the API (whitelisted, 400 naming `ordering`
otherwise) and on the queue (sortable headers with aria-sort), keyset pages kept for
every sort, forwards and back."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, Source
from leads.selectors import LEAD_SORTS
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def leads(db):
    """Leads with ties and empty owners, so every sort needs its tie-break."""
    ann = UserFactory(sdr=True, username="ann", first_name="Ann", last_name="Lee")
    bob = UserFactory(sdr=True, username="bob", first_name="Bob", last_name="Ng")
    base = timezone.now() - datetime.timedelta(days=10)
    rows = [
        ("Cobalt", ann, Source.REFERRAL, 40, Lead.Status.MQL),
        ("acme", bob, Source.INBOUND, 70, Lead.Status.SAL),
        ("Borealis", None, Source.INBOUND, 40, Lead.Status.MQL),
        ("Delta", ann, Source.EVENT, 90, Lead.Status.SQL),
        ("Acme", None, Source.REFERRAL, 70, Lead.Status.MQL),
        ("Echo", bob, Source.EVENT, 10, Lead.Status.NEW),
        ("Cobalt", bob, Source.INBOUND, 40, Lead.Status.MQL),
    ]
    made = []
    for index, (company, owner, source, score, status) in enumerate(rows):
        lead = LeadFactory(
            company_name=company, owner=owner, source=source, score=score, status=status
        )
        # two leads share each creation time: the id must break the tie
        Lead.objects.filter(pk=lead.pk).update(
            created_at=base + datetime.timedelta(hours=index // 2)
        )
        made.append(lead)
    return made


def _walk_api(client, token: str, size: int = 2) -> tuple[list[int], list[int], int]:
    """Every id forwards through `next`; then, from the last page, every id before it
    backwards through `previous`; and how many rows the last page held."""
    forward, url = [], f"/api/v1/leads/?ordering={token}&page_size={size}"
    pages = []
    while url:
        body = client.get(url).json()
        pages.append(body)
        forward += [row["id"] for row in body["results"]]
        url = body["next"]
    backward, url = [], pages[-1]["previous"]
    while url:
        body = client.get(url).json()
        backward = [row["id"] for row in body["results"]] + backward
        url = body["previous"]
    return forward, backward, len(pages[-1]["results"])


@pytest.mark.parametrize("token", LEAD_SORTS.tokens)
def test_the_api_pages_every_sort_forwards_and_back(leads, revops, token):
    client = client_for(revops)
    everything = client.get(f"/api/v1/leads/?ordering={token}&page_size=200").json()
    expected = [row["id"] for row in everything["results"]]
    assert sorted(expected) == sorted(lead.pk for lead in leads)
    forward, backward, last = _walk_api(client, token)
    assert forward == expected
    assert backward == expected[:-last]


def test_the_api_orders_by_the_named_column(leads, revops):
    client = client_for(revops)

    def column(token: str, name: str) -> list:
        body = client.get("/api/v1/leads/", {"ordering": token}).json()
        return [row[name] for row in body["results"]]

    assert column("-score", "score") == [90, 70, 70, 40, 40, 40, 10]
    assert column("status", "status") == sorted(column("status", "status"))
    owners = [(owner or {}).get("username") for owner in column("owner", "owner")]
    assert owners == ["ann", "ann", "bob", "bob", "bob", None, None]
    owners = [(owner or {}).get("username") for owner in column("-owner", "owner")]
    assert owners == ["bob", "bob", "bob", "ann", "ann", None, None]


def test_the_default_api_order_is_newest_first(leads, revops):
    body = client_for(revops).get("/api/v1/leads/").json()
    created = [row["created_at"] for row in body["results"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("value", ["password", "owner__password", "-", "score,company_name", "?"])
def test_an_unknown_ordering_is_a_400_naming_it(leads, revops, value):
    response = client_for(revops).get("/api/v1/leads/", {"ordering": value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ordering"


def test_a_cursor_from_another_sort_starts_from_the_top(leads, revops):
    client = client_for(revops)
    by_score = client.get("/api/v1/leads/?ordering=score&page_size=2").json()
    cursor = by_score["next"].split("cursor=")[1].split("&")[0]
    response = client.get(f"/api/v1/leads/?ordering=-score&page_size=2&cursor={cursor}")
    assert response.status_code == 200
    top = client.get("/api/v1/leads/?ordering=-score&page_size=2").json()["results"]
    assert response.json()["results"] == top


# --- the queue page ------------------------------------------------------------------------------


def _queue_walk(client, params: dict[str, str]) -> list[int]:
    ids, query = [], {**params}
    for _ in range(20):
        page = client.get("/leads/", query)
        assert page.status_code == 200
        ids += [lead.pk for lead in page.context["leads"]]
        next_url = page.context["next_url"]
        if not next_url:
            return ids
        query = dict(pair.split("=", 1) for pair in next_url.lstrip("?").split("&"))
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize(
    "token", ["company_name", "-score", "owner", "-owner", "next_due", "-created_at"]
)
def test_the_queue_pages_every_sort(leads, client, revops, monkeypatch, token):
    monkeypatch.setattr("leads.views.queue.QUEUE_PAGE_SIZE", 2)
    client.force_login(revops)
    sort = LEAD_SORTS.sort_for(token)
    expected = list(
        sort.apply(Lead.objects.filter(status__in=Lead.OPEN_STATUSES)).values_list("pk", flat=True)
    )
    assert _queue_walk(client, {"ordering": token}) == expected


def test_the_queue_headers_show_the_sort(leads, client, revops):
    client.force_login(revops)
    html = client.get("/leads/", {"ordering": "-score"}).content.decode()
    assert 'aria-sort="descending"' in html
    assert html.count("aria-sort=") == 1
    assert 'href="?ordering=score"' in html  # clicking again sorts ascending
    assert 'href="?ordering=company_name"' in html
    default = client.get("/leads/").content.decode()
    assert 'aria-sort="ascending"' in default  # next SLA due, the queue's usual order
    bad = client.get("/leads/", {"ordering": "password"})
    assert bad.status_code == 200  # a hand-edited URL shows the usual order
    assert bad.context["sort"].token == "next_due"


def test_the_filter_form_keeps_the_sort(leads, client, revops):
    client.force_login(revops)
    html = client.get("/leads/", {"ordering": "-score", "columns": "lead,score"}).content.decode()
    assert '<input type="hidden" name="ordering" value="-score">' in html
    assert '<input type="hidden" name="columns" value="lead,score">' in html


def test_the_queue_costs_the_same_queries_in_any_sort(leads, client, revops):
    client.force_login(revops)
    client.get("/leads/")  # warm the session and caches
    counts = set()
    for token in ("next_due", "owner", "-company_name"):
        with CaptureQueriesContext(connection) as queries:
            client.get("/leads/", {"ordering": token})
        counts.add(len(queries))
    assert len(counts) == 1
