"""RevOps' capture settings in the browser: the web forms page (create, edit, snippet,
preview link, counts), read-only for managers, refused to reps; the intake keys page
(the secret shown once, revoke), RevOps only; both listed on the Settings hub."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from capture.models import CaptureChange, IntakeKey, WebForm
from capture.services.forms import web_form_update
from capture.services.keys import hash_secret, intake_key_create, intake_key_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_post(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Webinar sign-up",
        "source": "event",
        "campaign": "Webinar Q3",
        "thank_you_message": "See you there!",
        "redirect_url": "",
        "allowed_origins": "https://www.acme.example\n\nhttps://blog.acme.example/",
        "is_active": "on",
        "show_first_name": "on",
        "order_first_name": "1",
        "show_email": "on",
        "order_email": "3",
        "order_last_name": "2",
        "order_company_name": "4",
        "show_job_title": "on",
        "order_job_title": "5",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(("role", "shown"), [("revops", 2), ("manager", 1), ("sdr", 0)])
def test_the_settings_hub_lists_the_pages_each_role_may_open(client, role, shown, request):
    client.force_login(request.getfixturevalue(role) if role != "sdr" else _sdr())

    page = client.get("/settings/").content.decode()

    assert ("Web-to-lead forms" in page) is (shown >= 1)
    assert ("Intake keys" in page) is (shown == 2)


def _sdr():
    from tests.factories import UserFactory

    return UserFactory(sdr=True, username="rep")


def test_revops_creates_a_form_and_gets_the_snippet(client, revops):
    client.force_login(revops)

    created = client.post("/settings/web-forms/new/", form_post())

    form = WebForm.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/settings/web-forms/{form.pk}/"
    assert form.fields == ["first_name", "last_name", "email", "company_name", "job_title"]
    assert form.allowed_origins == ["https://www.acme.example", "https://blog.acme.example"]
    assert (form.source, form.campaign, form.created_by) == ("event", "Webinar Q3", revops)
    page = client.get(created["Location"]).content.decode()
    assert f"http://testserver/f/{form.key}/" in page  # the preview link
    assert "&lt;form method=&quot;post&quot; action=&quot;http://testserver/f/" in page
    assert 'data-testid="snippet-fetch"' in page


def test_a_bad_form_is_shown_again_with_its_problems(client, revops):
    client.force_login(revops)

    page = client.post(
        "/settings/web-forms/new/",
        form_post(name="", redirect_url="not a url", allowed_origins="www.acme.example"),
    )

    assert page.status_code == 400
    html = page.content.decode()
    assert "Give the form a name." in html
    assert "starting with https://" in html
    assert "scheme and host" in html
    assert not WebForm.objects.exists()


def test_revops_edits_a_form_and_a_stale_edit_is_refused(client, revops, web_form):
    client.force_login(revops)
    url = f"/settings/web-forms/{web_form.pk}/"

    saved = client.post(url, form_post(name="Demo request", version=web_form.version))
    stale = client.post(url, form_post(name="Lost update", version=web_form.version))

    assert saved.status_code == 302
    assert stale.status_code == 302  # back to the page, with a message
    web_form.refresh_from_db()
    assert web_form.name == "Demo request" and web_form.version == 2


def test_managers_read_forms_without_a_save_button(client, manager, web_form):
    client.force_login(manager)

    listed = client.get("/settings/web-forms/")
    page = client.get(f"/settings/web-forms/{web_form.pk}/")

    assert listed.status_code == 200 and page.status_code == 200
    assert 'data-testid="read-only"' in page.content.decode()
    assert 'data-testid="save-form"' not in page.content.decode()
    assert 'data-testid="new-form"' not in listed.content.decode()
    assert client.post(f"/settings/web-forms/{web_form.pk}/", form_post()).status_code == 403
    assert client.get("/settings/web-forms/new/").status_code == 403
    assert client.get("/settings/intake-keys/").status_code == 403


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_may_not_open_the_capture_settings(client, role, web_form):
    from tests.factories import UserFactory

    client.force_login(UserFactory(**{role: True}))

    assert client.get("/settings/web-forms/").status_code == 403
    assert client.get(f"/settings/web-forms/{web_form.pk}/").status_code == 403
    assert client.get("/settings/intake-keys/").status_code == 403


def test_the_secret_is_shown_once_on_the_page_after_the_one_that_makes_the_key(client, revops):
    client.force_login(revops)

    made = client.post("/settings/intake-keys/", {"name": "HubSpot workflow"})
    shown = client.get(made["Location"])
    reloaded = client.get(made["Location"])

    key = IntakeKey.objects.get()
    assert made.status_code == 302 and made["Location"] == "/settings/intake-keys/"
    html = shown.content.decode()
    assert shown.status_code == 200 and 'data-testid="new-secret"' in html
    value = re.search(r'value="(thk_[^"]+)"', html)
    assert value is not None
    assert value.group(1).startswith(f"{key.prefix}_")
    assert hash_secret(value.group(1)) == key.secret_hash
    assert "no-store" in shown["Cache-Control"]
    assert 'data-testid="new-secret"' not in reloaded.content.decode()
    assert key.prefix in reloaded.content.decode()


def test_revops_revokes_a_key_after_confirming_it(client, revops):
    key = intake_key_create(by=revops, name="Old Marketo").key
    client.force_login(revops)
    url = f"/settings/intake-keys/{key.pk}/revoke/"

    listed = client.get("/settings/intake-keys/").content.decode()
    asked = client.get(url)
    key.refresh_from_db()
    still_active = key.is_active
    response = client.post(url)

    # the list links to the question; it holds no form that revokes at one click
    assert f'href="{url}"' in listed and f'action="{url}"' not in listed
    html = asked.content.decode()
    assert asked.status_code == 200 and still_active
    assert "Old Marketo" in html and f"{key.prefix}_" in html and "X-Intake-Key" in html
    assert f'<form method="post" action="{url}"' in html
    assert 'data-testid="confirm-revoke"' in html and "<script>" not in html
    assert response.status_code == 302 and response["Location"] == "/settings/intake-keys/"
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == revops


def test_a_key_without_a_name_is_refused_on_the_page(client, revops):
    client.force_login(revops)

    page = client.post("/settings/intake-keys/", {"name": "  "})

    assert page.status_code == 400
    assert "Name the key" in page.content.decode()
    assert not IntakeKey.objects.exists()


# --- the walk-through's findings --------------------------------------------------------------

ALL_BAD = {
    "name": "",
    "redirect_url": "javascript:alert(1)",
    "allowed_origins": "www.acme.example",
    "order_first_name": "-3",
}


@pytest.mark.parametrize("page", ["new", "edit"])
def test_every_problem_of_a_web_form_is_shown_at_once(client, revops, web_form, page):
    client.force_login(revops)
    url = "/settings/web-forms/new/" if page == "new" else f"/settings/web-forms/{web_form.pk}/"

    response = client.post(url, form_post(**ALL_BAD, version=web_form.version))

    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 1." in html  # the form's own
    assert "Give the form a name." in html  # and the service's, in the same round
    assert "starting with https://" in html
    assert "www.acme.example: give each site as scheme and host" in html
    assert WebForm.objects.count() == 1
    web_form.refresh_from_db()
    assert web_form.name == "Demo request – website" and web_form.version == 1


def test_a_field_the_form_cannot_read_is_not_named_twice(client, revops):
    client.force_login(revops)

    response = client.post(
        "/settings/web-forms/new/", form_post(source="tv", redirect_url="javascript:x")
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice." in html
    assert "Choose the source its leads get" not in html  # the service saw no source
    assert "starting with https://" in html


def test_unticking_both_email_and_phone_is_refused_naming_them(client, revops, web_form):
    client.force_login(revops)
    url = f"/settings/web-forms/{web_form.pk}/"
    post = form_post(version=web_form.version)
    del post["show_email"]

    response = client.post(url, post)

    assert response.status_code == 400
    html = response.content.decode()
    message = "A lead needs a way to reach the person: show Work e-mail or Phone (or both)."
    assert message in html
    # beside the e-mail box, in the field chooser
    row = html[html.index('data-field="show_email"') :]
    assert row.index(message) < row.index("</tr>")
    web_form.refresh_from_db()
    assert "email" in web_form.fields and web_form.version == 1
    assert client.post(url, post | {"show_phone": "on"}).status_code == 302
    web_form.refresh_from_db()
    assert "phone" in web_form.fields and "email" not in web_form.fields


def test_history_names_fields_and_choices_as_the_page_does(client, revops, web_form):
    web_form_update(
        form_id=web_form.pk,
        by=revops,
        data={
            "source": "event",
            "fields": ["first_name", "last_name", "phone", "company_name"],
            "allowed_origins": ["https://www.acme.example"],
        },
    )
    client.force_login(revops)

    html = client.get(f"/settings/web-forms/{web_form.pk}/").content.decode()
    history = html[html.index('data-testid="settings-history"') :]

    assert "Fields shown:" in history
    assert "First name, Last name, Phone, Company" in history
    assert "First name, Last name, Work e-mail, Company, Job title, Country" in history
    assert "first_name" not in history and "company_name" not in history
    assert "Lead source:" in history and "Inbound" in history and "Event / webinar" in history
    assert "Allowed web sites:" in history
    assert ">event<" not in history and ">inbound<" not in history


def test_history_writes_moments_as_the_pages_do_in_the_readers_zone(client):
    revops = UserFactory(revops=True, username="revops-jkt", time_zone="Asia/Jakarta")
    key = intake_key_revoke(key_id=intake_key_create(by=revops, name="Marketo").key.pk, by=revops)
    moment = datetime.datetime(2026, 12, 2, 17, 47, tzinfo=datetime.UTC)
    IntakeKey.objects.filter(pk=key.pk).update(revoked_at=moment)
    CaptureChange.objects.filter(object_id=key.pk).exclude(old={}).update(
        at=moment, new={"revoked_at": moment.isoformat()}
    )
    client.force_login(revops)

    html = client.get("/settings/intake-keys/").content.decode()
    history = html[html.index('data-testid="settings-history"') :]

    # 17:47 UTC is 00:47 the next day in Jakarta (UTC+7)
    assert re.search(r"Revoked:</span>\s*(<[^>]+>\s*)*<strong[^>]*>3 Dec 2026, 00:47<", history)
    assert "Dec. 3" not in history and "a.m." not in history


def test_the_keys_history_spans_the_page_and_keeps_its_words_whole(client, revops):
    intake_key_create(by=revops, name="HubSpot workflow walk-through")
    client.force_login(revops)

    html = client.get("/settings/intake-keys/").content.decode()

    # not squeezed into the side column beside the keys: a row of its own, full width
    assert re.search(
        r'<div class="col-12">\s*<div class="capture-history">\s*'
        r'<section [^>]*data-testid="settings-history"',
        html,
    )
    assert "capture/settings.css" in html


def test_revoking_asks_nothing_of_a_key_already_revoked_and_nobody_else_may_ask(client, revops):
    key = intake_key_create(by=revops, name="Old Marketo").key
    intake_key_revoke(key_id=key.pk, by=revops)
    url = f"/settings/intake-keys/{key.pk}/revoke/"
    client.force_login(revops)

    again = client.get(url)

    assert again.status_code == 302 and again["Location"] == "/settings/intake-keys/"
    client.force_login(UserFactory(manager=True, username="boss"))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403


def test_a_key_made_is_not_made_again_by_a_reload(client, revops):
    client.force_login(revops)

    made = client.post("/settings/intake-keys/", {"name": "HubSpot workflow"}, follow=True)
    client.get("/settings/intake-keys/")  # the reload: a GET, the post is not repeated

    assert made.redirect_chain == [("/settings/intake-keys/", 302)]
    assert IntakeKey.objects.count() == 1
    assert CaptureChange.objects.filter(kind="intake_key").count() == 1
    assert timezone.now() - IntakeKey.objects.get().created_at < datetime.timedelta(minutes=1)


def test_recent_posts_name_the_fields_a_refused_post_failed_on(client, revops, web_form):
    from django.test import Client

    from tests.capture.conftest import LEAD

    visitor = Client()
    visitor.post(f"/f/{web_form.key}/", LEAD | {"country": "Narnia", "email": "not-an-address"})
    visitor.post(f"/f/{web_form.key}/", LEAD)
    client.force_login(revops)
    page = client.get(f"/settings/web-forms/{web_form.pk}/").content.decode()
    refused = re.findall(r'data-testid="refused-fields">([^<]*)<', page)
    assert len(refused) == 1  # the lead that got in names nothing
    assert "Country" in refused[0] and "e-mail" in refused[0]
    assert "Narnia" not in page  # what a visitor typed is not kept


def test_the_javascript_snippet_warns_while_no_site_is_allowed(client, revops, web_form):
    client.force_login(revops)
    url = f"/settings/web-forms/{web_form.pk}/"
    WebForm.objects.filter(pk=web_form.pk).update(allowed_origins=[])
    assert 'data-testid="fetch-needs-origin"' in client.get(url).content.decode()
    WebForm.objects.filter(pk=web_form.pk).update(allowed_origins=["https://acme.example"])
    assert 'data-testid="fetch-needs-origin"' not in client.get(url).content.decode()
