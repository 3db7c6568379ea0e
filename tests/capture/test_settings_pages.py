"""RevOps' capture settings in the browser: the web forms page (create, edit, snippet,
preview link, counts), read-only for managers, refused to reps; the intake keys page
(the secret shown once, revoke), RevOps only; both listed on the Settings hub."""

from __future__ import annotations

import pytest

from capture.models import IntakeKey, WebForm
from capture.services.keys import intake_key_create

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


def test_the_secret_is_shown_once_on_the_page_that_makes_the_key(client, revops):
    client.force_login(revops)

    made = client.post("/settings/intake-keys/", {"name": "HubSpot workflow"})
    later = client.get("/settings/intake-keys/")

    key = IntakeKey.objects.get()
    html = made.content.decode()
    assert made.status_code == 200 and 'data-testid="new-secret"' in html
    assert f'value="{key.prefix}_' in html
    assert "no-store" in made["Cache-Control"]
    assert 'data-testid="new-secret"' not in later.content.decode()
    assert key.prefix in later.content.decode()


def test_revops_revokes_a_key_from_the_page(client, revops):
    key = intake_key_create(by=revops, name="Old Marketo").key
    client.force_login(revops)

    response = client.post(f"/settings/intake-keys/{key.pk}/revoke/")

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == revops


def test_a_key_without_a_name_is_refused_on_the_page(client, revops):
    client.force_login(revops)

    page = client.post("/settings/intake-keys/", {"name": "  "})

    assert page.status_code == 400
    assert "Name the key" in page.content.decode()
    assert not IntakeKey.objects.exists()
