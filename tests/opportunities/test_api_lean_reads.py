"""The opportunity list and detail are built lean (`crm.api.lean`): from the columns they
show, the contact roles of a page in one query. These tests hold them to the bytes DRF's
`OpportunitySerializer` writes for the same request — every order, filters, keyset pages
both ways, each role's scope, details and 404s — and pin their query counts."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.test import APIClient, force_authenticate

from crm.models import Contact, User
from opportunities.api.serializers import OPPORTUNITY_SHAPE, OpportunitySerializer
from opportunities.api.views import OpportunityViewSet
from opportunities.models import Opportunity, OpportunityContactRole, Stage
from opportunities.selectors import OPPORTUNITY_SORTS
from tests.factories import LeadFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class ReferenceOpportunityViewSet(OpportunityViewSet):
    """The deals API as DRF serializes it: instances through `OpportunitySerializer`.

    The contact roles' order was left to the query plan (no ORDER BY in the prefetch:
    PostgreSQL gave them in the order they were added, SQLite by contact): the reference
    pins it to the order they were added, the one the lean path states."""

    def get_queryset(self) -> QuerySet[Opportunity]:
        roles = OpportunityContactRole.objects.select_related("contact").order_by("pk")
        return (
            super()
            .get_queryset()
            .prefetch_related(None)
            .prefetch_related(Prefetch("contact_roles", queryset=roles))
        )

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return mixins.ListModelMixin.list(self, request, *args, **kwargs)

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object().pk)


FACTORY = RequestFactory(HTTP_HOST="localhost")


def answer(viewset: type[OpportunityViewSet], user: User, url: str, **kwargs: Any) -> tuple:
    action = "retrieve" if "pk" in kwargs else "list"
    request = FACTORY.get(url)
    force_authenticate(request, user)
    response = viewset.as_view({"get": action})(request, **kwargs)
    response.render()
    return response.status_code, response.get("ETag"), response.content


def assert_same(user: User, url: str, **kwargs: Any) -> bytes:
    lean = answer(OpportunityViewSet, user, url, **kwargs)
    reference = answer(ReferenceOpportunityViewSet, user, url, **kwargs)
    assert lean == reference, (user.username, url)
    return lean[2]


def path_of(link: str) -> str:
    return link.split("localhost", 1)[1]


def assert_same_pages(user: User, url: str) -> int:
    """Every page of `url`, forward then back, compared; the number of rows seen."""
    body = json.loads(assert_same(user, url))
    seen = len(body.get("results", []))
    last = body
    while last.get("next"):
        last = json.loads(assert_same(user, path_of(last["next"])))
        seen += len(last["results"])
    while last.get("previous"):
        last = json.loads(assert_same(user, path_of(last["previous"])))
    return seen


def reporting_to(manager: User, user: User) -> User:
    """`user` with `manager` as their manager (the factory reads `manager=` as the role)."""
    user.manager = manager
    user.save(update_fields=["manager"])
    return user


@pytest.fixture
def people() -> dict[str, User]:
    manager = UserFactory(manager=True, username="deal-manager")
    team = TeamFactory(name="Deal team", manager=manager)
    people = {
        "revops": UserFactory(revops=True, username="deal-revops"),
        "manager": manager,
        "other_manager": UserFactory(manager=True, username="deal-other-manager"),
        "ae": reporting_to(manager, UserFactory(ae=True, username="deal-ae")),
        "team_ae": UserFactory(ae=True, username="deal-team-ae", team=team),
        "sdr": UserFactory(sdr=True, username="deal-sdr"),
    }
    assert [people[r].role for r in ("ae", "team_ae", "sdr")] == ["ae", "ae", "sdr"]
    return people


@pytest.fixture
def deals(people: dict[str, User]) -> list[Opportunity]:
    """Deals across owners, stages and currencies, with zero to three contact roles, a
    lead sourced by the SDR, odd amounts and text, a closed one."""
    ae, team_ae, sdr = people["ae"], people["team_ae"], people["sdr"]
    won = Stage.objects.get(name="Closed Won")
    proposal = Stage.objects.get(name="Proposal")
    made = [
        OpportunityFactory(owner=ae, amount=Decimal("1234567.5"), name="Ünïcode “deal” \u2029"),
        OpportunityFactory(owner=ae, amount=Decimal("0.01"), currency="EUR", probability=0),
        OpportunityFactory(owner=team_ae, lead=LeadFactory(owner=sdr), stage=proposal),
        OpportunityFactory(owner=people["manager"], amount=Decimal("99999999999.99")),
        OpportunityFactory(owner=team_ae, stage=won, closed_at=timezone.now(), probability=100),
        OpportunityFactory(owner=people["other_manager"], is_override=True, approval="pending"),
    ]
    base = datetime.datetime(2026, 5, 2, 23, 59, 59, 999999, tzinfo=datetime.UTC)
    Opportunity.objects.filter(pk__in=[made[1].pk, made[2].pk]).update(created_at=base)
    for deal in made[:3]:
        OpportunityContactRole.objects.create(
            opportunity=deal, contact=deal.primary_contact, role="economic_buyer"
        )
    second = Contact.objects.create(account=made[0].account, first_name="", last_name="Solo")
    OpportunityContactRole.objects.create(opportunity=made[0], contact=second, role="champion")
    OpportunityContactRole.objects.create(
        opportunity=made[0], contact=made[0].primary_contact, role="influencer"
    )
    return made


ROLES = ["revops", "manager", "other_manager", "ae", "team_ae", "sdr"]


@pytest.mark.parametrize("role", ["revops", "manager", "sdr"])
def test_every_order_and_page_is_the_serializers_bytes(people, deals, role):
    user = people[role]
    for token in OPPORTUNITY_SORTS.tokens:
        assert_same_pages(user, f"/api/v1/opportunities/?ordering={token}&page_size=2")


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_pages_are_the_serializers_bytes(people, deals, role):
    user = people[role]
    total = assert_same_pages(user, "/api/v1/opportunities/")
    assert total == Opportunity.objects.visible_to(user).count()


@pytest.mark.parametrize(
    "query",
    [
        "is_open=true",
        "is_open=false",
        "is_open=maybe",
        "is_override=true",
        "currency=EUR",
        "source=inbound",
        "owner={ae}",
        "stage={proposal}&stage={won}",
        "stage=999999",
        "approval=pending",
        "ordering=bogus",
        "cursor=garbage",
        "ordering=-amount&page_size=1",
    ],
)
def test_filters_and_bad_parameters_answer_the_same(people, deals, query):
    query = query.format(
        ae=people["ae"].pk,
        proposal=Stage.objects.get(name="Proposal").pk,
        won=Stage.objects.get(name="Closed Won").pk,
    )
    for role in ("revops", "manager", "ae"):
        assert_same_pages(people[role], f"/api/v1/opportunities/?{query}")


@pytest.mark.parametrize("role", ROLES)
def test_each_detail_and_each_404_is_the_same(people, deals, role):
    user = people[role]
    visible = set(Opportunity.objects.visible_to(user).values_list("pk", flat=True))
    for deal in deals:
        status, _etag, _body = answer(OpportunityViewSet, user, "/", pk=str(deal.pk))
        assert (status == 200) == (deal.pk in visible)
        assert_same(user, "/", pk=str(deal.pk))
    for pk in ("0", "abc", "99999999999999999999", "-1"):
        assert_same(user, "/", pk=pk)


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "Pacific/Kiritimati"])
def test_dates_and_instants_in_the_readers_zone(people, deals, zone):
    with timezone.override(zone):
        assert_same(people["revops"], "/api/v1/opportunities/?ordering=created_at")
        assert_same(people["revops"], "/", pk=str(deals[1].pk))


def test_contact_roles_come_in_the_order_they_were_added(people, deals):
    client = APIClient()
    client.force_authenticate(people["revops"])
    roles = client.get(f"/api/v1/opportunities/{deals[0].pk}/").json()["contact_roles"]
    assert [r["role"] for r in roles] == ["economic_buyer", "champion", "influencer"]
    assert roles[1]["contact_name"] == "Solo"


def test_the_rows_read_only_the_columns_shown(people, deals):
    client = APIClient()
    client.force_authenticate(people["revops"])
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/opportunities/")
        client.get(f"/api/v1/opportunities/{deals[0].pk}/")
    statements = " ".join(q["sql"] for q in captured.captured_queries)
    assert "password" not in statements
    assert "is_demo" not in statements
    assert "normalized_email" not in statements


@pytest.mark.parametrize("role", ["revops", "manager", "ae"])
def test_a_page_is_two_queries_and_a_detail_two(people, deals, role, django_assert_num_queries):
    """The deals, then their contact roles with the contacts: whatever the page's length."""
    client = APIClient()
    client.force_authenticate(people[role])
    with django_assert_num_queries(2):
        client.get("/api/v1/opportunities/?page_size=1")
    with django_assert_num_queries(2):
        client.get("/api/v1/opportunities/?page_size=200&ordering=owner")
    with django_assert_num_queries(2):
        client.get(f"/api/v1/opportunities/{deals[0].pk}/")


def test_the_shape_is_the_serializers_fields():
    assert OPPORTUNITY_SHAPE.fields() == list(OpportunitySerializer().fields)
