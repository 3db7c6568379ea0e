"""What a visitor is told when /f/<key>/ refuses a post (QA walk, items 4 and 19): every
problem at once, a bad value and the missing fields together; and a rate-limited post
comes back with the values they typed and when to try again."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from capture.models import FormSubmission, WebForm
from capture.views.public import wait_text
from leads.models import Lead
from tests.capture.conftest import LEAD

pytestmark = pytest.mark.django_db

BAD = {"first_name": "Ana", "email": "bad-email", "last_name": "", "company_name": ""}


def url(form: WebForm) -> str:
    return f"/f/{form.key}/"


def post_json(client: Client, form: WebForm, body: object):
    return client.post(url(form), data=json.dumps(body), content_type="application/json")


# --- every problem at once ---------------------------------------------------------------------


def test_a_bad_email_and_missing_fields_are_named_together_in_json(client, web_form):
    response = post_json(client, web_form, BAD)

    assert response.status_code == 400
    errors = {(e["code"], e["field"]) for e in response.json()["errors"]}
    assert errors == {
        ("invalid", "email"),
        ("required", "last_name"),
        ("required", "company_name"),
    }
    assert not Lead.objects.exists()
    recorded = {p["field"] for p in FormSubmission.objects.get().problems}
    assert recorded == {"email", "last_name", "company_name"}


def test_a_bad_email_and_missing_fields_are_shown_together_on_the_hosted_form(client, web_form):
    page = client.post(url(web_form), BAD)

    assert page.status_code == 400
    html = page.content.decode()
    assert "Enter a valid e-mail address." in html
    assert "Enter the contact&#x27;s last name." in html
    assert "Enter the company name." in html
    assert 'value="Ana"' in html and 'value="bad-email"' in html  # typed values kept
    assert not Lead.objects.exists()


def test_a_value_of_the_wrong_type_in_json_comes_with_the_missing_fields(client, web_form):
    response = post_json(client, web_form, {"email": True, "first_name": "Ana"})

    errors = [(e["code"], e["field"]) for e in response.json()["errors"]]
    # e-mail named once (its type), not again as "enter an e-mail address"
    assert sorted(errors) == [
        ("invalid", "email"),
        ("required", "company_name"),
        ("required", "last_name"),
    ]


def test_a_phone_form_with_a_bad_phone_still_names_the_missing_company(client, make_form):
    form = make_form(fields=["last_name", "phone", "company_name"])

    response = post_json(client, form, {"last_name": "Pérez", "phone": "x" * 60})

    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"phone", "company_name"}


# --- the rate limit ------------------------------------------------------------------------------


def test_a_rate_limited_post_shows_the_form_again_with_the_typed_values(client, web_form, settings):
    settings.CAPTURE_RATE_FORM_PER_IP = "1/10min"
    client.post(url(web_form), LEAD)
    typed = LEAD | {"email": "second@acme.example", "first_name": "Budi"}

    page = client.post(url(web_form), typed)

    assert page.status_code == 429
    assert page["Retry-After"].isdigit()
    html = page.content.decode()
    assert 'data-testid="public-form"' in html
    assert 'value="Budi"' in html and 'value="second@acme.example"' in html
    assert 'data-testid="form-notice"' in html and "Please wait a moment" in html
    assert re.search(r"please try again in \d+ (minutes|seconds)\.", html)
    assert Lead.objects.count() == 1  # the refused post made nothing
    assert list(web_form.submissions.values_list("outcome", flat=True).order_by("id")) == [
        "created",
        "throttled",
    ]


def test_a_rate_limited_json_post_says_when_to_try_again(client, web_form, settings):
    settings.CAPTURE_RATE_FORM_PER_IP = "1/min"
    post_json(client, web_form, LEAD)

    response = post_json(client, web_form, LEAD | {"email": "other@acme.example"})

    assert response.status_code == 429
    (error,) = response.json()["errors"]
    assert error["code"] == "throttled"
    assert error["message"].startswith("Too many posts from here; please try again in ")
    assert error["message"].endswith(" seconds.")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (244, "5 minutes"),
    ],
)
def test_the_wait_is_said_in_seconds_or_rounded_up_minutes(seconds, text):
    assert wait_text(seconds) == text
