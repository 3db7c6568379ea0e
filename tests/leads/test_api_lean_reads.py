"""The lead list and detail are built lean (`crm.api.lean`): from the columns they show,
without model instances or DRF's per-field serialization. These tests hold them to the
bytes DRF's `LeadSerializer` writes for the same request — every list order, filters,
keyset pages both ways, each role's scope, details and 404s, time zones — and pin their
query counts."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.test import APIClient, force_authenticate

from crm.api.etags import with_etag
from crm.models import Account, Contact, User
from leads.api.serializers import LEAD_SHAPE, LeadSerializer
from leads.api.views import LeadViewSet
from leads.models import DisqualificationReason, Lead, RejectionReason
from leads.selectors import LEAD_SORTS
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class ReferenceLeadViewSet(LeadViewSet):
    """The lead API as DRF serializes it: model instances through `LeadSerializer`."""

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return mixins.ListModelMixin.list(self, request, *args, **kwargs)

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        return with_etag(Response(LeadSerializer(lead).data), lead.version)


FACTORY = RequestFactory(HTTP_HOST="localhost")


def answer(viewset: type[LeadViewSet], user: User, url: str, **kwargs: Any) -> tuple:
    action = "retrieve" if "pk" in kwargs else "list"
    request = FACTORY.get(url)
    force_authenticate(request, user)
    response = viewset.as_view({"get": action})(request, **kwargs)
    response.render()
    return response.status_code, response.get("ETag"), response.content


def assert_same(user: User, url: str, **kwargs: Any) -> bytes:
    lean = answer(LeadViewSet, user, url, **kwargs)
    reference = answer(ReferenceLeadViewSet, user, url, **kwargs)
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
    manager = UserFactory(manager=True, username="lean-manager", first_name="Maya", last_name="")
    team = TeamFactory(name="Lean team", manager=manager)
    open_team = TeamFactory(name="Open team", sdrs_see_team_leads=True)
    people = {
        "revops": UserFactory(revops=True, username="lean-revops"),
        "admin": UserFactory(admin=True, username="lean-admin", role=User.Role.SDR),
        "manager": manager,
        "other_manager": UserFactory(manager=True, username="lean-other-manager"),
        "sdr": reporting_to(manager, UserFactory(sdr=True, username="lean-sdr", team=team)),
        "team_sdr": UserFactory(sdr=True, username="lean-team-sdr", team=open_team),
        "peer": UserFactory(
            sdr=True, username="lean-peer", team=open_team, first_name="", last_name=""
        ),
        "ae": UserFactory(ae=True, username="lean-ae", first_name=" Ana ", last_name="Lima"),
    }
    assert [people[r].role for r in ("sdr", "team_sdr", "ae")] == ["sdr", "sdr", "ae"]
    return people


@pytest.fixture
def leads(people: dict[str, User]) -> list[Lead]:
    """Leads in every state the representation shows: owned and not, with an AE, rejected,
    disqualified, merged, linked to an account and a contact, odd text, exact instants."""
    sdr, team_sdr, peer, ae = people["sdr"], people["team_sdr"], people["peer"], people["ae"]
    rejection = RejectionReason.objects.create(code="no-budget", label="No budget")
    disqualification = DisqualificationReason.objects.create(code="bad-data", label="Bad data")
    account = Account.objects.create(name="Lean Account", domain="lean.example")
    contact = Contact.objects.create(account=account, first_name="Ida", last_name="Ng")
    made = [
        LeadFactory(owner=sdr, team=sdr.team, company_name="Ünïcode “quoted” \u2028 line"),
        LeadFactory(owner=sdr, ae=ae, status=Lead.Status.SQL, employee_count=420, score=88),
        LeadFactory(owner=None, status=Lead.Status.NEW, company_name="Nobody's 🚀"),
        LeadFactory(owner=team_sdr, team=team_sdr.team, source="referral", country="ID"),
        LeadFactory(owner=peer, team=peer.team, first_name="", last_name="Solo"),
        LeadFactory(owner=ae, status=Lead.Status.NURTURE),
        LeadFactory(owner=people["manager"], status=Lead.Status.SAL, score=0),
        LeadFactory(owner=None, status=Lead.Status.NURTURE, company_name="closed unowned"),
    ]
    base = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)
    Lead.objects.filter(pk=made[0].pk).update(
        status=Lead.Status.REJECTED,
        rejection_reason=rejection,
        rejection_note="Tab\there, new\nline",
        rejected_at=base + datetime.timedelta(microseconds=123456),
    )
    Lead.objects.filter(pk=made[1].pk).update(
        account=account,
        contact=contact,
        qualified_at=base,
        handed_off_at=base + datetime.timedelta(days=400, seconds=59),
        version=7,
    )
    Lead.objects.filter(pk=made[4].pk).update(
        status=Lead.Status.DISQUALIFIED,
        disqualification_reason=disqualification,
        disqualification_note="Dup",
        disqualified_at=base,
        previous_lead=made[3],
        merged_into=made[3],
    )
    Lead.objects.filter(pk=made[5].pk).update(
        status=Lead.Status.CONVERTED, converted_at=base, created_at=base
    )
    # Two leads created at the same instant: the id breaks the tie in every order.
    Lead.objects.filter(pk__in=[made[2].pk, made[3].pk]).update(created_at=base)
    return made


ROLES = ["revops", "admin", "manager", "other_manager", "sdr", "team_sdr", "peer", "ae"]


@pytest.mark.parametrize("role", ["revops", "manager", "team_sdr"])
def test_every_order_and_page_is_the_serializers_bytes(people, leads, role):
    user = people[role]
    for token in LEAD_SORTS.tokens:
        assert_same_pages(user, f"/api/v1/leads/?ordering={token}&page_size=2")


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_pages_are_the_serializers_bytes(people, leads, role):
    user = people[role]
    total = assert_same_pages(user, "/api/v1/leads/")
    assert total == Lead.objects.visible_to(user).count()


@pytest.mark.parametrize(
    "query",
    [
        "status=rejected",
        "status=new&status=nurture",
        "source=referral",
        "owner={sdr}",
        "search=quoted",
        "search=%20",
        "status=bogus",
        "owner=abc",
        "ordering=bogus",
        "cursor=not-a-cursor",
        "page_size=0",
        "page_size=1000",
        "ordering=-score&status=sql&page_size=1",
    ],
)
def test_filters_and_bad_parameters_answer_the_same(people, leads, query):
    query = query.format(sdr=people["sdr"].pk)
    for role in ("revops", "manager", "sdr"):
        assert_same_pages(people[role], f"/api/v1/leads/?{query}")


@pytest.mark.parametrize("role", ROLES)
def test_each_detail_and_each_404_is_the_same(people, leads, role):
    user = people[role]
    visible = set(Lead.objects.visible_to(user).values_list("pk", flat=True))
    for lead in leads:
        status, _etag, _body = answer(LeadViewSet, user, "/", pk=str(lead.pk))
        assert (status == 200) == (lead.pk in visible)
        assert_same(user, f"/api/v1/leads/{lead.pk}/", pk=str(lead.pk))
    for pk in ("0", "abc", "99999999999999999999", " 1", "-1"):
        assert_same(user, f"/api/v1/leads/{pk}/", pk=pk)


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "America/St_Johns", "UTC"])
def test_instants_are_written_in_the_readers_zone(people, leads, zone):
    with timezone.override(zone):
        body = assert_same(people["revops"], "/api/v1/leads/?ordering=created_at")
        assert_same(people["revops"], "/", pk=str(leads[1].pk))
    first = json.loads(body)["results"][0]
    assert first["created_at"].endswith("Z") == (zone == "UTC")


def test_the_detail_carries_the_version_as_etag(people, leads):
    client = APIClient()
    client.force_authenticate(people["revops"])
    got = client.get(f"/api/v1/leads/{leads[1].pk}/")
    assert got.status_code == 200
    assert got["ETag"] == '"7"'
    assert got.json()["owner"]["name"] == str(people["sdr"])


def test_the_rows_read_only_the_columns_shown(people, leads):
    client = APIClient()
    client.force_authenticate(people["revops"])
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/leads/")
        client.get(f"/api/v1/leads/{leads[1].pk}/")
    statements = " ".join(q["sql"] for q in captured.captured_queries)
    assert "password" not in statements
    assert "is_demo" not in statements
    assert "last_login" not in statements


@pytest.mark.parametrize("role", ["revops", "manager", "ae"])
def test_a_page_is_one_query_and_a_detail_is_one(people, leads, role, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(people[role])
    with django_assert_num_queries(1):
        client.get("/api/v1/leads/?page_size=1")
    with django_assert_num_queries(1):
        client.get("/api/v1/leads/?page_size=200&ordering=owner")
    with django_assert_num_queries(1):
        client.get(f"/api/v1/leads/{leads[1].pk}/")


def test_the_shape_is_the_serializers_fields():
    assert LEAD_SHAPE.fields() == list(LeadSerializer().fields)
    assert "owner__password" not in LEAD_SHAPE.paths
