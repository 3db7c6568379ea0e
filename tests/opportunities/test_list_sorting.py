"""Sortable deal lists: `?ordering=` on the API and the list page, keyset pages kept for
every sort; amounts sort within their currency."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from opportunities.models import Opportunity
from opportunities.selectors import OPPORTUNITY_SORTS
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def deals(db):
    ann = UserFactory(ae=True, username="ann", first_name="Ann", last_name="Lee")
    bob = UserFactory(ae=True, username="bob", first_name="Bob", last_name="Ng")
    today = timezone.localdate()
    rows = [
        ("Cobalt", ann, "50000", "USD", 10, 30),
        ("Acme", bob, "50000", "USD", 10, 60),
        ("Borealis", ann, "900000", "JPY", 40, 30),
        ("Delta", bob, "1200", "EUR", 40, 90),
        ("Echo", ann, "50000", "USD", 70, 60),
    ]
    made = []
    base = timezone.now() - datetime.timedelta(days=5)
    for index, (name, owner, amount, currency, probability, days) in enumerate(rows):
        deal = OpportunityFactory(
            name=name,
            owner=owner,
            amount=Decimal(amount),
            currency=currency,
            probability=probability,
            expected_close_date=today + datetime.timedelta(days=days),
        )
        Opportunity.objects.filter(pk=deal.pk).update(
            created_at=base + datetime.timedelta(hours=index // 2)
        )
        made.append(deal)
    return made


def _walk(client, token: str) -> tuple[list[int], list[int], int]:
    forward, url, pages = [], f"/api/v1/opportunities/?ordering={token}&page_size=2", []
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


@pytest.mark.parametrize("token", OPPORTUNITY_SORTS.tokens)
def test_the_api_pages_every_sort_forwards_and_back(deals, revops, token):
    client = client_for(revops)
    body = client.get(f"/api/v1/opportunities/?ordering={token}&page_size=200").json()
    expected = [row["id"] for row in body["results"]]
    assert sorted(expected) == sorted(deal.pk for deal in deals)
    forward, backward, last = _walk(client, token)
    assert forward == expected
    assert backward == expected[:-last]


def test_amounts_sort_within_their_currency(deals, revops):
    body = client_for(revops).get("/api/v1/opportunities/?ordering=amount").json()
    pairs = [(row["currency"], row["amount"]) for row in body["results"]]
    assert [currency for currency, _amount in pairs] == ["EUR", "JPY", "USD", "USD", "USD"]


def test_an_unknown_ordering_is_a_400_naming_it(deals, revops):
    response = client_for(revops).get("/api/v1/opportunities/", {"ordering": "lost_reason"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ordering"


@pytest.mark.parametrize("token", ["name", "-amount", "stage", "owner", "-expected_close_date"])
def test_the_list_page_pages_every_sort(deals, client, revops, monkeypatch, token):
    monkeypatch.setattr("opportunities.views.deals.PAGE_SIZE", 2)
    client.force_login(revops)
    sort = OPPORTUNITY_SORTS.sort_for(token)
    expected = list(sort.apply(Opportunity.objects.all()).values_list("pk", flat=True))
    ids, query = [], {"ordering": token, "state": "all"}
    for _ in range(10):
        page = client.get("/opportunities/", query)
        ids += [deal.pk for deal in page.context["opportunities"]]
        if not page.context["next_url"]:
            break
        query = dict(p.split("=", 1) for p in page.context["next_url"].lstrip("?").split("&"))
    assert ids == expected


def test_the_list_headers_show_the_sort(deals, client, revops):
    client.force_login(revops)
    html = client.get("/opportunities/", {"ordering": "probability"}).content.decode()
    assert html.count("aria-sort=") == 1 and 'aria-sort="ascending"' in html
    assert 'href="?ordering=-probability"' in html
    assert (
        client.get("/opportunities/", {"ordering": "nope"}).context["sort"].token == "-created_at"
    )
