"""RevOps' leads settings (routing rules, reasons): the services validate and audit every
change, the pages work for RevOps, read-only for managers, 403 for reps; the Django admin
saves through the same services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.exceptions import NotAllowed, ValidationFailed
from crm.navigation import settings_pages_for
from leads.models import (
    DisqualificationReason,
    RejectionReason,
    RoutingFallback,
    RoutingRule,
    SettingChange,
)
from leads.services import settings as service
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="Jakarta Inbound")


@pytest.fixture
def rule(revops, team):
    return service.routing_rule_create(
        by=revops, data={"name": "Inbound", "team": team, "match_source": "inbound"}
    )


def _problems(caught) -> set[tuple[str, str | None]]:
    return {(p.code, p.field) for p in caught.value.problems}


# --- the services -----------------------------------------------------------------------------


def test_creating_a_rule_puts_it_last_and_records_who_and_what(revops, team):
    first = service.routing_rule_create(by=revops, data={"name": "First", "team": team})
    second = service.routing_rule_create(
        by=revops,
        data={
            "name": "  Events   in ID ",
            "team": team,
            "strategy": "territory",
            "match_source": "event",
            "match_country": "id",
            "match_campaign": "Expo 2026",
        },
    )

    assert (first.position, second.position) == (0, 1)
    assert second.name == "Events in ID" and second.match_country == "ID"
    change = SettingChange.objects.get(kind="routing_rule", object_id=second.pk)
    assert change.actor == revops and change.old == {}
    assert change.new["match_country"] == "ID" and change.new["team"] == "Jakarta Inbound"


def test_editing_a_rule_records_old_and_new_of_what_changed_only(revops, rule):
    edit = service.routing_rule_update(
        rule_id=rule.pk, by=revops, data={"match_territory": "East Java", "name": "Inbound"}
    )

    assert edit.old == {"match_territory": ""} and edit.new == {"match_territory": "East Java"}
    change = SettingChange.objects.filter(object_id=rule.pk).first()
    assert (change.old, change.new) == (edit.old, edit.new)


def test_an_edit_that_changes_nothing_leaves_no_audit_row(revops, rule):
    before = SettingChange.objects.count()
    edit = service.routing_rule_update(rule_id=rule.pk, by=revops, data={"name": "Inbound"})
    assert not edit.changed and SettingChange.objects.count() == before


def test_a_rule_names_every_problem_at_once(revops, rule):
    with pytest.raises(ValidationFailed) as caught:
        service.routing_rule_create(
            by=revops,
            data={
                "name": "inbound",
                "strategy": "nearest",
                "match_source": "fax",
                "match_country": "Indonesia",
                "position": -1,
            },
        )
    assert _problems(caught) == {
        ("duplicate", "name"),
        ("required", "team"),
        ("invalid_choice", "strategy"),
        ("invalid_choice", "match_source"),
        ("invalid", "match_country"),
        ("out_of_range", "position"),
    }


def test_a_by_territory_rule_names_a_territory_segment_or_country(revops, team):
    with pytest.raises(ValidationFailed) as caught:
        service.routing_rule_create(
            by=revops,
            data={
                "name": "Territory",
                "team": team,
                "strategy": "territory",
                "match_source": "event",
            },
        )
    assert _problems(caught) == {("territory_required", "match_territory")}
    rule = service.routing_rule_create(
        by=revops,
        data={"name": "Territory", "team": team, "strategy": "territory", "match_country": "SG"},
    )
    assert rule.strategy == "territory"


def test_a_placeholder_is_no_rule_name(revops, team):
    with pytest.raises(ValidationFailed) as caught:
        service.routing_rule_create(by=revops, data={"name": "TBD", "team": team})
    assert _problems(caught) == {("required", "name")}


def test_unknown_fields_are_refused(revops, team):
    with pytest.raises(ValidationFailed) as caught:
        service.routing_rule_create(by=revops, data={"name": "X", "team": team, "owner": 1})
    assert _problems(caught) == {("unknown_field", "owner")}


def test_retiring_and_reordering_are_audited(revops, team, rule):
    other = service.routing_rule_create(by=revops, data={"name": "Other", "team": team})

    service.routing_rule_set_active(rule_id=rule.pk, by=revops, is_active=False)
    service.routing_rule_move(rule_id=other.pk, by=revops, offset=-1)

    rule.refresh_from_db()
    other.refresh_from_db()
    assert not rule.is_active
    assert (other.position, rule.position) == (0, 1)
    history = [(c.object_id, c.old, c.new) for c in SettingChange.objects.order_by("pk")][2:]
    assert history == [
        (rule.pk, {"is_active": True}, {"is_active": False}),
        (other.pk, {"position": 1}, {"position": 0}),
        (rule.pk, {"position": 0}, {"position": 1}),
    ]


def test_reorder_needs_every_rule_once(revops, team, rule):
    service.routing_rule_create(by=revops, data={"name": "Other", "team": team})
    with pytest.raises(ValidationFailed) as caught:
        service.routing_rules_reorder(by=revops, order=[rule.pk])
    assert _problems(caught) == {("invalid", "order")}


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_only_revops_changes_settings(role, team, rule):
    person = UserFactory(**{role: True})
    with pytest.raises(NotAllowed):
        service.routing_rule_create(by=person, data={"name": "Mine", "team": team})
    with pytest.raises(NotAllowed):
        service.routing_rule_update(rule_id=rule.pk, by=person, data={"name": "Mine"})
    with pytest.raises(NotAllowed):
        service.reason_create(kind="rejection", by=person, data={"label": "Too far"})
    assert not SettingChange.objects.exclude(actor__role="revops").exists()


def test_a_new_reason_gets_a_code_from_its_label_and_an_audit_row(revops):
    reason = service.reason_create(kind="rejection", by=revops, data={"label": "No budget  yet"})
    again = service.reason_create(kind="disqualification", by=revops, data={"label": "No budget"})

    assert (reason.code, reason.label, reason.is_active) == ("no-budget-yet", "No budget yet", True)
    assert isinstance(again, DisqualificationReason) and again.code == "no-budget"
    assert reason.position == RejectionReason.objects.count() - 1
    change = SettingChange.objects.get(kind="rejection_reason", object_id=reason.pk)
    assert change.new["label"] == "No budget yet" and change.actor == revops


def test_a_reason_is_relabelled_and_retired_but_keeps_its_code(revops):
    reason = RejectionReason.objects.get(code="duplicate")

    service.reason_update(
        kind="rejection", reason_id=reason.pk, by=revops, data={"label": "Duplicate lead"}
    )
    service.reason_set_active(kind="rejection", reason_id=reason.pk, by=revops, is_active=False)
    with pytest.raises(ValidationFailed) as caught:
        service.reason_update(kind="rejection", reason_id=reason.pk, by=revops, data={"code": "x"})

    reason.refresh_from_db()
    assert (reason.label, reason.is_active, reason.code) == ("Duplicate lead", False, "duplicate")
    assert _problems(caught) == {("read_only", "code")}
    assert [c.new for c in SettingChange.objects.filter(object_id=reason.pk).order_by("pk")] == [
        {"label": "Duplicate lead"},
        {"is_active": False},
    ]


def test_the_last_active_reason_of_a_list_stays(revops):
    *others, last = list(DisqualificationReason.objects.all())
    DisqualificationReason.objects.filter(pk__in=[r.pk for r in others]).update(is_active=False)
    with pytest.raises(ValidationFailed) as caught:
        service.reason_set_active(
            kind="disqualification", reason_id=last.pk, by=revops, is_active=False
        )
    assert _problems(caught) == {("last_active", "is_active")}


def test_a_reason_names_every_problem_at_once(revops):
    with pytest.raises(ValidationFailed) as caught:
        service.reason_create(
            kind="rejection",
            by=revops,
            data={"label": "Already a customer", "code": "Not A Slug", "position": "first"},
        )
    assert _problems(caught) == {
        ("duplicate", "label"),
        ("invalid", "code"),
        ("out_of_range", "position"),
    }


def test_the_defaults_are_there():
    assert RejectionReason.objects.filter(is_active=True).count() == 8
    assert DisqualificationReason.objects.filter(is_active=True).count() == 8
    assert RoutingFallback.objects.filter(pk=RoutingFallback.SINGLETON).exists()


# --- the pages --------------------------------------------------------------------------------


def _pages(rule) -> list[str]:
    reason = RejectionReason.objects.get(code="other")
    return [
        reverse("leads:settings_routing"),
        reverse("leads:settings_routing_edit", args=[rule.pk]),
        reverse("leads:settings_reasons"),
        reverse("leads:settings_reason_edit", args=["rejection", reason.pk]),
        reverse("leads:settings_history"),
        reverse("leads:settings_history") + "?kind=routing_rule",
    ]


def test_revops_opens_every_settings_page_with_its_buttons(client, revops, rule):
    client.force_login(revops)
    for url in [*_pages(rule), reverse("leads:settings_routing_new")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="read-only"' not in response.content.decode(), url
    page = client.get(reverse("leads:settings_routing")).content.decode()
    assert 'data-testid="new-rule"' in page and "Retire" in page


def test_managers_read_the_settings_without_buttons(client, manager, rule):
    client.force_login(manager)
    for url in _pages(rule):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="read-only"' in response.content.decode(), url
    edit = client.get(reverse("leads:settings_routing_edit", args=[rule.pk])).content.decode()
    assert 'data-testid="save-rule"' not in edit and "disabled" in edit
    assert client.get(reverse("leads:settings_routing_new")).status_code == 403


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_get_403_on_every_settings_page(client, role, rule):
    client.force_login(UserFactory(**{role: True}))
    for url in [*_pages(rule), reverse("leads:settings_routing_new")]:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_no_one_but_revops_posts_a_settings_change(client, role, team, rule):
    client.force_login(UserFactory(**{role: True}))
    reason = RejectionReason.objects.get(code="other")
    posts = [
        (reverse("leads:settings_routing_new"), {"name": "Mine", "team": team.pk}),
        (reverse("leads:settings_routing_edit", args=[rule.pk]), {"name": "Mine"}),
        (reverse("leads:settings_routing_active", args=[rule.pk]), {"is_active": "0"}),
        (reverse("leads:settings_routing_move", args=[rule.pk]), {"direction": "down"}),
        (reverse("leads:settings_reason_new", args=["rejection"]), {"label": "Mine"}),
        (reverse("leads:settings_reason_edit", args=["rejection", reason.pk]), {"label": "M"}),
        (
            reverse("leads:settings_reason_active", args=["rejection", reason.pk]),
            {"is_active": "0"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert SettingChange.objects.exclude(actor__role="revops").count() == 0
    rule.refresh_from_db()
    assert rule.name == "Inbound" and rule.is_active


def test_revops_creates_and_edits_a_rule_in_the_browser(client, revops, team):
    client.force_login(revops)
    response = client.post(
        reverse("leads:settings_routing_new"),
        {
            "name": "Enterprise Indonesia",
            "strategy": "territory",
            "team": team.pk,
            "match_segment": "enterprise",
            "match_country": "id",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Enterprise Indonesia")
    assert (rule.match_country, rule.is_active, rule.team) == ("ID", True, team)

    response = client.post(
        reverse("leads:settings_routing_edit", args=[rule.pk]),
        {
            "name": "Enterprise Indonesia",
            "position": "3",
            "strategy": "territory",
            "team": team.pk,
            "match_segment": "enterprise",
            "match_country": "ID",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.position == 3 and not rule.is_active
    page = client.get(reverse("leads:settings_routing_edit", args=[rule.pk])).content.decode()
    assert page.count('data-testid="settings-change"') == 2


def test_bad_rule_input_comes_back_on_the_fields_not_a_500(client, revops):
    client.force_login(revops)
    response = client.post(
        reverse("leads:settings_routing_new"),
        {"name": "", "strategy": "territory", "match_country": "Indonesia", "position": "x"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) >= {"name", "team", "match_country", "position"}
    assert not RoutingRule.objects.exists()


def test_revops_adds_relabels_and_retires_reasons_in_the_browser(client, revops):
    client.force_login(revops)
    response = client.post(
        reverse("leads:settings_reason_new", args=["disqualification"]),
        {"label": "Government agency", "is_active": "on"},
    )
    assert response.status_code == 302
    reason = DisqualificationReason.objects.get(label="Government agency")

    client.post(
        reverse("leads:settings_reason_edit", args=["disqualification", reason.pk]),
        {"label": "Government or public agency", "is_active": "on", "position": "2"},
    )
    client.post(
        reverse("leads:settings_reason_active", args=["disqualification", reason.pk]),
        {"is_active": "0"},
    )

    reason.refresh_from_db()
    assert (reason.label, reason.position, reason.is_active) == (
        "Government or public agency",
        2,
        False,
    )
    assert reason.code == "government-agency"
    page = client.get(reverse("leads:settings_history")).content.decode()
    assert "Government or public agency" in page and "Disqualification reason" in page


def test_a_duplicate_reason_label_is_a_field_error(client, revops):
    client.force_login(revops)
    response = client.post(
        reverse("leads:settings_reason_new", args=["rejection"]), {"label": "No buying intent"}
    )
    assert response.status_code == 400
    assert "label" in response.context["form"].errors


def test_an_unknown_list_of_reasons_is_a_404(client, revops):
    client.force_login(revops)
    assert client.get(reverse("leads:settings_reason_new", args=["lost"])).status_code == 404


def test_the_tester_shows_the_rule_and_the_next_sdr_and_moves_nothing(client, manager, team, rule):
    a = UserFactory(sdr=True, team=team, first_name="Ayu", last_name="Putri")
    UserFactory(sdr=True, team=team)
    client.force_login(manager)

    for _ in range(2):
        response = client.get(reverse("leads:settings_routing"), {"test": "1", "source": "inbound"})
        assert response.context["decision"].rule == rule
        assert response.context["decision"].owner == a
        assert "Ayu Putri" in response.content.decode()

    rule.refresh_from_db()
    assert rule.last_assigned is None


def test_the_tester_asks_for_a_country_code_not_a_length(client, manager):
    client.force_login(manager)

    response = client.get(reverse("leads:settings_routing"), {"test": "1", "country": "Indonesia"})

    assert response.status_code == 200
    assert response.context["tester"].errors["country"] == [
        "Enter the two-letter country code, such as ID or SG."
    ]


def test_the_settings_hub_lists_the_pages_for_revops_and_managers_only(revops, manager):
    for user in (revops, manager):
        names = {page.url_name for page in settings_pages_for(user)}
        assert {"leads:settings_routing", "leads:settings_reasons"} <= names
    for role in ("sdr", "ae"):
        names = {page.url_name for page in settings_pages_for(UserFactory(**{role: True}))}
        assert not names & {"leads:settings_routing", "leads:settings_reasons"}


def test_the_hub_page_links_to_the_leads_settings(client, revops):
    client.force_login(revops)
    page = client.get(reverse("settings")).content.decode()
    assert reverse("leads:settings_routing") in page
    assert reverse("leads:settings_reasons") in page


# --- the Django admin -------------------------------------------------------------------------


def test_the_admin_saves_rules_through_the_service(client, team):
    superuser = UserFactory(admin=True)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:leads_routingrule_add"),
        {
            "name": "From admin",
            "position": "0",
            "strategy": "round_robin",
            "team": team.pk,
            "is_active": "on",
            "match_source": "",
            "match_segment": "",
            "match_territory": "",
            "match_country": "sg",
            "match_campaign": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get(name="From admin")
    assert rule.match_country == "SG"
    assert SettingChange.objects.get(object_id=rule.pk, kind="routing_rule").actor == superuser


def test_the_admin_shows_service_problems_on_the_form(client, team):
    client.force_login(UserFactory(admin=True))
    response = client.post(
        reverse("admin:leads_routingrule_add"),
        {
            "name": "By territory",
            "position": "0",
            "strategy": "territory",
            "team": team.pk,
            "match_source": "",
            "match_segment": "",
            "match_territory": "",
            "match_country": "",
            "match_campaign": "",
        },
    )
    assert response.status_code == 200
    assert "names a territory, a segment or a country" in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_the_admin_saves_reasons_through_the_service(client):
    superuser = UserFactory(admin=True)
    client.force_login(superuser)
    reason = RejectionReason.objects.get(code="other")

    response = client.post(
        reverse("admin:leads_rejectionreason_change", args=[reason.pk]),
        {"code": "other", "label": "Something else", "position": "7", "is_active": "on"},
    )

    assert response.status_code == 302
    reason.refresh_from_db()
    assert reason.label == "Something else"
    change = SettingChange.objects.get(kind="rejection_reason", object_id=reason.pk)
    assert change.new == {"label": "Something else"} and change.actor == superuser
