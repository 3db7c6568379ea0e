"""RevOps' settings rules the QA walk found loose (items 8, 13, 14): a placeholder form name
is called one, two active intake keys may not share a name, and a redirect is https://.
Each is checked on the settings page and in the API, which share the services."""

from __future__ import annotations

import pytest
from django.utils import timezone

from capture.models import IntakeKey, WebForm
from capture.services.forms import web_form_update
from capture.services.keys import intake_key_create, intake_key_revoke
from crm.exceptions import ValidationFailed
from tests.capture.conftest import client_for
from tests.capture.test_settings_pages import form_post

pytestmark = pytest.mark.django_db

FORMS = "/api/v1/forms/"
KEYS = "/api/v1/intake-keys/"


def _errors(response) -> dict[str, tuple[str, str]]:
    return {e["field"]: (e["code"], e["message"]) for e in response.json()["errors"]}


# --- a placeholder name -----------------------------------------------------------------------


def test_a_placeholder_form_name_is_called_a_placeholder_in_the_api(revops):
    response = client_for(revops).post(FORMS, {"name": "XXXXXXXXXX"}, format="json")

    assert response.status_code == 400
    code, message = _errors(response)["name"]
    assert code == "placeholder"
    assert message == "“XXXXXXXXXX” looks like a placeholder: give the form a real name."
    assert not WebForm.objects.exists()


def test_a_placeholder_form_name_is_called_a_placeholder_on_the_page(client, revops):
    client.force_login(revops)

    page = client.post("/settings/web-forms/new/", form_post(name="TBD"))

    assert page.status_code == 400
    assert "looks like a placeholder: give the form a real name." in page.content.decode()
    assert not WebForm.objects.exists()


def test_a_blank_form_name_still_asks_for_one(revops):
    response = client_for(revops).post(FORMS, {"name": "   "}, format="json")

    assert _errors(response)["name"] == ("required", "Give the form a name.")


def test_a_placeholder_key_name_is_called_a_placeholder(revops):
    response = client_for(revops).post(KEYS, {"name": "N/A"}, format="json")

    assert response.status_code == 400
    code, message = _errors(response)["name"]
    assert code == "placeholder" and "“N/A” looks like a placeholder" in message


# --- intake key names ---------------------------------------------------------------------------


def test_a_second_active_key_of_the_same_name_is_refused_in_the_api(revops):
    client = client_for(revops)
    assert client.post(KEYS, {"name": "QA Zapier"}, format="json").status_code == 201

    again = client.post(KEYS, {"name": "  qa   ZAPIER "}, format="json")

    assert again.status_code == 400
    code, message = _errors(again)["name"]
    assert code == "duplicate" and "already has this name" in message
    assert IntakeKey.objects.count() == 1


def test_a_second_active_key_of_the_same_name_is_refused_on_the_page(client, revops):
    intake_key_create(by=revops, name="QA Zapier")
    client.force_login(revops)

    page = client.post("/settings/intake-keys/", {"name": "QA Zapier"})

    assert page.status_code == 400
    html = page.content.decode()
    assert "An active key already has this name" in html
    assert 'value="QA Zapier"' in html  # the typed name is kept to be changed
    assert IntakeKey.objects.count() == 1


def test_a_revoked_keys_name_may_be_used_again(revops):
    old = intake_key_create(by=revops, name="Zapier").key
    intake_key_revoke(key_id=old.pk, by=revops)

    made = client_for(revops).post(KEYS, {"name": "Zapier"}, format="json")

    assert made.status_code == 201
    assert IntakeKey.objects.filter(name="Zapier").count() == 2


def test_the_database_refuses_twins_the_service_did_not_see(revops):
    # Two requests that both passed the check before either saved: the index decides.
    from django.db import IntegrityError, transaction

    IntakeKey.objects.create(
        name="Race",
        prefix="thk_aaaa0001",
        secret_hash="a",
        created_by=revops,
        created_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        IntakeKey.objects.create(
            name="RACE",
            prefix="thk_aaaa0002",
            secret_hash="b",
            created_by=revops,
            created_at=timezone.now(),
        )


# --- the redirect ---------------------------------------------------------------------------------


def test_an_http_redirect_is_refused_in_the_api(revops):
    response = client_for(revops).post(
        FORMS, {"name": "Webinar", "redirect_url": "http://www.acme.example/thanks"}, format="json"
    )

    assert response.status_code == 400
    assert _errors(response)["redirect_url"] == (
        "insecure",
        "Use a secure redirect address: start it with https://, not http://.",
    )
    assert not WebForm.objects.exists()


def test_an_http_redirect_is_refused_on_the_page(client, revops):
    client.force_login(revops)

    page = client.post(
        "/settings/web-forms/new/", form_post(redirect_url="http://www.acme.example/thanks")
    )

    assert page.status_code == 400
    assert "start it with https://, not http://" in page.content.decode()
    assert not WebForm.objects.exists()


@pytest.mark.parametrize("address", ["http://localhost:8000/thanks", "http://127.0.0.1/thanks"])
def test_no_exception_is_made_for_a_local_http_redirect(revops, address):
    response = client_for(revops).post(
        FORMS, {"name": "Local", "redirect_url": address}, format="json"
    )

    assert _errors(response)["redirect_url"][0] == "insecure"


def test_an_https_redirect_is_taken(revops):
    response = client_for(revops).post(
        FORMS, {"name": "Webinar", "redirect_url": "https://www.acme.example/thanks"}, format="json"
    )

    assert response.status_code == 201


def test_a_form_saved_with_an_http_redirect_may_still_be_switched_off(revops, web_form):
    # Saved before the rule: an edit that leaves the redirect alone is not refused over it.
    WebForm.objects.filter(pk=web_form.pk).update(redirect_url="http://www.acme.example/old")

    edit = web_form_update(form_id=web_form.pk, by=revops, data={"is_active": False})

    assert edit.form.is_active is False
    with pytest.raises(ValidationFailed) as refused:
        web_form_update(
            form_id=web_form.pk, by=revops, data={"redirect_url": "http://www.acme.example/new"}
        )
    assert [p.field for p in refused.value.problems] == ["redirect_url"]
