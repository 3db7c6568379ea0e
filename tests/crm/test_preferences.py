"""Personal settings: the page (/settings/me/), the API (/api/v1/me/), the theme switch,
and that the choices are honoured — instants in the person's zone, pages in their
language, notifications on the channels they chose, none about their own actions."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from crm.exceptions import NotAllowed, StaleVersion, ValidationFailed
from crm.models import Notification, OutboxMessage, PreferenceChange, User
from crm.preferences import notification_settings, user_update_preferences
from crm.services import notifications_deliver, notify
from crm.tasks import notification_email_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
PAGE = "/settings/me/"
HANDOFF = Notification.Kind.HANDOFF
ASSIGNMENT = Notification.Kind.ASSIGNMENT


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def errors(response) -> dict[str | None, str]:
    return {e["field"]: e["code"] for e in response.json()["errors"]}


def form_data(user: User, **overrides: object) -> dict[str, object]:
    """The settings form as the page posts it, with the user's current values."""
    data: dict[str, object] = {
        "time_zone": user.time_zone,
        "language": user.language,
        "theme": user.theme,
        "version": user.preferences_version,
    }
    for kind, channels in notification_settings(user).items():
        for channel, on in channels.items():
            if on:
                data[f"{kind}_{channel}"] = "on"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# --- the service --------------------------------------------------------------------------------


def test_a_change_is_recorded_old_to_new_and_bumps_the_version(sdr):
    edit = user_update_preferences(
        user=sdr,
        by=sdr,
        changes={
            "time_zone": "Asia/Jakarta",
            "theme": "dark",
            "notifications": {HANDOFF: {"email": False}},
        },
    )

    sdr.refresh_from_db()
    assert (sdr.time_zone, sdr.theme, sdr.preferences_version) == ("Asia/Jakarta", "dark", 2)
    assert sdr.notification_preferences == {HANDOFF: {"email": False}}
    assert edit.change is not None
    assert edit.change.actor == sdr
    assert edit.change.changes == {
        "time_zone": ["UTC", "Asia/Jakarta"],
        "theme": ["system", "dark"],
        "notifications.handoff.email": [True, False],
    }


def test_nothing_changed_writes_no_row(sdr):
    edit = user_update_preferences(user=sdr, by=sdr, changes={"theme": "system"})

    assert edit.change is None
    assert not PreferenceChange.objects.exists()


def test_a_channel_back_at_its_default_is_not_stored(sdr):
    user_update_preferences(
        user=sdr, by=sdr, changes={"notifications": {HANDOFF: {"email": False}}}
    )
    user_update_preferences(user=sdr, by=sdr, changes={"notifications": {HANDOFF: {"email": True}}})

    sdr.refresh_from_db()
    assert sdr.notification_preferences == {}
    assert notification_settings(sdr)[HANDOFF] == {"in_app": True, "email": True}
    assert notification_settings(sdr)[ASSIGNMENT] == {"in_app": True, "email": None}


def test_only_the_person_changes_their_settings(sdr, manager):
    with pytest.raises(NotAllowed):
        user_update_preferences(user=sdr, by=manager, changes={"theme": "dark"})


def test_a_stale_version_is_refused(sdr):
    user_update_preferences(user=sdr, by=sdr, changes={"theme": "dark"})

    with pytest.raises(StaleVersion):
        user_update_preferences(user=sdr, by=sdr, changes={"theme": "light"}, expected_version=1)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "invalid_time_zone"),
        ({"time_zone": "localtime"}, "time_zone", "invalid_time_zone"),
        ({"language": "fr"}, "language", "invalid_choice"),
        ({"theme": "sepia"}, "theme", "invalid_choice"),
        ({"notifications": {"fax": {"email": False}}}, "notifications.fax", "unknown_kind"),
        (
            {"notifications": {HANDOFF: {"sms": False}}},
            "notifications.handoff.sms",
            "unknown_field",
        ),
        (
            {"notifications": {ASSIGNMENT: {"email": True}}},
            "notifications.assignment.email",
            "not_emailed",
        ),
        ({"avatar": "x"}, "avatar", "unknown_field"),
    ],
)
def test_what_the_rules_refuse_names_its_field(sdr, changes, field, code):
    with pytest.raises(ValidationFailed) as refused:
        user_update_preferences(user=sdr, by=sdr, changes=changes)

    assert [(p.field, p.code) for p in refused.value.problems] == [(field, code)]


# --- the API ------------------------------------------------------------------------------------


def test_get_me_answers_the_settings_with_the_version_as_etag(sdr):
    response = api(sdr).get(ME)

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["username"] == "sdr"
    assert (body["time_zone"], body["language"], body["theme"]) == ("UTC", "", "system")
    assert body["notifications"][HANDOFF] == {"in_app": True, "email": True}
    assert body["notifications"][ASSIGNMENT] == {"in_app": True, "email": None}
    assert set(body["notifications"]) == set(Notification.Kind.values)


def test_patch_me_changes_and_answers_the_new_version(sdr):
    response = api(sdr).patch(
        ME,
        {
            "time_zone": "Asia/Makassar",
            "language": "id",
            "notifications": {HANDOFF: {"in_app": False}},
        },
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 200, response.json()
    assert response["ETag"] == '"2"'
    body = response.json()
    assert (body["time_zone"], body["language"], body["version"]) == ("Asia/Makassar", "id", 2)
    assert body["notifications"][HANDOFF] == {"in_app": False, "email": True}
    assert PreferenceChange.objects.get().changes["language"] == ["", "id"]


def test_a_bad_time_zone_is_a_400_naming_time_zone(sdr):
    response = api(sdr).patch(ME, {"time_zone": "Jakarta"}, format="json")

    assert response.status_code == 400
    assert errors(response) == {"time_zone": "invalid_time_zone"}


def test_every_problem_of_the_body_comes_back_at_once(sdr):
    response = api(sdr).patch(
        ME,
        {
            "time_zone": "Nowhere/Land",
            "theme": "sepia",
            "colour": "blue",
            "role": "admin",
            "notifications": {"fax": {}, HANDOFF: {"email": "maybe"}},
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == {
        "time_zone": "invalid_time_zone",
        "theme": "invalid_choice",
        "colour": "unknown_field",
        "role": "unknown_field",
        "notifications.fax": "unknown_field",
        "notifications.handoff.email": "invalid",
    }
    sdr.refresh_from_db()
    assert (sdr.time_zone, sdr.theme) == ("UTC", "system")


@pytest.mark.parametrize("body", ["[]", '"dark"', "null", "42"])
def test_a_body_that_is_no_object_is_a_400(sdr, body):
    response = api(sdr).patch(ME, body, content_type="application/json")

    assert response.status_code == 400


def test_a_stale_if_match_is_a_412(sdr):
    user_update_preferences(user=sdr, by=sdr, changes={"theme": "dark"})

    response = api(sdr).patch(ME, {"theme": "light"}, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 412
    sdr.refresh_from_db()
    assert sdr.theme == "dark"


def test_the_api_needs_a_signed_in_user():
    assert APIClient().get(ME).status_code == 401


# --- the page -----------------------------------------------------------------------------------


def test_the_user_menu_links_to_the_page_for_every_role(client):
    for role in ("sdr", "ae", "manager", "revops"):
        user = UserFactory(role=role)
        client.force_login(user)
        home = client.get("/").content.decode()
        assert f'href="{PAGE}"' in home
        page = client.get(PAGE)
        assert page.status_code == 200
        assert 'data-testid="preferences-form"' in page.content.decode()


def test_the_settings_hub_lists_it_for_managers_and_revops_and_reps_still_see_no_hub(
    client, manager, revops, sdr
):
    for user in (manager, revops):
        client.force_login(user)
        links = {url for _page, url in client.get(reverse("settings")).context["pages"]}
        assert PAGE in links
    client.force_login(sdr)
    assert client.get(reverse("settings")).status_code == 403


def test_saving_the_page_changes_the_settings(client, sdr):
    client.force_login(sdr)
    data = form_data(sdr, time_zone="Europe/Berlin", theme="dark")
    data.pop(f"{HANDOFF}_email")

    response = client.post(PAGE, data)

    assert response.status_code == 302
    sdr.refresh_from_db()
    assert (sdr.time_zone, sdr.theme) == ("Europe/Berlin", "dark")
    assert notification_settings(sdr)[HANDOFF] == {"in_app": True, "email": False}
    page = client.get(PAGE).content.decode()
    assert "Your settings are saved." in page
    assert re.search(r'<option value="Europe/Berlin" selected>', page)


def test_the_page_refuses_a_bad_time_zone_on_its_field(client, sdr):
    client.force_login(sdr)

    response = client.post(PAGE, form_data(sdr, time_zone="Mars/Base"))

    assert response.status_code == 400
    assert response.context["form"].errors["time_zone"]
    sdr.refresh_from_db()
    assert sdr.time_zone == "UTC"


def test_the_page_is_rendered_in_the_chosen_theme(client, sdr):
    client.force_login(sdr)
    follows_device = client.get(PAGE).content.decode()
    assert "data-theme=" not in follows_device.split("<head>")[0]
    assert 'id="theme-dark" media="(prefers-color-scheme: dark)"' in follows_device

    user_update_preferences(user=sdr, by=sdr, changes={"theme": "dark"})
    dark = client.get(PAGE).content.decode()
    assert '<html lang="en" data-theme="dark" data-bs-theme="dark">' in dark
    assert 'id="theme-dark" media="all"' in dark
    assert '<meta name="color-scheme" content="dark">' in dark

    user_update_preferences(user=sdr, by=sdr, changes={"theme": "light"})
    light = client.get(PAGE).content.decode()
    assert 'data-theme="light"' in light
    assert 'id="theme-dark" media="not all"' in light


def test_the_top_bar_switch_saves_the_theme(client, sdr):
    client.force_login(sdr)

    by_script = client.post(
        reverse("preferences:theme"), {"theme": "dark"}, HTTP_ACCEPT="application/json"
    )
    assert by_script.json() == {"theme": "dark"}

    without_script = client.post(
        reverse("preferences:theme"), {"theme": "light", "next": "/leads/"}
    )
    assert without_script.status_code == 302
    assert without_script["Location"] == "/leads/"
    sdr.refresh_from_db()
    assert sdr.theme == "light"
    assert PreferenceChange.objects.filter(user=sdr).count() == 2


def test_the_switch_refuses_a_theme_it_does_not_know(client, sdr):
    client.force_login(sdr)

    client.post(reverse("preferences:theme"), {"theme": "sepia", "next": "/"})

    sdr.refresh_from_db()
    assert sdr.theme == "system"


# --- honoured: time zone and language ----------------------------------------------------------


def test_instants_are_shown_in_the_persons_zone(client, sdr):
    notification = Notification.objects.create(recipient=sdr, kind=HANDOFF, message="Hand-off")
    moment = datetime.datetime(2025, 3, 4, 0, 30, tzinfo=datetime.UTC)
    Notification.objects.filter(pk=notification.pk).update(created_at=moment)
    client.force_login(sdr)

    user_update_preferences(user=sdr, by=sdr, changes={"time_zone": "Asia/Jakarta"})
    assert "Tue 4 Mar 2025, 07:30 WIB" in client.get("/notifications/").content.decode()

    api(sdr).patch(ME, {"time_zone": "America/New_York"}, format="json")
    assert "Mon 3 Mar 2025, 19:30 EST" in client.get("/notifications/").content.decode()


def test_pages_speak_the_chosen_language(client, sdr):
    client.force_login(sdr)
    english = client.get("/")
    assert '<html lang="en"' in english.content.decode()

    user_update_preferences(user=sdr, by=sdr, changes={"language": "id"})
    indonesian = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US")

    assert '<html lang="id"' in indonesian.content.decode()
    assert indonesian["Content-Language"] == "id"


def test_a_blank_language_follows_the_browser(client, sdr):
    client.force_login(sdr)

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="id,en;q=0.5")

    assert '<html lang="id"' in page.content.decode()


def test_the_language_does_not_outlive_the_request(client, sdr):
    from django.utils import translation

    user_update_preferences(user=sdr, by=sdr, changes={"language": "id"})
    client.force_login(sdr)
    client.get("/")

    assert translation.get_language() != "id"


# --- honoured: notifications --------------------------------------------------------------------


def _handoff(*people: User, by: User | None = None) -> list[Notification]:
    return notify(
        recipients=people, kind=HANDOFF, message="Kopi Kita is yours", url="/x/", email=True, by=by
    )


def test_an_email_off_kind_sends_no_email_but_still_shows_in_the_app(
    sdr, ae, django_capture_on_commit_callbacks
):
    user_update_preferences(user=ae, by=ae, changes={"notifications": {HANDOFF: {"email": False}}})

    with django_capture_on_commit_callbacks(execute=True):
        _handoff(ae, by=sdr)

    assert Notification.objects.filter(recipient=ae, kind=HANDOFF).count() == 1
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_an_in_app_off_kind_is_only_emailed(sdr, ae, django_capture_on_commit_callbacks):
    user_update_preferences(user=ae, by=ae, changes={"notifications": {HANDOFF: {"in_app": False}}})

    with django_capture_on_commit_callbacks(execute=True):
        _handoff(ae, by=sdr)

    assert not Notification.objects.filter(recipient=ae).exists()
    [sent] = mail.outbox
    assert sent.to == [ae.email]
    assert sent.subject == "Kopi Kita is yours"
    assert sent.body.endswith("/x/")


def test_both_channels_off_tells_nobody(sdr, ae, django_capture_on_commit_callbacks):
    user_update_preferences(
        user=ae, by=ae, changes={"notifications": {HANDOFF: {"in_app": False, "email": False}}}
    )

    with django_capture_on_commit_callbacks(execute=True):
        _handoff(ae, by=sdr)

    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_each_recipient_gets_what_they_chose(sdr, ae, manager, django_capture_on_commit_callbacks):
    user_update_preferences(user=ae, by=ae, changes={"notifications": {HANDOFF: {"email": False}}})

    with django_capture_on_commit_callbacks(execute=True):
        _handoff(ae, manager, by=sdr)

    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "ae",
        "manager",
    }
    assert [m.to for m in mail.outbox] == [[manager.email]]


def test_nobody_is_notified_of_their_own_action(sdr, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[sdr, manager], kind=ASSIGNMENT, message="New lead for you", by=sdr)

    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["manager"]


def test_an_sdr_who_creates_a_lead_is_not_told_it_is_hers(sdr):
    from leads import services as lead_services
    from leads.models import Source

    lead_services.lead_create(
        by=sdr,
        data={
            "company_name": "Kopi Kita",
            "last_name": "Santoso",
            "email": "budi@kopikita.example",
            "source": Source.INBOUND,
        },
        owner=sdr,
    )

    assert not Notification.objects.filter(recipient=sdr).exists()


def test_bulk_written_notifications_honour_preferences_too(
    sdr, ae, django_capture_on_commit_callbacks
):
    # The SLA sweep hands over notifications that know only their recipient's id.
    user_update_preferences(
        user=ae, by=ae, changes={"notifications": {Notification.Kind.SLA_WARNING: {"email": False}}}
    )
    user_update_preferences(
        user=sdr,
        by=sdr,
        changes={"notifications": {Notification.Kind.SLA_WARNING: {"in_app": False}}},
    )
    warnings = [
        Notification(recipient_id=person.pk, kind=Notification.Kind.SLA_WARNING, message="Due soon")
        for person in (sdr, ae)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        rows = notifications_deliver(warnings, email=True)

    assert [row.recipient_id for row in rows] == [ae.pk]
    assert [m.to for m in mail.outbox] == [[sdr.email]]


def test_an_email_turned_off_after_writing_is_not_sent(ae):
    [notification] = notify(recipients=[ae], kind=HANDOFF, message="Kopi Kita is yours")
    user_update_preferences(user=ae, by=ae, changes={"notifications": {HANDOFF: {"email": False}}})

    assert notification_email_task(notification_id=notification.pk) is False
    assert mail.outbox == []
