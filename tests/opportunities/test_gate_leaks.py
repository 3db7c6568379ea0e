"""The gate cannot leak after conversion (issue 10): a deal pending approval is not
pipeline and does not move, and an edited deal keeps the conversion's required data.

Each case fails on the code before the fix: a pending deal moved to Closed Won, and
`PATCH /api/v1/opportunities/{id}/` took the name "x", a close date of tomorrow or
0001-01-01 without a reason, and the currency "XXX".
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.exceptions import ValidationFailed
from crm.placeholders import is_placeholder
from opportunities import services
from opportunities.exceptions import PendingApproval
from opportunities.models import (
    ConversionPolicy,
    Opportunity,
    OpportunityEvent,
    Stage,
    StageChange,
)
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

PENDING = Opportunity.Approval.PENDING


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def team(db):
    """An AE with a manager, the manager's RevOps colleague, and an SDR."""
    manager = UserFactory(manager=True, username="boss")
    ae = UserFactory(ae=True, username="closer")
    ae.manager = manager
    ae.save()
    return {"ae": ae, "manager": manager, "revops": UserFactory(revops=True, username="ops")}


def _pending(owner, **kwargs) -> Opportunity:
    return OpportunityFactory(
        owner=owner,
        approval=PENDING,
        amount=Decimal("250000"),
        decision_criteria="Price, speed",
        **kwargs,
    )


# --- pending is not pipeline ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["Qualification", "Closed Won", "Closed Lost"])
def test_a_deal_pending_approval_cannot_move_stage(team, target):
    deal = _pending(team["ae"])

    for user in (team["ae"], team["manager"], team["revops"]):
        with pytest.raises(PendingApproval) as caught:
            services.opportunity_move_stage(
                opportunity_id=deal.pk,
                by=user,
                to=_stage(target),
                lost_reason="Price",
                lost_to_competitor="RouteCo",
            )
        assert caught.value.problems[0].code == "pending_approval"
        assert caught.value.http_status == 409

    deal.refresh_from_db()
    assert deal.stage == _stage("Discovery") and deal.version == 1
    assert not StageChange.objects.filter(opportunity=deal).exists()


def test_approval_lets_the_deal_move(team):
    deal = _pending(team["ae"])

    services.opportunity_approve(opportunity_id=deal.pk, by=team["manager"], note="CFO agreed")
    services.opportunity_move_stage(
        opportunity_id=deal.pk, by=team["ae"], to=_stage("Qualification")
    )

    deal.refresh_from_db()
    assert deal.stage == _stage("Qualification")


def test_the_api_refuses_to_move_a_pending_deal_with_a_code(team):
    deal = _pending(team["ae"])

    response = _api(team["ae"]).post(
        f"/api/v1/opportunities/{deal.pk}/stage/",
        {"stage": _stage("Closed Won").pk},
        format="json",
    )

    assert response.status_code == 409
    (error,) = response.json()["errors"]
    assert (error["code"], error["field"]) == ("pending_approval", "stage")
    assert Opportunity.objects.get(pk=deal.pk).stage == _stage("Discovery")


def test_the_board_refuses_a_drop_and_does_not_offer_the_drag(client, team):
    deal = _pending(team["ae"])
    moving = OpportunityFactory(owner=team["ae"], amount=Decimal("40000"))
    client.force_login(team["ae"])

    dropped = client.post(
        reverse("opportunities:stage", args=[deal.pk]),
        {"stage": _stage("Closed Won").pk, "version": 1},
        HTTP_ACCEPT="application/json",
    )
    board = client.get(reverse("opportunities:board"))

    assert dropped.status_code == 409
    assert dropped.json()["errors"][0]["code"] == "pending_approval"
    discovery = next(c for c in board.context["columns"] if c["stage"].name == "Discovery")
    # the pipeline column holds only the deal that counts; the pending one sits apart
    assert [card.pk for card in discovery["cards"]] == [moving.pk]
    assert [card.pk for card in discovery["pending_cards"]] == [deal.pk]
    assert discovery["count"] == 1 and discovery["totals"] == "USD\u00a040K"
    assert discovery["pending_count"] == 1 and discovery["pending_totals"] == "USD\u00a0250K"
    html = board.content.decode()
    assert html.count('data-testid="deal-card"') == 2
    assert html.count("data-draggable") == 1
    assert 'data-testid="pending-approval-discovery"' in html
    assert 'data-testid="pending-banner"' in html


def test_the_deal_page_hides_the_move_form_while_pending(client, team):
    deal = _pending(team["ae"])
    client.force_login(team["ae"])

    pending = client.get(reverse("opportunities:detail", args=[deal.pk]))
    refused = client.post(
        reverse("opportunities:stage", args=[deal.pk]),
        {"stage": _stage("Qualification").pk, "version": 1},
    )
    services.opportunity_approve(opportunity_id=deal.pk, by=team["manager"])
    approved = client.get(reverse("opportunities:detail", args=[deal.pk]))

    assert 'data-testid="move-stage"' not in pending.content.decode()
    assert 'data-testid="move-blocked"' in pending.content.decode()
    assert refused.status_code == 400
    assert "waits for a manager" in refused.content.decode()
    assert 'data-testid="move-stage"' in approved.content.decode()


def test_the_list_sets_pending_deals_apart(client, team):
    deal = _pending(team["ae"])
    OpportunityFactory(owner=team["ae"])
    client.force_login(team["ae"])

    html = client.get(reverse("opportunities:list")).content.decode()

    assert html.count('data-testid="opportunity-row"') == 2
    assert html.count("is-pending-approval") == 1
    assert f'data-pending="{deal.pk}"' in html


def test_the_pending_badge_says_what_pending_means(client, team):
    deal = _pending(team["ae"])
    client.force_login(team["ae"])

    html = client.get(reverse("opportunities:detail", args=[deal.pk])).content.decode()

    assert "cannot move between stages until a manager approves it" in html


# --- required data stays required -------------------------------------------------------------


def _patch(user, deal: Opportunity, data: dict):
    return _api(user).patch(f"/api/v1/opportunities/{deal.pk}/", data, format="json")


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"name": "x"}, "name", "name_format"),
        ({"name": "Acme - TBD - Routing"}, "name", "name_format"),
        ({"name": "TBD"}, "name", "required"),
        ({"expected_close_date": "2000-06-01"}, "expected_close_date", "in_the_past"),
        ({"expected_close_date": "9999-12-31"}, "expected_close_date", "out_of_range"),
        ({"currency": "XXX"}, "currency", "invalid_currency"),
        ({"currency": "XTS"}, "currency", "invalid_currency"),
        ({"next_step": "—"}, "next_step", "required"),
        ({"discount_notes": "TBD"}, "discount_notes", "placeholder"),
        ({"risks": "n/a"}, "risks", "required"),  # required by the policy: no placeholder
        ({"close_date_reason": "N/A"}, "close_date_reason", "placeholder"),
        ({"next_step_due": "2001-01-01"}, "next_step_due", "in_the_past"),
    ],
)
def test_patch_keeps_the_conversion_rules(team, data, field, code):
    deal = OpportunityFactory(owner=team["ae"], risks="Security review")

    response = _patch(team["ae"], deal, data)

    assert response.status_code == 400, response.json()
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    deal.refresh_from_db()
    assert deal.version == 1
    assert not OpportunityEvent.objects.filter(opportunity=deal).exists()


def test_a_close_date_outside_the_window_needs_a_reason(team):
    deal = OpportunityFactory(owner=team["ae"], close_date_reason="")

    tomorrow = _patch(team["ae"], deal, {"expected_close_date": _days(1).isoformat()})
    with_reason = _patch(
        team["ae"],
        deal,
        {
            "expected_close_date": _days(1).isoformat(),
            "close_date_reason": "Signature moved up: their fiscal year ends tomorrow.",
        },
    )

    assert tomorrow.status_code == 400
    assert [(e["field"], e["code"]) for e in tomorrow.json()["errors"]] == [
        ("expected_close_date", "close_date_outside_window")
    ]
    assert with_reason.status_code == 200, with_reason.json()
    deal.refresh_from_db()
    assert deal.expected_close_date == _days(1)


def test_a_placeholder_reason_is_no_reason(team):
    deal = OpportunityFactory(owner=team["ae"])

    response = _patch(
        team["ae"],
        deal,
        {"expected_close_date": _days(7).isoformat(), "close_date_reason": "TBD"},
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"expected_close_date"}


def test_clearing_the_reason_of_a_date_outside_the_window_is_refused(team):
    deal = OpportunityFactory(
        owner=team["ae"], expected_close_date=_days(20), close_date_reason="Renewal is fixed."
    )

    response = _patch(team["ae"], deal, {"close_date_reason": ""})

    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("close_date_reason", "close_date_outside_window")
    ]


def test_every_problem_comes_back_at_once_naming_its_field(team):
    deal = OpportunityFactory(owner=team["ae"])

    response = _patch(
        team["ae"],
        deal,
        {
            "name": "x",
            "expected_close_date": _days(1).isoformat(),
            "currency": "XXX",
            "next_step": "TBD",
        },
    )

    assert response.status_code == 400
    assert {e["field"]: e["code"] for e in response.json()["errors"]} == {
        "name": "name_format",
        "expected_close_date": "close_date_outside_window",
        "currency": "invalid_currency",
        "next_step": "required",
    }


def test_a_valid_edit_is_saved_and_audited(team):
    deal = OpportunityFactory(owner=team["ae"])
    name = "Acme Logistics - Routing Engine - Inbound speed"

    response = _patch(
        team["ae"],
        deal,
        {"name": name, "expected_close_date": _days(150).isoformat(), "currency": "EUR"},
    )

    assert response.status_code == 200, response.json()
    event = OpportunityEvent.objects.get(opportunity=deal)
    assert (event.kind, event.actor) == ("edited", team["ae"])
    assert event.changes["name"][1] == name
    assert event.changes["currency"] == ["USD", "EUR"]


def test_unchanged_values_are_not_judged_again(team):
    # given a deal converted long ago: its close date is now close, its reason empty
    deal = OpportunityFactory(owner=team["ae"], expected_close_date=_days(10))

    # when the AE sends the whole deal back with only the next step changed
    response = _patch(
        team["ae"],
        deal,
        {
            "name": deal.name,
            "expected_close_date": deal.expected_close_date.isoformat(),
            "currency": "USD",
            "next_step": "Send the order form",
        },
    )

    # then the edit is saved: rules judge what changes
    assert response.status_code == 200, response.json()
    deal.refresh_from_db()
    assert deal.next_step == "Send the order form"


@pytest.mark.parametrize(
    ("close", "code"),
    [
        (datetime.date(1, 1, 1), "in_the_past"),
        (datetime.date(2000, 6, 1), "in_the_past"),
        (datetime.date(9999, 12, 31), "out_of_range"),
    ],
)
def test_an_absurd_close_date_is_refused_even_with_a_reason(team, close, code):
    deal = OpportunityFactory(owner=team["ae"])

    with pytest.raises(ValidationFailed) as caught:
        services.opportunity_update(
            opportunity_id=deal.pk,
            by=team["ae"],
            data={"expected_close_date": close, "close_date_reason": "The customer said so."},
        )

    assert [(p.field, p.code) for p in caught.value.problems] == [("expected_close_date", code)]


def test_the_service_refuses_what_the_api_refuses(team):
    deal = OpportunityFactory(owner=team["ae"])

    with pytest.raises(ValidationFailed) as caught:
        services.opportunity_update(
            opportunity_id=deal.pk,
            by=team["ae"],
            data={"name": "x", "currency": "XXX", "expected_close_date": datetime.date(1, 1, 1)},
        )

    assert {p.field for p in caught.value.problems} == {"name", "currency", "expected_close_date"}


def test_the_edit_page_shows_each_problem_on_its_field(client, team):
    deal = OpportunityFactory(owner=team["ae"])
    client.force_login(team["ae"])
    url = reverse("opportunities:edit", args=[deal.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(name="x", expected_close_date=_days(2).isoformat(), discount_notes="N/A")

    response = client.post(url, data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "expected_close_date", "discount_notes"}
    assert "Company - Product/Service - Use case" in errors["name"][0]
    assert "give a reason" in errors["expected_close_date"][0]
    html = response.content.decode()
    assert "Company - Product/Service - Use case" in html
    deal.refresh_from_db()
    assert deal.version == 1


def test_the_one_placeholder_rule_is_the_one_edits_use():
    policy = ConversionPolicy.current()

    problems = services.edit_problems({"next_step": "to be confirmed"}, policy=policy)

    assert is_placeholder("to be confirmed")
    assert [(p.field, p.code) for p in problems] == [("next_step", "required")]
