"""RevOps' web forms over the API (/api/v1/forms/) and the service behind it: managers
read, RevOps writes, SDRs and AEs are refused; every body problem is named at once;
versions travel as ETag / If-Match; every change is audited."""

from __future__ import annotations

import pytest

from capture.models import CaptureChange, WebForm
from capture.services.forms import normalize_origin
from tests.capture.conftest import LEAD, client_for

pytestmark = pytest.mark.django_db

FORMS = "/api/v1/forms/"


def _fields(response) -> set[tuple[str, str | None]]:
    return {(e["code"], e["field"]) for e in response.json()["errors"]}


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "revops"])
def test_managers_and_revops_read_forms_with_their_key_and_counts(as_role, role, web_form):
    client = as_role(role)

    listed = client.get(FORMS)
    one = client.get(f"{FORMS}{web_form.pk}/")

    assert listed.status_code == 200 and one.status_code == 200
    row = listed.json()[0]
    assert row["key"] == web_form.key and len(row["key"]) >= 20
    assert row["url"] == f"http://testserver/f/{web_form.key}/"
    assert row["submissions"] == {
        "created": 0,
        "deduplicated": 0,
        "invalid": 0,
        "spam": 0,
        "throttled": 0,
        "forbidden_origin": 0,
    }
    assert '<form method="post" action="http://testserver/f/' in row["snippet"]
    assert one["ETag"] == f'"{web_form.version}"'


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_may_not_read_or_write_forms(as_role, role, web_form):
    client = as_role(role)

    assert client.get(FORMS).status_code == 403
    assert client.get(f"{FORMS}{web_form.pk}/").status_code == 403
    assert client.post(FORMS, {"name": "Mine"}, format="json").status_code == 403
    assert client.patch(f"{FORMS}{web_form.pk}/", {"name": "x"}, format="json").status_code == 403


def test_managers_may_not_write_forms(as_role, web_form):
    client = as_role("manager")

    assert client.post(FORMS, {"name": "Mine"}, format="json").status_code == 403
    assert client.patch(f"{FORMS}{web_form.pk}/", {"name": "x"}, format="json").status_code == 403


def test_anonymous_is_401(client, web_form):
    assert client.get(FORMS).status_code == 401


# --- create and change ------------------------------------------------------------------------


def test_revops_creates_a_form_with_defaults_and_required_fields_added(revops):
    client = client_for(revops)

    response = client.post(
        FORMS,
        {
            "name": "  Webinar   sign-up ",
            "fields": ["first_name", "phone", "job_title"],
            "source": "event",
            "campaign": "Webinar Q3",
            "allowed_origins": ["HTTPS://Www.Acme.Example:443/"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Webinar sign-up"
    # company and last name are always asked; phone is a way to reach the person
    assert body["fields"] == ["first_name", "phone", "job_title", "company_name", "last_name"]
    assert body["allowed_origins"] == ["https://www.acme.example"]
    assert body["is_active"] is True and body["version"] == 1
    assert response["ETag"] == '"1"'
    form = WebForm.objects.get()
    assert form.created_by == revops
    change = CaptureChange.objects.get()
    assert (change.kind, change.object_id, change.actor) == ("web_form", form.pk, revops)
    assert change.old == {} and change.new["name"] == "Webinar sign-up"


def test_a_form_with_no_way_to_reach_the_person_is_refused_naming_both_fields(revops, web_form):
    # Not e-mail added behind RevOps' back: which of the two to ask is theirs to choose.
    client = client_for(revops)

    created = client.post(FORMS, {"name": "Mine", "fields": ["first_name"]}, format="json")
    changed = client.patch(
        f"{FORMS}{web_form.pk}/", {"fields": ["first_name", "job_title"]}, format="json"
    )

    for response in (created, changed):
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert (error["code"], error["field"]) == ("no_reach", "fields")
        assert "Work e-mail" in error["message"] and "Phone" in error["message"]
    assert WebForm.objects.count() == 1
    web_form.refresh_from_db()
    assert "email" in web_form.fields and web_form.version == 1


def test_every_problem_of_a_body_is_named_at_once(revops, make_form):
    make_form(name="Taken")
    client = client_for(revops)

    response = client.post(
        FORMS,
        {
            "name": "taken",
            "fields": ["email", "score"],
            "source": "tv",
            "redirect_url": "javascript:alert(1)",
            "allowed_origins": ["https://ok.example", "https://bad.example/path"],
            "key": "mine",
            "colour": "red",
        },
        format="json",
    )

    assert response.status_code == 400
    assert _fields(response) >= {
        ("duplicate", "name"),
        ("invalid_choice", "fields"),
        ("invalid_choice", "source"),
        ("invalid", "redirect_url"),
        ("invalid", "allowed_origins"),
        ("read_only", "key"),
        ("unknown_field", "colour"),
    }
    assert WebForm.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a form",
        {"fields": "email"},
        {"fields": [1, 2]},
        {"allowed_origins": "https://a.example"},
        {"allowed_origins": [f"https://{i}.example" for i in range(21)]},
        {"is_active": "maybe"},
        {"name": "x" * 151},
        {"thank_you_message": "x" * 2001},
    ],
)
def test_malformed_bodies_are_400_never_500(revops, body):
    response = client_for(revops).post(FORMS, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]


def test_revops_changes_a_form_with_if_match_and_the_change_is_audited(revops, web_form):
    client = client_for(revops)

    response = client.patch(
        f"{FORMS}{web_form.pk}/",
        {"campaign": "Spring launch", "is_active": False, "id": web_form.pk},
        format="json",
        headers={"If-Match": f'"{web_form.version}"'},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["campaign"] == "Spring launch" and response.json()["version"] == 2
    assert response["ETag"] == '"2"'
    web_form.refresh_from_db()
    assert (web_form.campaign, web_form.is_active) == ("Spring launch", False)
    change = CaptureChange.objects.filter(old__has_key="campaign").get()
    assert change.old == {"campaign": "Website demo", "is_active": True}
    assert change.new == {"campaign": "Spring launch", "is_active": False}


def test_a_stale_version_is_412_and_changes_nothing(revops, web_form):
    client = client_for(revops)

    response = client.patch(
        f"{FORMS}{web_form.pk}/", {"campaign": "Late"}, format="json", headers={"If-Match": '"7"'}
    )
    body_version = client.patch(
        f"{FORMS}{web_form.pk}/", {"campaign": "Late", "version": 5}, format="json"
    )

    assert response.status_code == 412 and body_version.status_code == 412
    web_form.refresh_from_db()
    assert web_form.campaign == "Website demo"


def test_the_key_never_changes(revops, web_form):
    client = client_for(revops)
    key = web_form.key

    response = client.patch(f"{FORMS}{web_form.pk}/", {"key": "guessable"}, format="json")

    assert response.status_code == 400 and ("read_only", "key") in _fields(response)
    web_form.refresh_from_db()
    assert web_form.key == key


def test_keys_are_unguessable_and_distinct(make_form):
    keys = {make_form().key for _ in range(5)}

    assert len(keys) == 5
    assert all(len(k) == 24 for k in keys)


def test_an_unknown_form_is_404(revops):
    client = client_for(revops)

    assert client.get(f"{FORMS}999999/").status_code == 404
    assert client.patch(f"{FORMS}999999/", {"name": "x"}, format="json").status_code == 404


def test_counts_follow_the_posts(client, revops, web_form):
    from tests.capture.test_public_form import post_json

    post_json(client, web_form, LEAD)
    post_json(client, web_form, LEAD)
    post_json(client, web_form, {"first_name": "only"})
    post_json(client, web_form, LEAD | {"website": "spam"})

    counts = client_for(revops).get(f"{FORMS}{web_form.pk}/").json()["submissions"]

    assert counts["created"] == 1
    assert counts["deduplicated"] == 1
    assert counts["invalid"] == 1
    assert counts["spam"] == 1


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("https://www.acme.example", "https://www.acme.example"),
        ("HTTPS://WWW.ACME.EXAMPLE/", "https://www.acme.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://acme.example:443", "https://acme.example"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("ftp://acme.example", None),
        ("https://acme.example/page", None),
        ("acme.example", None),
        ("https://user:pw@acme.example", None),
        ("https://acme.example:99999", None),
        ("", None),
    ],
)
def test_origins_are_spelled_as_browsers_send_them(value, origin):
    assert normalize_origin(value) == origin
