"""RevOps' pipeline settings pages: stages and the conversion policy.

RevOps edits (each change audited old -> new, listed on the page), managers read the same
pages without the buttons, SDRs and AEs get a 403. Bad input comes back on the fields,
never as a 500, and nothing is half-written.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.exceptions import NotAllowed, ValidationFailed
from opportunities import services
from opportunities.models import ConversionPolicy, PolicyChange, Stage
from opportunities.services import configuration
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

STAGES = reverse("opportunities:settings-stages")
NEW_STAGE = reverse("opportunities:settings-stage-new")
POLICY = reverse("opportunities:settings-conversion-policy")


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _stage_url(name: str) -> str:
    return reverse("opportunities:settings-stage", args=[_stage(name).pk])


def _stage_post(stage: Stage, **changes: object) -> dict[str, object]:
    """The stage form as the browser posts it back, with `changes` applied."""
    data: dict[str, object] = {
        "name": stage.name,
        "position": stage.position,
        "default_probability": stage.default_probability,
        "outcome": "won" if stage.is_won else "lost" if stage.is_lost else "open",
        "rot_days": stage.rot_days or "",
        "exit_required_fields": list(stage.exit_required_fields),
    }
    for flag in ("is_entry", "counts_as_early", "is_active"):
        if getattr(stage, flag):
            data[flag] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _policy_post(policy: ConversionPolicy, **changes: object) -> dict[str, object]:
    thresholds = sorted(policy.approval_thresholds.items())
    data: dict[str, object] = {
        "close_window_min_days": policy.close_window_min_days,
        "close_window_max_days": policy.close_window_max_days,
        "required_fields": list(policy.required_fields),
        "stall_age_days": policy.stall_age_days,
        "thresholds-TOTAL_FORMS": len(thresholds) + 2,
        "thresholds-INITIAL_FORMS": len(thresholds),
        "thresholds-MIN_NUM_FORMS": 0,
        "thresholds-MAX_NUM_FORMS": 1000,
    }
    if policy.approval_required:
        data["approval_required"] = "on"
    for i, (code, amount) in enumerate(thresholds):
        data[f"thresholds-{i}-currency"] = code
        data[f"thresholds-{i}-amount"] = amount
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _row(policy: ConversionPolicy, code: str) -> int:
    return sorted(policy.approval_thresholds).index(code)


# --- who sees what ------------------------------------------------------------------------


def test_the_settings_hub_lists_both_pages_for_revops_and_managers(client, revops, manager):
    for user in (revops, manager):
        client.force_login(user)
        hub = client.get(reverse("settings")).content.decode()
        assert STAGES in hub and POLICY in hub


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_get_403_on_every_settings_page_and_post(client, role):
    user = UserFactory(**{role: True})
    client.force_login(user)
    stage = _stage("Proposal")
    before = Stage.objects.get(pk=stage.pk).default_probability

    pages = [STAGES, NEW_STAGE, _stage_url("Proposal"), POLICY]
    posts = [
        (NEW_STAGE, {"name": "Legal", "position": 50, "default_probability": 70}),
        (_stage_url("Proposal"), _stage_post(stage, default_probability=5)),
        (reverse("opportunities:settings-stage-move", args=[stage.pk]), {"direction": "up"}),
        (POLICY, _policy_post(ConversionPolicy.current(), close_window_max_days=365)),
    ]

    assert [client.get(url).status_code for url in pages] == [403] * 4
    assert [client.post(url, data).status_code for url, data in posts] == [403] * 4
    assert STAGES not in client.get(reverse("home")).content.decode()
    assert Stage.objects.get(pk=stage.pk).default_probability == before
    assert not PolicyChange.objects.exists()


def test_managers_read_the_pages_without_buttons_and_cannot_post(client, manager):
    client.force_login(manager)
    stage = _stage("Proposal")

    listing = client.get(STAGES)
    detail = client.get(_stage_url("Proposal"))
    policy = client.get(POLICY)
    refused = [
        client.get(NEW_STAGE).status_code,
        client.post(_stage_url("Proposal"), _stage_post(stage, default_probability=5)).status_code,
        client.post(POLICY, _policy_post(ConversionPolicy.current())).status_code,
        client.post(
            reverse("opportunities:settings-stage-move", args=[stage.pk]), {"direction": "up"}
        ).status_code,
    ]

    assert (listing.status_code, detail.status_code, policy.status_code) == (200, 200, 200)
    assert refused == [403] * 4
    assert "Proposal" in listing.content.decode() and NEW_STAGE not in listing.content.decode()
    assert 'data-testid="read-only"' in policy.content.decode()
    assert all(f.disabled for f in detail.context["form"].fields.values())
    assert all(f.disabled for f in policy.context["form"].fields.values())
    stage_form = detail.content.decode().split('data-testid="stage-form"')[1].split("</form>")[0]
    assert 'type="submit"' not in stage_form
    assert not PolicyChange.objects.exists()


def test_revops_sees_the_stages_in_order_with_their_rules(client, revops):
    OpportunityFactory()  # in Discovery
    client.force_login(revops)

    response = client.get(STAGES)

    rows = response.context["stages"]
    assert [r["stage"].name for r in rows] == list(
        Stage.objects.order_by("position").values_list("name", flat=True)
    )
    discovery = rows[0]
    assert discovery["stage"].deal_count == 1
    assert [str(label) for label in discovery["exit_labels"]] == ["Next step", "Decision criteria"]
    assert NEW_STAGE in response.content.decode()


# --- stages -------------------------------------------------------------------------------


def test_revops_adds_a_stage_and_the_audit_lists_it(client, revops):
    client.force_login(revops)

    response = client.post(
        NEW_STAGE,
        {
            "name": "Legal review",
            "position": 55,
            "default_probability": 70,
            "outcome": "open",
            "rot_days": 10,
            "exit_required_fields": ["risks"],
            "is_active": "on",
        },
    )

    assert response.status_code == 302 and response["Location"] == STAGES
    stage = _stage("Legal review")
    assert (stage.position, stage.default_probability, stage.rot_days) == (55, 70, 10)
    assert stage.exit_required_fields == ["risks"] and stage.is_active and not stage.is_entry
    change = PolicyChange.objects.get()
    assert (change.model, change.object_id, change.actor) == ("stage", stage.pk, revops)
    assert change.old == {} and change.new["name"] == "Legal review"
    page = client.get(STAGES)
    assert page.context["changes"][0]["subject"] == "Legal review"
    assert "Legal review" in page.content.decode()


def test_a_new_stage_goes_last_by_default(client, revops):
    client.force_login(revops)
    last = Stage.objects.order_by("-position").first()

    form = client.get(NEW_STAGE).context["form"]
    client.post(
        NEW_STAGE,
        {
            "name": "Renewal",
            "position": form["position"].value(),
            "default_probability": 100,
            "outcome": "won",
            "is_active": "on",
        },
    )

    assert _stage("Renewal").position == last.position + 1 and _stage("Renewal").is_won


def test_a_stage_placed_on_a_used_position_moves_the_ones_after_it_down(client, revops):
    client.force_login(revops)
    before = dict(Stage.objects.values_list("name", "position"))

    client.post(
        NEW_STAGE,
        {
            "name": "Legal review",
            "position": before["Closed Won"],
            "default_probability": 90,
            "outcome": "open",
            "is_active": "on",
        },
    )

    order = list(Stage.objects.order_by("position").values_list("name", flat=True))
    assert order[order.index("Negotiation") + 1] == "Legal review"
    assert order[-3:] == ["Closed Won", "Closed Lost", "Post-sale"]
    moved = {c.object_id: (c.old, c.new) for c in PolicyChange.objects.exclude(old={})}
    assert moved[_stage("Post-sale").pk] == (
        {"position": before["Post-sale"]},
        {"position": before["Post-sale"] + 1},
    )
    assert len(moved) == 3  # Closed Won, Closed Lost, Post-sale; nothing before them


def test_moving_a_stage_to_a_used_position_keeps_every_position_unique(revops):
    negotiation = _stage("Negotiation")

    configuration.stage_update(stage_id=negotiation.pk, by=revops, data={"position": 1})

    order = list(Stage.objects.order_by("position").values_list("name", flat=True))
    assert order[:5] == ["Discovery", "Negotiation", "Qualification", "Present/Demo", "Proposal"]
    positions = list(Stage.objects.values_list("position", flat=True))
    assert len(set(positions)) == len(positions)


def test_revops_edits_a_stage_old_to_new_and_sees_the_history(client, revops):
    client.force_login(revops)
    stage = _stage("Proposal")

    response = client.post(
        _stage_url("Proposal"),
        _stage_post(
            stage,
            default_probability=65,
            rot_days=28,
            exit_required_fields=["discount_notes", "risks"],
            counts_as_early="on",
        ),
    )

    assert response.status_code == 302
    stage.refresh_from_db()
    assert (stage.default_probability, stage.rot_days, stage.counts_as_early) == (65, 28, True)
    change = PolicyChange.objects.get()
    assert change.old == {
        "default_probability": 60,
        "rot_days": 21,
        "counts_as_early": False,
        "exit_required_fields": ["discount_notes"],
    }
    assert change.new == {
        "default_probability": 65,
        "rot_days": 28,
        "counts_as_early": True,
        "exit_required_fields": ["discount_notes", "risks"],
    }
    history = client.get(_stage_url("Proposal")).context["changes"]
    assert ("Default probability %", "60", "65") in history[0]["rows"]
    assert ("Early stage", "no", "yes") in history[0]["rows"]


def test_saving_an_unchanged_stage_writes_no_audit_row(client, revops):
    client.force_login(revops)

    response = client.post(_stage_url("Negotiation"), _stage_post(_stage("Negotiation")))

    assert response.status_code == 302 and not PolicyChange.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"default_probability": 101}, "default_probability"),
        ({"default_probability": "abc"}, "default_probability"),
        ({"default_probability": -1}, "default_probability"),
        ({"name": "  "}, "name"),
        ({"name": "tbd"}, "name"),
        ({"name": "negotiation"}, "name"),
        ({"position": -1}, "position"),
        ({"position": 40000}, "position"),
        ({"rot_days": 0}, "rot_days"),
        ({"exit_required_fields": ["amount"]}, "exit_required_fields"),
        ({"outcome": "won", "is_entry": "on"}, "outcome"),
    ],
)
def test_bad_stage_input_comes_back_on_its_field_and_saves_nothing(client, revops, changes, field):
    client.force_login(revops)
    stage = _stage("Proposal")
    if changes.get("outcome") == "won":
        changes = {**changes, "rot_days": ""}

    response = client.post(_stage_url("Proposal"), _stage_post(stage, **changes))

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors.get(field) or (field == "outcome" and form.errors.get("is_entry")), (
        form.errors
    )
    assert Stage.objects.get(pk=stage.pk).default_probability == 60
    assert not PolicyChange.objects.exists()


def test_the_page_shows_every_problem_at_once(client, revops):
    client.force_login(revops)

    response = client.post(
        NEW_STAGE,
        {
            "name": "negotiation",
            "default_probability": 150,
            "outcome": "won",
            "is_entry": "on",
            "rot_days": 5,
            "is_active": "on",
        },
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"name", "default_probability", "is_entry", "rot_days"} <= set(errors), errors
    assert "Another stage has this name." in errors["name"]
    assert not Stage.objects.filter(default_probability=150).exists()


def test_the_policy_page_shows_every_problem_at_once(client, revops):
    client.force_login(revops)
    policy = ConversionPolicy.current()

    response = client.post(
        POLICY,
        _policy_post(
            policy, close_window_min_days=300, stall_age_days="x", **{"thresholds-0-amount": "0"}
        ),
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["close_window_max_days"] and form.errors["stall_age_days"]
    assert form.thresholds.forms[0].errors["amount"]
    assert not PolicyChange.objects.exists()


def test_a_stage_with_deals_is_not_retired_or_closed_from_under_them(client, revops):
    deal = OpportunityFactory()
    client.force_login(revops)
    stage = deal.stage

    retire = client.post(_stage_url(stage.name), _stage_post(stage, is_active=None))
    close = client.post(
        _stage_url(stage.name),
        _stage_post(stage, outcome="won", is_entry=None, counts_as_early=None, rot_days=""),
    )

    assert retire.status_code == 400
    assert "1 deals are in Discovery" in retire.context["form"].errors["is_active"][0]
    assert close.status_code == 400 and close.context["form"].errors["outcome"]
    stage.refresh_from_db()
    assert stage.is_active and not stage.is_won
    assert not PolicyChange.objects.exists()


def test_a_stage_without_deals_can_be_retired_and_is_no_longer_offered(client, revops):
    client.force_login(revops)
    stage = _stage("Present/Demo")

    response = client.post(_stage_url("Present/Demo"), _stage_post(stage, is_active=None))

    assert response.status_code == 302
    stage.refresh_from_db()
    assert not stage.is_active
    assert PolicyChange.objects.get().new == {"is_active": False}


def test_the_last_entry_won_and_lost_stages_stay(revops):
    qualification = _stage("Qualification")
    services_update = configuration.stage_update

    services_update(stage_id=_stage("Discovery").pk, by=revops, data={"is_entry": False})
    with pytest.raises(ValidationFailed) as last_entry:
        services_update(stage_id=qualification.pk, by=revops, data={"is_entry": False})
    with pytest.raises(ValidationFailed) as last_lost:
        services_update(stage_id=_stage("Closed Lost").pk, by=revops, data={"is_active": False})
    services_update(stage_id=_stage("Post-sale").pk, by=revops, data={"is_active": False})
    with pytest.raises(ValidationFailed) as last_won:
        services_update(stage_id=_stage("Closed Won").pk, by=revops, data={"is_won": False})

    assert [(p.code, p.field) for p in last_entry.value.problems] == [
        ("last_of_its_kind", "is_entry")
    ]
    assert [(p.code, p.field) for p in last_lost.value.problems] == [
        ("last_of_its_kind", "is_active")
    ]
    assert ("last_of_its_kind", "is_won") in [(p.code, p.field) for p in last_won.value.problems]
    assert _stage("Qualification").is_entry and _stage("Closed Lost").is_active
    assert PolicyChange.objects.count() == 2


def test_a_stage_is_won_or_lost_not_both(revops):
    with pytest.raises(ValidationFailed) as caught:
        configuration.stage_update(
            stage_id=_stage("Closed Lost").pk, by=revops, data={"is_won": True}
        )

    assert ("won_and_lost", "is_lost") in [(p.code, p.field) for p in caught.value.problems]


def test_the_arrows_swap_a_stage_with_its_neighbour_and_audit_both(client, revops):
    client.force_login(revops)
    proposal, demo = _stage("Proposal"), _stage("Present/Demo")
    move = reverse("opportunities:settings-stage-move", args=[proposal.pk])

    response = client.post(move, {"direction": "up"})

    assert response.status_code == 302
    assert (_stage("Proposal").position, _stage("Present/Demo").position) == (
        demo.position,
        proposal.position,
    )
    assert sorted(
        (c.object_id, c.old["position"], c.new["position"]) for c in PolicyChange.objects.all()
    ) == sorted(
        [
            (proposal.pk, proposal.position, demo.position),
            (demo.pk, demo.position, proposal.position),
        ]
    )
    first = Stage.objects.order_by("position").first()
    client.post(reverse("opportunities:settings-stage-move", args=[first.pk]), {"direction": "up"})
    assert PolicyChange.objects.count() == 2  # already first: nothing to do
    bad = client.post(move, {"direction": "sideways"}, HTTP_REFERER=STAGES)
    assert bad.status_code == 302 and PolicyChange.objects.count() == 2


def test_an_unknown_stage_is_a_404_not_a_500(client, revops, manager):
    for user in (revops, manager):
        client.force_login(user)
        assert client.get(reverse("opportunities:settings-stage", args=[999999])).status_code == 404


def test_exit_fields_offered_are_the_ones_a_stage_move_checks(revops):
    """Every field the page offers is enforced by the move: blank, it stops the deal."""
    deal = OpportunityFactory(next_step="Call the CFO")
    stage = deal.stage
    configuration.stage_update(
        stage_id=stage.pk, by=revops, data={"exit_required_fields": list(configuration.EXIT_FIELDS)}
    )
    deal.refresh_from_db()

    problems = services.stage_exit_problems(deal, _stage("Qualification"))

    blank = {f for f in configuration.EXIT_FIELDS if not getattr(deal, f)}
    assert {p.field for p in problems} == blank
    assert {name for name, _label in configuration.exit_field_choices()} == set(
        configuration.EXIT_FIELDS
    )


# --- the conversion policy ----------------------------------------------------------------


def test_revops_edits_the_policy_and_the_change_is_audited_and_listed(client, revops):
    client.force_login(revops)
    policy = ConversionPolicy.current()
    idr = _row(policy, "IDR")
    extra = len(policy.approval_thresholds)

    response = client.post(
        POLICY,
        _policy_post(
            policy,
            close_window_min_days=60,
            close_window_max_days=200,
            approval_required="on",
            required_fields=["product_line", "risks"],
            stall_age_days=30,
            **{
                f"thresholds-{idr}-DELETE": "on",
                f"thresholds-{extra}-currency": "JPY",
                f"thresholds-{extra}-amount": "15000000",
                f"thresholds-{_row(policy, 'USD')}-amount": "120000",
            },
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    policy.refresh_from_db()
    assert (policy.close_window_min_days, policy.close_window_max_days) == (60, 200)
    assert policy.approval_required and policy.stall_age_days == 30
    assert policy.required_fields == ["product_line", "risks"]
    assert policy.approval_thresholds == {
        "EUR": 90_000,
        "GBP": 80_000,
        "JPY": 15_000_000,
        "SGD": 135_000,
        "USD": 120_000,
    }
    assert policy.updated_by == revops
    change = PolicyChange.objects.get()
    assert (change.model, change.actor) == ("conversion_policy", revops)
    assert change.old["close_window_max_days"] == 180 and change.new["close_window_max_days"] == 200
    assert change.old["approval_thresholds"]["IDR"] == 1_600_000_000
    assert "IDR" not in change.new["approval_thresholds"]
    assert set(change.old) == {
        "close_window_min_days",
        "close_window_max_days",
        "approval_thresholds",
        "approval_required",
        "required_fields",
        "stall_age_days",
    }
    history = client.get(POLICY).context["changes"]
    labels = [row[0] for row in history[0]["rows"]]
    assert "Close date at most (days out)" in labels


def test_the_conversion_wizard_follows_the_edited_policy(revops):
    configuration.conversion_policy_update(
        by=revops, data={"close_window_min_days": 10, "close_window_max_days": 20}
    )

    policy = ConversionPolicy.current()

    assert (policy.close_window_min_days, policy.close_window_max_days) == (10, 20)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"close_window_min_days": 200, "close_window_max_days": 100}, "close_window_max_days"),
        ({"close_window_min_days": -1}, "close_window_min_days"),
        ({"close_window_max_days": "soon"}, "close_window_max_days"),
        ({"stall_age_days": 0}, "stall_age_days"),
        ({"required_fields": ["amount"]}, "required_fields"),
        ({"thresholds-0-amount": "0"}, "row-amount"),
        ({"thresholds-0-amount": "1e20"}, "row-amount"),
        ({"thresholds-0-currency": "ZZZ"}, "row-currency"),
        ({"thresholds-1-currency": "EUR"}, "row-currency"),  # listed twice
    ],
)
def test_bad_policy_input_comes_back_on_its_field_and_saves_nothing(client, revops, changes, where):
    client.force_login(revops)
    policy = ConversionPolicy.current()

    response = client.post(POLICY, _policy_post(policy, **changes))

    assert response.status_code == 400
    form = response.context["form"]
    if where.startswith("row-"):
        errors = [row.errors for row in form.thresholds.forms if row.errors]
        assert errors and where.removeprefix("row-") in errors[0], errors
    else:
        assert form.errors.get(where), form.errors
    assert ConversionPolicy.current().approval_thresholds == policy.approval_thresholds
    assert not PolicyChange.objects.exists()


def test_the_service_refuses_a_threshold_in_no_iso_currency_naming_it(revops):
    with pytest.raises(ValidationFailed) as caught:
        configuration.conversion_policy_update(
            by=revops, data={"approval_thresholds": {"US": 5, "EUR": 0, "GBP": True}}
        )

    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("invalid_currency", "approval_thresholds.US"),
        ("out_of_range", "approval_thresholds.EUR"),
        ("out_of_range", "approval_thresholds.GBP"),
    }
    assert not PolicyChange.objects.exists()


def test_services_refuse_other_roles(manager):
    with pytest.raises(NotAllowed):
        configuration.conversion_policy_update(by=manager, data={"stall_age_days": 10})
    with pytest.raises(NotAllowed, match="Only RevOps"):
        configuration.stage_update(
            stage_id=_stage("Proposal").pk, by=manager, data={"default_probability": 1}
        )
    assert not PolicyChange.objects.exists()


# --- the admin ----------------------------------------------------------------------------


def test_the_admin_refuses_what_the_pages_refuse(client):
    admin = UserFactory(admin=True, username="root")
    client.force_login(admin)
    url = reverse("admin:opportunities_stage_change", args=[_stage("Closed Lost").pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (None, False)}
    data.pop("is_active")

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Keep at least one active closed-lost stage." in errors["is_active"]
    assert _stage("Closed Lost").is_active and not PolicyChange.objects.exists()


def test_the_admin_does_not_delete_the_last_lost_stage(client):
    admin = UserFactory(admin=True, username="root")
    client.force_login(admin)
    url = reverse("admin:opportunities_stage_delete", args=[_stage("Closed Lost").pk])

    page = client.get(url)
    client.post(url, {"post": "yes"})

    assert "Keep at least one active closed-lost stage." in page.content.decode()
    assert Stage.objects.filter(name="Closed Lost").exists()
