"""The pipeline settings pages: stages (/settings/stages/) and the conversion policy
(/settings/conversion-policy/). RevOps edits them; managers read the same pages without
the buttons; reps get a 403. Views are thin: authorize through
`configuration.require_settings_permission` / `stage_for`, parse a form, call the
service, render. Field problems land on the form; any other domain error (a refusal, a
missing stage) rises to `crm.web.errors.DomainErrorMiddleware`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.money import format_money
from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from opportunities.conversion import CUSTOM_FIELD_LABELS
from opportunities.models import ConversionPolicy, PolicyChange, Stage, field_label
from opportunities.services import configuration
from opportunities.services.configuration import POLICY_FIELDS, STAGE_FIELDS, may
from opportunities.settings_forms import OPEN, ConversionPolicyForm, StageForm, currency_choices

HISTORY_LIMIT = 20


def _exit_labels() -> dict[str, str]:
    """Read per request: the labels are in the language of the page, not of start-up."""
    return dict(configuration.exit_field_choices())


# --- the change history -------------------------------------------------------------------


def _shown(name: str, value: Any) -> str:
    """An audited value as people read it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name == "exit_required_fields" and isinstance(value, list):
        return ", ".join(str(_exit_labels().get(v, v)) for v in value) or _("none")
    if name == "required_fields" and isinstance(value, list):
        return ", ".join(str(CUSTOM_FIELD_LABELS.get(v, v)) for v in value) or _("none")
    if name == "approval_thresholds" and isinstance(value, dict):
        amounts = [
            format_money(amount, code, cents=False) for code, amount in sorted(value.items())
        ]
        return " · ".join(amounts) or _("none")
    return str(value)


Line = tuple[str, str | None, str | None]


def _lines(model: type[Model], key: str, change: PolicyChange) -> list[Line]:
    """(label, old, new) for one changed setting; None where a side has no value."""
    old, new = change.old.get(key), change.new.get(key)
    label = field_label(model, key)
    if key == "approval_thresholds" and isinstance(old, dict) and isinstance(new, dict):
        # One line per currency that changed, rather than the whole list twice.
        return [
            (
                f"{label} · {code}",
                format_money(old[code], code, cents=False) if code in old else None,
                format_money(new[code], code, cents=False) if code in new else None,
            )
            for code in sorted(set(old) | set(new))
            if old.get(code) != new.get(code)
        ]
    return [
        (
            label,
            _shown(key, old) if key in change.old else None,
            _shown(key, new) if key in change.new else None,
        )
    ]


def _history(
    changes: list[PolicyChange], model: type[Model], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Each audit row as (label, old, new) lines in the form's order."""
    order = {name: i for i, name in enumerate(fields)}
    names = configuration.stage_names(changes) if model is Stage else {}
    entries = []
    for change in changes:
        keys = sorted(set(change.old) | set(change.new), key=lambda k: (order.get(k, 99), k))
        entries.append(
            {
                "change": change,
                "subject": names.get(change.object_id, ""),
                "created": not change.old,
                "deleted": not change.new,
                "rows": [line for key in keys for line in _lines(model, key, change)],
            }
        )
    return entries


# --- stages -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def stage_list(request: AuthedHttpRequest) -> HttpResponse:
    """Every stage in order, with what it asks and how many deals are in it."""
    configuration.require_settings_permission(request.user, "view")
    stages = list(configuration.stages_for_settings())
    changes = configuration.settings_history(PolicyChange.Subject.STAGE, limit=HISTORY_LIMIT)
    labels = _exit_labels()
    return render(
        request,
        "opportunities/settings/stages.html",
        {
            "stages": [
                {
                    "stage": stage,
                    "exit_labels": [labels.get(f, f) for f in stage.exit_required_fields],
                    "first": i == 0,
                    "last": i == len(stages) - 1,
                }
                for i, stage in enumerate(stages)
            ],
            "can_edit": may(request.user, "change"),
            "changes": _history(changes, Stage, STAGE_FIELDS),
            "tab": "stages",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def stage_new(request: AuthedHttpRequest) -> HttpResponse:
    configuration.require_settings_permission(request.user, "change")
    set_back_url(request, reverse("opportunities:settings-stages"))
    form = StageForm(
        request.POST or None,
        initial={
            "position": configuration.next_free_position(),
            "outcome": OPEN,
            "is_active": True,
        },
    )
    if request.method == "POST":
        if not form.is_valid():
            form.add_rule_problems(
                lambda parsed: configuration.stage_problems(
                    configuration.new_stage_values(parsed, Stage.objects.all())
                )
            )
        elif stage := submit(
            form, lambda: configuration.stage_create(by=request.user, data=form.stage_data())
        ):
            messages.success(request, _("Stage “%(name)s” added.") % {"name": stage.name})
            return redirect("opportunities:settings-stages")
    return render(
        request,
        "opportunities/settings/stage_form.html",
        {"form": form, "stage": None, "can_edit": True, "tab": "stages"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """RevOps edit; managers read the same page without the Save button."""
    posted = request.method == "POST"
    stage = configuration.stage_for(request.user, pk, to="change" if posted else "view")
    set_back_url(request, reverse("opportunities:settings-stage", args=[stage.pk]))
    form = StageForm(request.POST if posted else None, stage=stage)
    if posted and not form.is_valid():
        form.add_rule_problems(
            lambda parsed: configuration.stage_problems(
                configuration.stage_values(stage) | parsed, stage=stage
            )
        )
    elif posted and (
        edit := submit(
            form,
            lambda: configuration.stage_update(
                stage_id=stage.pk, by=request.user, data=form.stage_data()
            ),
        )
    ):
        messages.success(
            request,
            _("Stage “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
            if edit.changed
            else _("Nothing changed."),
        )
        return redirect("opportunities:settings-stages")
    can_edit = may(request.user, "change")
    if not can_edit:
        form.make_read_only()
    changes = configuration.settings_history(
        PolicyChange.Subject.STAGE, object_id=stage.pk, limit=HISTORY_LIMIT
    )
    return render(
        request,
        "opportunities/settings/stage_form.html",
        {
            "form": form,
            "stage": stage,
            "deal_count": stage.opportunities.count(),
            "can_edit": can_edit,
            "changes": _history(changes, Stage, STAGE_FIELDS),
            "tab": "stages",
        },
        status=400 if posted else 200,
    )


@login_required
@require_POST
def stage_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The list's up and down arrows: swap the stage with its neighbour."""
    stage = configuration.stage_for(request.user, pk, to="change")
    set_back_url(request, reverse("opportunities:settings-stages"))
    configuration.stage_move(
        stage_id=stage.pk, by=request.user, direction=request.POST.get("direction", "")
    )
    return redirect(reverse("opportunities:settings-stages") + f"#stage-{stage.pk}")


# --- the conversion policy ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def conversion_policy(request: AuthedHttpRequest) -> HttpResponse:
    """The close-date window, the thresholds, approval, required fields, stall age."""
    posted = request.method == "POST"
    configuration.require_settings_permission(request.user, "change" if posted else "view")
    set_back_url(request, reverse("opportunities:settings-conversion-policy"))
    policy = ConversionPolicy.current()
    form = ConversionPolicyForm(request.POST if posted else None, policy=policy)
    if posted and not form.is_valid():
        form.add_rule_problems(
            lambda parsed: configuration.conversion_policy_problems(
                configuration.policy_values(policy) | parsed
            )
        )
    elif posted and (
        edit := submit(
            form,
            lambda: configuration.conversion_policy_update(
                by=request.user, data=form.policy_data()
            ),
        )
    ):
        messages.success(
            request,
            _("Conversion policy saved. It applies to conversions and deal edits from now on.")
            if edit.changed
            else _("Nothing changed."),
        )
        return redirect("opportunities:settings-conversion-policy")
    can_edit = may(request.user, "change")
    if not can_edit:
        form.make_read_only()
    changes = configuration.settings_history(
        PolicyChange.Subject.CONVERSION_POLICY, limit=HISTORY_LIMIT
    )
    labels = dict(currency_choices())
    return render(
        request,
        "opportunities/settings/conversion_policy.html",
        {
            "form": form,
            "policy": policy,
            "thresholds": [
                (code, labels.get(code, code), format_money(amount, code, cents=False))
                for code, amount in sorted(policy.approval_thresholds.items())
            ],
            "can_edit": can_edit,
            "changes": _history(changes, ConversionPolicy, POLICY_FIELDS),
            "tab": "policy",
        },
        status=400 if posted else 200,
    )
