"""The SLA clocks list: /sla/clocks/ for managers and RevOps and GET /api/v1/sla/timers/
for everyone (scoped), by state and policy, sortable, paged by keyset."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sla.lists import TIMER_SORTS
from sla.models import SlaPolicy, SlaTimer
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clocks(db):
    policy = SlaPolicy.objects.create(
        key="first-touch",
        name="First touch",
        start_event="assigned",
        stop_event="first_contact",
        target_value=4,
        target_unit="hours",
    )
    now = timezone.now()
    ann = UserFactory(sdr=True, username="ann", first_name="Ann", last_name="Lee")
    bob = UserFactory(sdr=True, username="bob", first_name="Bob", last_name="Ng")
    rows = [
        ("Cobalt", ann, -5, None),  # overdue
        ("Acme", bob, 2, None),  # running
        ("Borealis", None, 3, None),
        ("Delta", ann, -10, True),  # met
        ("Echo", bob, -20, False),  # missed
    ]
    timers = []
    for company, person, hours, met in rows:
        lead = LeadFactory(company_name=company, owner=person)
        due = now + datetime.timedelta(hours=hours)
        timers.append(
            SlaTimer.objects.create(
                policy=policy,
                lead=lead,
                responsible=person,
                started_at=due - datetime.timedelta(hours=4),
                warn_at=due - datetime.timedelta(hours=1),
                due_at=due,
                target_value=4,
                target_unit="hours",
                stopped_at=None
                if met is None
                else due + datetime.timedelta(minutes=1 if not met else -30),
                met=met,
            )
        )
    return {"ann": ann, "bob": bob, "timers": timers, "policy": policy}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def companies(body) -> list[str]:
    return [row["lead_company"] for row in body["results"]]


def test_the_api_lists_what_each_user_may_see(clocks, revops):
    assert sorted(companies(api(revops).get("/api/v1/sla/timers/").json())) == [
        "Acme",
        "Borealis",
        "Cobalt",
        "Delta",
        "Echo",
    ]
    assert companies(api(clocks["ann"]).get("/api/v1/sla/timers/?ordering=lead").json()) == [
        "Cobalt",
        "Delta",
    ]


def test_the_api_filters_by_state_and_sorts(clocks, revops):
    client = api(revops)
    assert companies(client.get("/api/v1/sla/timers/?state=overdue").json()) == ["Cobalt"]
    assert companies(client.get("/api/v1/sla/timers/?state=running&ordering=-due_at").json()) == [
        "Borealis",
        "Acme",
        "Cobalt",
    ]
    body = client.get("/api/v1/sla/timers/?state=stopped&ordering=lead").json()
    assert [(row["lead_company"], row["state"]) for row in body["results"]] == [
        ("Delta", "met"),
        ("Echo", "missed"),
    ]
    people = client.get("/api/v1/sla/timers/?ordering=responsible").json()["results"]
    assert [(row["responsible"] or {}).get("username") for row in people] == [
        "ann",
        "ann",
        "bob",
        "bob",
        None,
    ]


@pytest.mark.parametrize(
    "params", [{"ordering": "lead__owner"}, {"state": "late"}, {"policy": "x"}]
)
def test_the_api_refuses_a_bad_filter_naming_it(clocks, revops, params):
    response = api(revops).get("/api/v1/sla/timers/", params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == next(iter(params))


@pytest.mark.parametrize("token", TIMER_SORTS.tokens)
def test_the_api_pages_every_sort(clocks, revops, token):
    client = api(revops)
    everything = client.get(f"/api/v1/sla/timers/?ordering={token}&page_size=200").json()
    expected = [row["id"] for row in everything["results"]]
    seen, url = [], f"/api/v1/sla/timers/?ordering={token}&page_size=2"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == expected and len(seen) == 5


def test_the_page_is_for_managers_and_revops(clocks, client, revops):
    client.force_login(clocks["ann"])
    assert client.get("/sla/clocks/").status_code == 403
    client.force_login(revops)
    page = client.get("/sla/clocks/", {"ordering": "lead"})
    assert page.status_code == 200
    assert [t.lead.company_name for t in page.context["timers"]] == ["Acme", "Borealis", "Cobalt"]
    html = page.content.decode()
    assert 'aria-sort="ascending"' in html and 'href="?ordering=-lead"' in html
    stopped = client.get("/sla/clocks/", {"state": "all", "ordering": "-stopped_at"})
    # the last stopped first, running clocks (no stop yet) after them
    assert [t.lead.company_name for t in stopped.context["timers"]] == [
        "Delta",
        "Echo",
        "Borealis",
        "Acme",
        "Cobalt",
    ]


def test_the_page_pages_by_keyset(clocks, client, revops, monkeypatch):
    monkeypatch.setattr("sla.list_views.PAGE_SIZE", 2)
    client.force_login(revops)
    seen, query = [], {"state": "all", "ordering": "-due_at"}
    for _ in range(5):
        page = client.get("/sla/clocks/", query)
        seen += [t.pk for t in page.context["timers"]]
        if not page.context["next_url"]:
            break
        query = dict(p.split("=", 1) for p in page.context["next_url"].lstrip("?").split("&"))
    expected = list(SlaTimer.objects.order_by("-due_at", "-pk").values_list("pk", flat=True))
    assert seen == expected
