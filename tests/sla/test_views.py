"""The SLA pages and the notifications page through Django's test client."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from crm.models import Notification
from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange, SlaTimer
from sla.sweep import timers_sweep
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import reports_to, timer_of

pytestmark = pytest.mark.django_db


def _policy_post(policy: SlaPolicy, **changes) -> dict:
    """The edit form as the browser would submit it, with `changes` applied."""
    data = {
        "name": policy.name,
        "start_event": policy.start_event,
        "stop_event": policy.stop_event,
        "target_value": policy.target_value,
        "target_unit": policy.target_unit,
        "warn_at_percent": policy.warn_at_percent,
        "calendar": policy.calendar_id or "",
        "applies_to_sources": policy.applies_to_sources,
        "applies_to_segments": policy.applies_to_segments,
        "is_active": "on" if policy.is_active else "",
    }
    for index, step in enumerate(policy.escalation_chain, start=1):
        data[f"esc_{index}_to"] = step["to"]
        data[f"esc_{index}_after"] = step["after_minutes"]
        data[f"esc_{index}_unit"] = "minutes"
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


# --- RevOps edits in the browser --------------------------------------------------------------


def test_revops_edits_a_policy_and_the_change_is_audited(client, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(revops)

    response = client.post(
        reverse("sla:policy", args=[policy.pk]),
        _policy_post(policy, target_value=12, esc_1_after=2, esc_1_unit="hours"),
        follow=True,
    )

    assert response.status_code == 200
    assert "Saved. New timers use the new settings." in response.content.decode()
    change = SlaPolicyChange.objects.get(policy=policy)
    assert change.actor == revops
    assert change.old["target_value"] == 24 and change.new["target_value"] == 12
    assert change.old["escalation_chain"][0] == {"to": "manager", "after_minutes": 240}
    assert change.new["escalation_chain"][0] == {"to": "manager", "after_minutes": 120}
    # the history on the page reads old -> new
    page = response.content.decode()
    assert 'data-testid="sla-history"' in page and "Manager after 2 h" in page


def test_revops_re_plans_running_timers_from_the_browser(client, revops, make_lead):
    lead = make_lead()
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(revops)

    response = client.post(
        reverse("sla:policy", args=[policy.pk]),
        _policy_post(policy, target_value=2, replan_running="on"),
        follow=True,
    )

    assert "1 running timers were re-planned." in response.content.decode()
    timer = timer_of(lead, "first-contact")
    assert timer.due_at - timer.started_at == datetime.timedelta(hours=2)


def test_the_form_shows_the_services_problems_on_the_fields(client, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(revops)

    response = client.post(
        reverse("sla:policy", args=[policy.pk]),
        _policy_post(policy, target_unit="business_hours", calendar="", esc_2_after=10),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Business hours and days are counted on a calendar" in page
    assert "Each level comes after the one before it" in page
    assert not SlaPolicyChange.objects.exists()


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_other_roles_may_not_edit_policies(client, role):
    user = UserFactory(role=role)
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(user)

    response = client.post(
        reverse("sla:policy", args=[policy.pk]), _policy_post(policy, target_value=1)
    )

    assert response.status_code == 403
    assert SlaPolicy.objects.get(pk=policy.pk).target_value == 24
    assert not SlaPolicyChange.objects.exists()
    assert client.get(reverse("sla:policy_new")).status_code == 403
    assert client.post(reverse("sla:calendar_new"), {"name": "X"}).status_code == 403


def test_managers_read_policies_without_a_save_button(client, manager):
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(manager)

    response = client.get(reverse("sla:policy", args=[policy.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Read-only" in page and "Save changes" not in page
    assert "disabled" in page


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_do_not_reach_the_sla_area(client, role):
    client.force_login(UserFactory(role=role))
    for name in ("sla:dashboard", "sla:policies", "sla:calendars"):
        assert client.get(reverse(name)).status_code == 403


def test_revops_creates_a_policy_in_the_browser(client, revops):
    client.force_login(revops)
    calendar = BusinessCalendar.objects.get()

    response = client.post(
        reverse("sla:policy_new"),
        {
            "key": "referral-first-touch",
            "name": "Referrals: first contact within 2 business hours",
            "start_event": "assigned",
            "stop_event": "first_contact",
            "target_value": 2,
            "target_unit": "business_hours",
            "warn_at_percent": 50,
            "calendar": calendar.pk,
            "applies_to_sources": ["referral"],
            "esc_1_to": "manager",
            "esc_1_after": 1,
            "esc_1_unit": "hours",
            "is_active": "on",
        },
    )

    policy = SlaPolicy.objects.get(key="referral-first-touch")
    assert response.status_code == 302
    assert response["Location"] == reverse("sla:policy", args=[policy.pk])
    assert policy.escalation_chain == [{"to": "manager", "after_minutes": 60}]
    assert policy.applies_to_sources == ["referral"]


def test_revops_edits_a_calendar_and_its_holidays(client, revops):
    calendar = BusinessCalendar.objects.get()
    client.force_login(revops)

    response = client.post(
        reverse("sla:calendar", args=[calendar.pk]),
        {
            "name": "Jakarta office",
            "time_zone": "Asia/Jakarta",
            "working_days": ["0", "1", "2", "3", "4"],
            "work_starts": "08:30",
            "work_ends": "17:30",
            "holiday_country": "ID",
            "holiday_subdivision": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Next public holidays" in response.content.decode()
    client.post(
        reverse("sla:holiday_add", args=[calendar.pk]),
        {"holiday-date": "2031-08-18", "holiday-name": "Company day"},
    )
    bad = client.post(
        reverse("sla:holiday_add", args=[calendar.pk]), {"holiday-date": "", "holiday-name": ""}
    )

    calendar.refresh_from_db()
    assert (calendar.name, calendar.time_zone) == ("Jakarta office", "Asia/Jakarta")
    assert calendar.work_starts == datetime.time(8, 30)
    assert calendar.holidays.get().name == "Company day"
    assert bad.status_code == 400
    assert CalendarChange.objects.filter(calendar=calendar).count() == 2


def test_policy_and_calendar_lists_render(client, revops):
    client.force_login(revops)
    policies = client.get(reverse("sla:policies")).content.decode()
    calendars = client.get(reverse("sla:calendars")).content.decode()
    assert "Accept or reject within 5 business days" in policies
    assert "5 business days" in policies and "Manager after 8 h" in policies
    assert "Mon–Fri" in calendars and "09:00–17:00" in calendars


# --- the overview --------------------------------------------------------------------------------


def test_a_manager_sees_their_teams_at_risk_and_overdue_clocks_only(client, owner, boss, make_lead):
    # given an overdue and an at-risk clock in the manager's team, and one elsewhere
    overdue = timer_of(make_lead(company_name="Overdue Co"), "first-contact")
    at_risk = timer_of(make_lead(company_name="At Risk Co"), "first-contact")
    stranger = UserFactory(sdr=True, team=TeamFactory(name="Elsewhere"))
    other = timer_of(make_lead(owner_=stranger, company_name="Elsewhere Co"), "first-contact")
    from django.utils import timezone

    now = timezone.now()
    SlaTimer.objects.filter(pk__in=[overdue.pk, other.pk]).update(
        due_at=now - datetime.timedelta(hours=1),
        warn_at=now - datetime.timedelta(hours=3),
        next_check_at=now - datetime.timedelta(hours=3),
    )
    SlaTimer.objects.filter(pk=at_risk.pk).update(
        warn_at=now - datetime.timedelta(minutes=5),
        next_check_at=now - datetime.timedelta(minutes=5),
    )
    timers_sweep(now=now)
    client.force_login(boss)

    response = client.get(reverse("sla:dashboard"))

    page = response.content.decode()
    assert response.status_code == 200
    overdue_panel = page.split('data-testid="sla-overdue"')[1].split("</section>")[0]
    at_risk_panel = page.split('data-testid="sla-at-risk"')[1].split("</section>")[0]
    assert "Overdue Co" in overdue_panel and "Elsewhere Co" not in page
    assert "At Risk Co" in at_risk_panel and "left" in at_risk_panel
    assert "Overdue 1 h" in overdue_panel and "Owner" in overdue_panel
    assert response.context["summary"].overdue == 1
    assert response.context["summary"].at_risk == 1


def test_revops_sees_every_team(client, revops, make_lead):
    stranger = reports_to(UserFactory(sdr=True), UserFactory(manager=True))
    make_lead(owner_=stranger, company_name="Elsewhere Co")
    client.force_login(revops)

    response = client.get(reverse("sla:dashboard"))

    assert response.context["scope_all"] is True
    assert response.context["summary"].running >= 2


def test_the_nav_shows_sla_to_managers_and_revops_only(client, manager, sdr):
    client.force_login(manager)
    labels = [str(label) for label, _url, _icon in client.get("/").context["nav_items"]]
    assert "SLA" in labels
    client.force_login(sdr)
    labels = [str(label) for label, _url, _icon in client.get("/").context["nav_items"]]
    assert "SLA" not in labels


# --- notifications ------------------------------------------------------------------------------


def test_the_bell_links_to_the_notifications_page(client, sdr):
    Notification.objects.create(recipient=sdr, kind="sla_breach", message="SLA breached: X")
    client.force_login(sdr)

    page = client.get("/").content.decode()

    assert f'href="{reverse("notifications:list")}"' in page
    assert "1 unread notification" in page


def test_notifications_list_mine_newest_first_and_mark_as_read(client, sdr):
    other = UserFactory(sdr=True)
    first = Notification.objects.create(recipient=sdr, kind="sla_warning", message="First")
    second = Notification.objects.create(
        recipient=sdr, kind="sla_breach", message="Second", url="/leads/1/"
    )
    Notification.objects.create(recipient=other, kind="sla_breach", message="Not mine")
    client.force_login(sdr)

    page = client.get(reverse("notifications:list")).content.decode()
    assert page.index("Second") < page.index("First") and "Not mine" not in page
    assert "2 unread notifications" in page

    client.post(reverse("notifications:read", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at is not None
    unread = client.get(reverse("notifications:list"), {"show": "unread"}).content.decode()
    assert "Second" in unread and ">First<" not in unread

    opened = client.get(reverse("notifications:open", args=[second.pk]))
    assert opened.status_code == 302 and opened["Location"] == "/leads/1/"
    second.refresh_from_db()
    assert second.read_at is not None


def test_mark_all_as_read_and_nobody_elses(client, sdr):
    other = UserFactory(sdr=True)
    Notification.objects.create(recipient=sdr, kind="sla_warning", message="A")
    Notification.objects.create(recipient=sdr, kind="sla_warning", message="B")
    theirs = Notification.objects.create(recipient=other, kind="sla_warning", message="C")
    client.force_login(sdr)

    response = client.post(reverse("notifications:read_all"), follow=True)

    assert "2 notifications marked as read." in response.content.decode()
    assert not Notification.objects.for_user(sdr).unread().exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404


def test_a_notification_never_redirects_off_site(client, sdr):
    evil = Notification.objects.create(
        recipient=sdr, kind="sla_breach", message="x", url="https://evil.example/"
    )
    client.force_login(sdr)
    response = client.get(reverse("notifications:open", args=[evil.pk]))
    assert response["Location"] == reverse("notifications:list")
