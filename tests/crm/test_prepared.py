"""SQL compiled once and run again (`crm.api.prepared`): the same rows as the ORM gives,
one compilation per key (the scope, the order, the slice), never a key shared by two
querysets whose SQL differs; and the token lookup and the throttle built on it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.api import prepared
from crm.api.prepared import Prepared, query_key, rows_for_ids, values_rows
from crm.models import User
from crm.rate_limits import Rate, take
from leads.api.serializers import LEAD_SHAPE
from leads.models import Lead
from opportunities.models import OpportunityContactRole
from tests.factories import ContactRoleFactory, LeadFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def compilations(monkeypatch) -> list[Any]:
    """Every compilation `crm.api.prepared` makes."""
    made: list[Any] = []
    original = prepared.Compiled.of.__func__  # type: ignore[attr-defined]

    def counted(cls, queryset):
        made.append(queryset)
        return original(cls, queryset)

    monkeypatch.setattr(prepared.Compiled, "of", classmethod(counted))
    monkeypatch.setattr(prepared, "_kept", prepared._Kept())
    monkeypatch.setattr(prepared, "_by_ids", prepared._Kept())
    return made


@pytest.fixture
def people() -> dict[str, User]:
    return {"sdr": UserFactory(sdr=True), "other": UserFactory(sdr=True)}


@pytest.fixture
def leads(people) -> list[Lead]:
    return [
        LeadFactory(owner=people["sdr"], company_name="Acme"),
        LeadFactory(owner=people["sdr"], company_name="Bolt"),
        LeadFactory(owner=people["other"], company_name="Cask"),
    ]


def test_a_page_is_the_orms_rows_and_is_compiled_once(people, leads, compilations):
    def page(user: User) -> Any:
        return LEAD_SHAPE.template().visible_to(user).order_by("company_name", "pk")[:2]

    first = values_rows(page(people["sdr"]))
    again = values_rows(page(people["sdr"]))

    assert first == again == list(page(people["sdr"]))
    assert [row["company_name"] for row in first] == ["Acme", "Bolt"]
    assert len(compilations) == 1


def test_the_rows_are_read_again_not_kept(people, leads, compilations):
    def page() -> Any:
        return LEAD_SHAPE.template().visible_to(people["sdr"]).order_by("pk")

    values_rows(page())
    Lead.objects.filter(pk=leads[0].pk).update(company_name="Renamed")

    assert values_rows(page())[0]["company_name"] == "Renamed"


@pytest.mark.parametrize(
    "other",
    [
        lambda qs, people: qs.filter(owner=people["other"]),  # another value
        lambda qs, people: qs.filter(ae=people["sdr"]),  # another column
        lambda qs, people: qs.exclude(owner=people["sdr"]),  # negated
        lambda qs, people: qs.filter(Q(owner=people["sdr"]) | Q(company_name="Cask")),
        lambda qs, people: qs.filter(owner=people["sdr"]).order_by("-pk"),  # another order
        lambda qs, people: qs.filter(owner=people["sdr"])[:1],  # another slice
        lambda qs, people: qs.filter(owner=people["sdr"]).values("pk"),  # other columns
    ],
)
def test_querysets_whose_sql_differs_have_different_keys(people, leads, other):
    base = LEAD_SHAPE.template().order_by("pk")
    mine = base.filter(owner=people["sdr"])

    assert query_key(mine) is not None
    assert query_key(mine) == query_key(base.filter(owner=people["sdr"]))
    assert query_key(other(base, people)) != query_key(mine)
    assert values_rows(other(base, people)) == list(other(base, people))


def test_what_cannot_be_keyed_safely_is_run_as_usual(people, leads, compilations):
    subquery = Lead.objects.values("id").filter(
        owner__in=User.objects.filter(pk=people["sdr"].pk).values("pk")
    )
    models = Lead.objects.all()

    assert query_key(subquery) is None
    assert query_key(models) is None
    assert query_key(Lead.objects.extra(where=["1 = 1"]).values("id")) is None
    assert values_rows(subquery) == list(subquery)
    assert compilations == []


def test_a_detail_is_compiled_once_for_every_id(people, leads, compilations):
    detail = Prepared()
    scope = LEAD_SHAPE.template().visible_to(people["sdr"])

    rows = [detail.one(LEAD_SHAPE.template().visible_to(people["sdr"]), lead.pk) for lead in leads]

    assert [row and row["id"] for row in rows] == [leads[0].pk, leads[1].pk, None]
    assert rows[0] == list(scope.filter(pk=leads[0].pk))[0]
    assert len(compilations) == 1


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999", "-99999999999999999999", "", None])
def test_an_id_no_row_can_have_is_none_without_a_query(people, leads, pk):
    with CaptureQueriesContext(connection) as captured:
        assert Prepared().one(LEAD_SHAPE.template(), pk) is None
    assert captured.captured_queries == []


def test_related_rows_are_compiled_once_per_number_of_ids(compilations):
    deals = [OpportunityFactory() for _ in range(3)]
    for deal in deals:
        ContactRoleFactory(opportunity=deal)

    def roles(ids: list[int]) -> Any:
        return OpportunityContactRole.objects.filter(opportunity_id__in=ids).values(
            "opportunity", "role"
        )

    for ids in ([deals[0].pk, deals[1].pk], [deals[2].pk, deals[0].pk], [deals[1].pk]):
        got = rows_for_ids(OpportunityContactRole, roles, ids)
        assert got == list(roles(ids))
        assert {row["opportunity"] for row in got} == set(ids)
    assert len(compilations) == 2


# --- the token lookup --------------------------------------------------------------------


def _token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_reads_its_user_in_one_statement_without_the_password(people, leads):
    key = Token.objects.create(user=people["sdr"]).key

    with CaptureQueriesContext(connection) as captured:
        response = _token_client(key).get(f"/api/v1/leads/{leads[0].pk}/")

    assert response.status_code == 200
    assert len(captured.captured_queries) == 2  # the user by token, the lead
    assert "authtoken_token" in captured.captured_queries[0]["sql"]
    assert "password" not in captured.captured_queries[0]["sql"]
    assert response.json()["id"] == leads[0].pk


def test_an_unknown_token_and_an_inactive_user_are_refused_as_drf_refuses_them(people):
    key = Token.objects.create(user=people["sdr"]).key

    unknown = _token_client(key[:-1] + ("0" if key[-1] != "0" else "1")).get("/api/v1/leads/")
    User.objects.filter(pk=people["sdr"].pk).update(is_active=False)
    inactive = _token_client(key).get("/api/v1/leads/")

    assert unknown.status_code == inactive.status_code == 401
    assert unknown.json()["errors"][0]["message"] == "Invalid token."
    assert inactive.json()["errors"][0]["message"] == "User inactive or deleted."


def test_the_token_is_the_users_own(people):
    from crm.api.language import TokenAuthentication

    token = Token.objects.create(user=people["sdr"])

    user, auth = TokenAuthentication().authenticate_credentials(token.key)

    assert user == people["sdr"] and user.role == people["sdr"].role
    assert auth == token and auth.user is user and auth.created == token.created
    assert "password" in user.get_deferred_fields()


# --- the throttle's counter ------------------------------------------------------------------


def test_the_window_counter_counts_and_refuses_past_the_rate():
    cache.clear()
    verdicts = [take("test", "someone", Rate(2, 60), now=600.0) for _ in range(3)]

    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].first_refusal and verdicts[2].retry_after == 60
    assert cache.get("rate:test:someone:10") == 3


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the one-trip count is Redis's"
)
def test_on_redis_the_counter_expires_with_its_window():
    cache.clear()
    take("test", "someone", Rate(5, 60), now=600.0)
    backend = caches["default"]
    key = backend.make_and_validate_key("rate:test:someone:10")

    ttl = backend._cache.get_client(key).ttl(key)  # type: ignore[attr-defined]

    assert 0 < ttl <= 61
