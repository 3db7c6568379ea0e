"""Saved views of the lists: who sees and changes which (services and API), the tabs and
forms above a list, and the view a role opens a list with."""

from __future__ import annotations

import types

import pytest
from rest_framework.test import APIClient

from crm.exceptions import NotAllowed, NotFound, StaleVersion, ValidationFailed
from crm.saved_view_services import (
    clean_query,
    saved_view_create,
    saved_view_delete,
    saved_view_update,
    view_for,
    views_for_list,
)
from crm.saved_views import SavedView, SavedViewChange
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    return types.SimpleNamespace(
        maya=UserFactory(sdr=True, username="maya", team=north),
        nina=UserFactory(sdr=True, username="nina", team=north),
        omar=UserFactory(sdr=True, username="omar", team=south),
        loner=UserFactory(ae=True, username="loner"),
        revops=UserFactory(revops=True, username="rita"),
    )


def codes(error) -> list[tuple[str, str | None]]:
    return [(p.code, p.field) for p in error.value.problems]


# --- services ----------------------------------------------------------------------------------


def test_a_view_keeps_what_the_list_shows_not_where_one_was(people):
    view = saved_view_create(
        by=people.maya,
        list_key="leads",
        name=" Hot referrals ",
        query="?source=referral&ordering=-score&cursor=abc&after=x&view=3&columns=lead,score",
    )
    assert view.name == "Hot referrals"
    assert view.query == "source=referral&ordering=-score&columns=lead%2Cscore"
    assert view.position == 1
    assert saved_view_create(by=people.maya, list_key="leads", name="Second").position == 2
    change = SavedViewChange.objects.filter(view=view).get()
    assert (change.action, change.actor, change.changes["name"]) == (
        "created",
        people.maya,
        [None, " Hot referrals "],
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"list_key": "ponies"}, ("invalid", "list")),
        ({"name": ""}, ("required", "name")),
        ({"name": "x" * 81}, ("too_long", "name")),
        ({"default_for_role": "sdr"}, ("permission_denied", "default_for_role")),
        ({"default_for_role": "wizard"}, ("invalid", "default_for_role")),
    ],
)
def test_a_bad_view_names_its_field(people, data, problem):
    with pytest.raises(ValidationFailed) as error:
        saved_view_create(by=people.maya, **({"list_key": "leads", "name": "A"} | data))
    assert problem in codes(error)


def test_names_are_unique_per_owner_and_list(people):
    saved_view_create(by=people.maya, list_key="leads", name="Mine")
    with pytest.raises(ValidationFailed) as error:
        saved_view_create(by=people.maya, list_key="leads", name="MINE")
    assert codes(error) == [("duplicate", "name")]
    saved_view_create(by=people.maya, list_key="opportunities", name="Mine")
    saved_view_create(by=people.nina, list_key="leads", name="Mine")


def test_sharing_needs_a_team(people):
    with pytest.raises(ValidationFailed) as error:
        saved_view_create(by=people.loner, list_key="leads", name="Solo", shared=True)
    assert codes(error) == [("no_team", "shared")]


def test_the_team_reads_a_shared_view_and_only_the_owner_changes_it(people):
    view = saved_view_create(by=people.maya, list_key="leads", name="Team", shared=True)
    assert view.team.name == "North"
    assert view_for(people.nina, view.pk) == view
    with pytest.raises(NotAllowed):
        saved_view_update(view_id=view.pk, by=people.nina, data={"name": "Hijack"})
    with pytest.raises(NotAllowed):
        saved_view_delete(view_id=view.pk, by=people.nina)
    with pytest.raises(NotFound):
        view_for(people.omar, view.pk)  # another team's
    private = saved_view_create(by=people.maya, list_key="leads", name="Private")
    with pytest.raises(NotFound):
        view_for(people.nina, private.pk)
    assert [v.name for v in views_for_list(people.nina, "leads")] == ["Team"]


def test_an_edit_is_versioned_and_audited(people):
    view = saved_view_create(by=people.maya, list_key="leads", name="Old")
    saved_view_update(view_id=view.pk, by=people.maya, data={"name": "New"}, expected_version=1)
    view.refresh_from_db()
    assert (view.name, view.version) == ("New", 2)
    with pytest.raises(StaleVersion):
        saved_view_update(view_id=view.pk, by=people.maya, data={"name": "X"}, expected_version=1)
    change = SavedViewChange.objects.filter(view=view, action="updated").get()
    assert change.changes == {"name": ["Old", "New"]}
    with pytest.raises(ValidationFailed) as error:
        saved_view_update(view_id=view.pk, by=people.maya, data={"owner": 1})
    assert codes(error) == [("unknown_field", "owner")]
    saved_view_delete(view_id=view.pk, by=people.maya)
    assert not SavedView.objects.exists()
    assert SavedViewChange.objects.filter(action="deleted", view_name="New").exists()


def test_revops_sets_one_default_per_role_and_list(people):
    first = saved_view_create(
        by=people.revops, list_key="leads", name="SDR start", default_for_role="sdr"
    )
    assert view_for(people.maya, first.pk) == first  # the role reads it
    second = saved_view_create(
        by=people.revops, list_key="leads", name="SDR start v2", default_for_role="sdr"
    )
    first.refresh_from_db()
    assert (first.default_for_role, second.default_for_role) == ("", "sdr")
    assert SavedViewChange.objects.filter(
        view=first, changes={"default_for_role": ["sdr", ""]}
    ).exists()
    # another RevOps user may change a role default; the role may not
    other = UserFactory(revops=True, username="ravi")
    saved_view_update(view_id=second.pk, by=other, data={"query": "status=all"})
    with pytest.raises(NotAllowed):
        saved_view_update(view_id=second.pk, by=people.maya, data={"query": ""})


def test_clean_query_drops_the_position():
    assert clean_query("a=1&cursor=x&view=all&after=y&b=2") == "a=1&b=2"


# --- the API ----------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_creates_lists_patches_and_deletes(people):
    client = api(people.maya)
    created = client.post(
        "/api/v1/views/",
        {"list": "leads", "name": "Overdue", "query": "due=overdue&cursor=zz", "shared": True},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["list"], body["query"], body["editable"], body["owner"]["username"]) == (
        "leads",
        "due=overdue",
        True,
        "maya",
    )
    assert created["ETag"] == '"1"'
    pk = body["id"]
    patched = client.patch(
        f"/api/v1/views/{pk}/", {"name": "Overdue now"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = client.patch(f"/api/v1/views/{pk}/", {"name": "X", "version": 1}, format="json")
    assert stale.status_code == 412
    teammate = api(people.nina)
    seen = teammate.get("/api/v1/views/?list=leads").json()
    assert [(v["name"], v["editable"]) for v in seen] == [("Overdue now", False)]
    assert teammate.patch(f"/api/v1/views/{pk}/", {"name": "Y"}, format="json").status_code == 403
    assert teammate.delete(f"/api/v1/views/{pk}/").status_code == 403
    assert api(people.omar).get(f"/api/v1/views/{pk}/").status_code == 404
    assert client.get("/api/v1/views/?list=opportunities").json() == []
    assert client.delete(f"/api/v1/views/{pk}/").status_code == 204
    assert client.get(f"/api/v1/views/{pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"list": "leads", "name": "A", "owner": 3}, "owner"),
        ({"list": "leads", "name": "A", "id": 3}, "id"),
        ({"list": "nope", "name": "A"}, "list"),
        ({"list": "leads"}, "name"),
        ({"list": "leads", "name": "A", "default_for_role": "manager"}, "default_for_role"),
        ({"list": "leads", "name": "A", "position": -1}, "position"),
    ],
)
def test_the_api_refuses_a_bad_body_naming_the_field(people, body, field):
    response = api(people.maya).post("/api/v1/views/", body, format="json")
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_the_api_lets_revops_set_a_role_default(people):
    response = api(people.revops).post(
        "/api/v1/views/",
        {"list": "opportunities", "name": "AE pipeline", "default_for_role": "ae"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["default_for_role"] == "ae"
    assert [v["name"] for v in api(people.loner).get("/api/v1/views/").json()] == ["AE pipeline"]


def test_the_api_needs_a_signed_in_user():
    assert APIClient().get("/api/v1/views/").status_code == 401


# --- the list pages ----------------------------------------------------------------------------


def test_save_view_from_the_queue_and_open_it(people, client):
    client.force_login(people.maya)
    response = client.post(
        "/views/save/",
        {
            "list": "leads",
            "name": "By score",
            "query": "ordering=-score&after=abc&view=all",
            "columns": "lead,score",
            "next": "/leads/",
        },
    )
    view = SavedView.objects.get()
    assert view.query == "ordering=-score&columns=lead%2Cscore"
    assert response.status_code == 302
    assert response["Location"] == f"/leads/?ordering=-score&columns=lead%2Cscore&view={view.pk}"
    page = client.get(response["Location"])
    assert page.context["active_view"] == view
    assert page.context["sort"].token == "-score"
    html = page.content.decode()
    assert 'data-testid="view-tab"' in html and "By score" in html


def test_a_refused_save_comes_back_with_the_reason(people, client):
    client.force_login(people.maya)
    response = client.post("/views/save/", {"list": "leads", "name": "", "next": "/leads/"})
    assert response.status_code == 302 and response["Location"].startswith("/leads/")
    messages = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert any("Name the view" in m for m in messages)
    outside = client.post(
        "/views/save/", {"list": "leads", "name": "Ok", "next": "https://evil.example/"}
    )
    assert outside["Location"].startswith("/?")


def test_the_role_default_opens_when_the_list_has_no_query(people, client):
    view = saved_view_create(
        by=people.revops,
        list_key="opportunities",
        name="Closing soon",
        query="ordering=expected_close_date",
        default_for_role="ae",
    )
    client.force_login(people.loner)
    opened = client.get("/opportunities/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/opportunities/?ordering=expected_close_date&view={view.pk}"
    everything = client.get("/opportunities/?view=all")
    assert everything.status_code == 200 and everything.context["active_view"] is None
    client.force_login(people.maya)  # an SDR: no default for her role
    assert client.get("/opportunities/").status_code == 200


def test_the_list_reopens_the_view_last_chosen_in_the_session(people, client):
    default = saved_view_create(
        by=people.revops, list_key="leads", name="Start", query="source=event",
        default_for_role="sdr",
    )  # fmt: skip
    mine = saved_view_create(by=people.maya, list_key="leads", name="Mine", query="score=1")
    client.force_login(people.maya)
    assert client.get("/leads/")["Location"] == f"/leads/?source=event&view={default.pk}"

    client.get(f"/leads/?score=1&view={mine.pk}")  # she picks her own tab
    assert client.get("/leads/")["Location"] == f"/leads/?score=1&view={mine.pk}"
    client.get("/leads/?view=all")  # then the whole list
    assert client.get("/leads/").status_code == 200
    client.get(f"/leads/?score=1&view={mine.pk}")
    mine.delete()  # a view gone since: the role's default again
    assert client.get("/leads/")["Location"] == f"/leads/?source=event&view={default.pk}"


def test_update_and_delete_from_the_page(people, client):
    view = saved_view_create(by=people.maya, list_key="leads", name="Mine", query="source=event")
    client.force_login(people.maya)
    page = client.get(f"/leads/?source=event&view={view.pk}")
    assert page.context["active_view_editable"]
    client.post(
        f"/views/{view.pk}/update/",
        {"query": f"source=referral&view={view.pk}", "columns": "", "next": "/leads/"},
    )
    view.refresh_from_db()
    assert view.query == "source=referral"
    client.force_login(people.nina)
    assert client.post(f"/views/{view.pk}/delete/", {"next": "/leads/"}).status_code == 404
    client.force_login(people.maya)
    gone = client.post(f"/views/{view.pk}/delete/", {"next": "/leads/"})
    assert gone["Location"] == "/leads/?view=all"
    assert not SavedView.objects.exists()


def test_the_sla_clocks_list_has_views_too(people, client):
    manager = UserFactory(manager=True, username="mgr")
    saved_view_create(by=manager, list_key="sla_timers", name="Overdue", query="state=overdue")
    client.force_login(manager)
    page = client.get("/sla/clocks/?view=all")
    assert [tab["view"].name for tab in page.context["view_tabs"]] == ["Overdue"]
