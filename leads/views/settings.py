"""RevOps' leads settings: routing rules (with the "who would get this lead?" tester) and
the rejection and disqualification reasons, each with its change history.

Managers read these pages (fields disabled, no buttons); SDRs and AEs get 403. Views are
thin: authorize through `leads.services.settings`, parse a form, call the service, render.
Field problems land on the form (`crm.web.forms.submit`); a refusal or a missing object
rises to `crm.web.errors.DomainErrorMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.exceptions import NotFound, Problem
from crm.models import Team
from crm.web.errors import set_back_url
from crm.web.forms import ReadOnlyCapable, put_on_form, submit
from crm.web.requests import AuthedHttpRequest
from leads import selectors
from leads.forms import StyledForm
from leads.models import RoutingRule, Segment, SettingChange, Source
from leads.services import settings as service
from leads.services.assignment import MATCH_FIELDS, routing_preview

# The service's own check of the values a form parsed: (values) -> problems.
Check = Callable[[dict[str, Any]], list[Problem]]
HISTORY_LIMIT = 20
FULL_HISTORY_LIMIT = 200
REASON_TITLES = {
    "rejection": gettext_lazy("Rejection reasons"),
    "disqualification": gettext_lazy("Disqualification reasons"),
}
REASON_HINTS = {
    "rejection": gettext_lazy(
        "Sales picks one when it rejects an MQL; marketing receives it with the rationale."
    ),
    "disqualification": gettext_lazy(
        "Why a lead will never convert: wrong company, bad data, no fit."
    ),
}


# --- forms ------------------------------------------------------------------------------------


# "Indonesia" typed for a country: say what the field takes, not "at most 2 characters".
COUNTRY_CODE_ONLY = gettext_lazy("Enter the two-letter country code, such as ID or SG.")


class _SettingsForm(ReadOnlyCapable, StyledForm):
    def service_data(self, *, creating: bool) -> dict[str, Any]:
        raise NotImplementedError

    def is_valid_with(self, check: Check, *, creating: bool) -> bool:
        """Valid as a form. If not, the service's `check` still reads the fields that did
        parse, and its problems join the form's: every problem at once."""
        if self.is_valid():
            return True
        parsed = {
            name: value
            for name, value in self.service_data(creating=creating).items()
            if name not in self.errors
        }
        put_on_form(self, [p for p in check(parsed) if p.field not in self.errors])
        return False


class RoutingRuleForm(_SettingsForm):
    """A rule's fields; `leads.services.settings` decides what is valid."""

    marked_required = frozenset({"name", "team", "strategy"})

    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=100)
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        required=False,
        min_value=0,
        max_value=service.MAX_POSITION,
        help_text=gettext_lazy("Lower goes first; blank puts a new rule last."),
    )
    strategy = forms.ChoiceField(
        label=gettext_lazy("Strategy"), required=False, choices=RoutingRule.Strategy.choices
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        required=False,
        queryset=Team.objects.order_by("name"),
        empty_label=gettext_lazy("Choose a team…"),
    )
    match_source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=[("", gettext_lazy("Any source")), *Source.choices],
    )
    match_segment = forms.ChoiceField(
        label=gettext_lazy("Segment"),
        required=False,
        choices=[("", gettext_lazy("Any segment")), *Segment.choices],
    )
    match_territory = forms.CharField(
        label=gettext_lazy("Territory"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Blank matches any territory; case does not matter."),
    )
    match_country = forms.CharField(
        label=gettext_lazy("Country"),
        required=False,
        max_length=2,
        help_text=gettext_lazy("Two-letter ISO code, e.g. ID or SG."),
        error_messages={"max_length": COUNTRY_CODE_ONLY},
    )
    match_campaign = forms.CharField(label=gettext_lazy("Campaign"), required=False, max_length=150)
    is_active = forms.BooleanField(
        label=gettext_lazy("Active: routing uses this rule"), required=False, initial=True
    )

    @classmethod
    def for_rule(cls, rule: RoutingRule) -> RoutingRuleForm:
        return cls(initial={name: getattr(rule, name) for name in service.RULE_FIELDS})

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in service.RULE_FIELDS}
        if data["position"] is None and creating:
            del data["position"]
        return data

    def match_fields(self) -> list[forms.BoundField]:
        return [self[f"match_{name}"] for name in MATCH_FIELDS]


class RoutingTestForm(StyledForm):
    """The tester's lead: what a rule can match on."""

    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=[("", gettext_lazy("(none)")), *Source.choices],
    )
    segment = forms.ChoiceField(
        label=gettext_lazy("Segment"),
        required=False,
        choices=[("", gettext_lazy("(none)")), *Segment.choices],
    )
    territory = forms.CharField(label=gettext_lazy("Territory"), required=False, max_length=100)
    country = forms.CharField(
        label=gettext_lazy("Country"),
        required=False,
        max_length=2,
        error_messages={"max_length": COUNTRY_CODE_ONLY},
    )
    campaign = forms.CharField(label=gettext_lazy("Campaign"), required=False, max_length=150)


class ReasonForm(_SettingsForm):
    marked_required = frozenset({"label"})

    label = forms.CharField(label=gettext_lazy("Label"), required=False, max_length=150)
    code = forms.SlugField(
        label=gettext_lazy("Code"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("For integrations and reports; made from the label if blank."),
    )
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        required=False,
        min_value=0,
        max_value=service.MAX_POSITION,
        help_text=gettext_lazy("Lower comes first in the list; blank puts it last."),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Active: offered to people"), required=False, initial=True
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            # A code is for ever: past leads and integrations know the reason by it.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = gettext_lazy("A reason's code never changes.")

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        data = {
            "label": self.cleaned_data.get("label"),
            "position": self.cleaned_data.get("position"),
            "is_active": self.cleaned_data.get("is_active"),
        }
        if creating:
            data["code"] = self.cleaned_data.get("code") or ""
            if data["position"] is None:
                del data["position"]
        elif data["position"] is None:
            del data["position"]
        return data


# --- routing rules ----------------------------------------------------------------------------


@login_required
def routing_rules(request: AuthedHttpRequest) -> HttpResponse:
    """The rules in the order routing tries them, the tester, and recent changes."""
    service.require_settings_permission(request.user, "view")
    tester = RoutingTestForm(request.GET if "test" in request.GET else None)
    decision = None
    if tester.is_bound and tester.is_valid():
        values = dict(tester.cleaned_data)
        values["country"] = (values.get("country") or "").upper()
        decision = routing_preview(values)
    rules = selectors.routing_rules()
    return render(
        request,
        "leads/settings/routing_list.html",
        {
            "rules": rules,
            "tester": tester,
            "decision": decision,
            "can_edit": service.may(request.user, "change"),
            "changes": _history(kinds=(SettingChange.Kind.ROUTING_RULE,), limit=HISTORY_LIMIT),
            "tab": "routing",
        },
    )


@login_required
def routing_rule_new(request: AuthedHttpRequest) -> HttpResponse:
    service.require_settings_permission(request.user, "change")
    form = RoutingRuleForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid_with(
            lambda data: service.routing_rule_problems(service.routing_rule_values(data)),
            creating=True,
        )
        and (
            rule := submit(
                form,
                lambda: service.routing_rule_create(
                    by=request.user, data=form.service_data(creating=True)
                ),
            )
        )
    ):
        messages.success(request, _("Routing rule “%s” created.") % rule.name)
        return redirect("leads:settings_routing")
    return render(
        request,
        "leads/settings/routing_form.html",
        {"form": form, "rule": None, "can_edit": True, "tab": "routing"},
        status=400 if form.is_bound else 200,
    )


@login_required
def routing_rule_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """RevOps edit; managers read the same page without the Save button."""
    to: service.SettingsAction = "change" if request.method == "POST" else "view"
    rule = service.routing_rule_for(request.user, pk, to=to)
    set_back_url(request, reverse("leads:settings_routing_edit", args=[rule.pk]))
    status = 200
    if request.method == "POST":
        form = RoutingRuleForm(request.POST)
        if form.is_valid_with(
            lambda data: service.routing_rule_problems(
                service.routing_rule_values(data, rule=rule), rule=rule
            ),
            creating=False,
        ) and (
            edit := submit(
                form,
                lambda: service.routing_rule_update(
                    rule_id=rule.pk, by=request.user, data=form.service_data(creating=False)
                ),
            )
        ):
            messages.success(request, _("Saved.") if edit.changed else _("Nothing changed."))
            return redirect("leads:settings_routing")
        status = 400
    else:
        form = RoutingRuleForm.for_rule(rule)
    can_edit = service.may(request.user, "change")
    if not can_edit:
        form.make_read_only()
    return render(
        request,
        "leads/settings/routing_form.html",
        {
            "form": form,
            "rule": rule,
            "can_edit": can_edit,
            "changes": _history(
                kinds=(SettingChange.Kind.ROUTING_RULE,), object_id=rule.pk, limit=HISTORY_LIMIT
            ),
            "tab": "routing",
        },
        status=status,
    )


@login_required
@require_POST
def routing_rule_active(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    set_back_url(request, reverse("leads:settings_routing"))
    rule = service.routing_rule_for(request.user, pk, to="change")
    active = request.POST.get("is_active") == "1"
    service.routing_rule_set_active(rule_id=rule.pk, by=request.user, is_active=active)
    message = _("Rule “%s” is active again.") if active else _("Rule “%s” is retired.")
    messages.success(request, message % rule.name)
    return redirect("leads:settings_routing")


@login_required
@require_POST
def routing_rule_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    set_back_url(request, reverse("leads:settings_routing"))
    rule = service.routing_rule_for(request.user, pk, to="change")
    offset = -1 if request.POST.get("direction") == "up" else 1
    service.routing_rule_move(rule_id=rule.pk, by=request.user, offset=offset)
    return redirect(f"{reverse('leads:settings_routing')}#rule-{rule.pk}")


# --- reasons ----------------------------------------------------------------------------------


@login_required
def reason_lists(request: AuthedHttpRequest) -> HttpResponse:
    """Both lists side by side, each with its add form for RevOps."""
    service.require_settings_permission(request.user, "view")
    return render(
        request,
        "leads/settings/reasons.html",
        {
            "lists": [
                {
                    "kind": kind,
                    "title": REASON_TITLES[kind],
                    "hint": REASON_HINTS[kind],
                    "reasons": selectors.reasons(kind),
                }
                for kind in service.REASON_KINDS
            ],
            "can_edit": service.may(request.user, "change"),
            "changes": _history(kinds=tuple(service.AUDIT_KINDS.values()), limit=HISTORY_LIMIT),
            "tab": "reasons",
        },
    )


@login_required
def reason_new(request: AuthedHttpRequest, kind: str) -> HttpResponse:
    service.require_settings_permission(request.user, "change")
    title = _reason_title(kind)
    form = ReasonForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid_with(
            lambda data: service.reason_problems(kind, service.reason_values(kind, data)),
            creating=True,
        )
        and (
            reason := submit(
                form,
                lambda: service.reason_create(
                    kind=kind, by=request.user, data=form.service_data(creating=True)
                ),
            )
        )
    ):
        messages.success(request, _("Reason “%s” added.") % reason.label)
        return redirect(f"{reverse('leads:settings_reasons')}#{kind}")
    return render(
        request,
        "leads/settings/reason_form.html",
        {"form": form, "reason": None, "kind": kind, "title": title, "can_edit": True},
        status=400 if form.is_bound else 200,
    )


@login_required
def reason_edit(request: AuthedHttpRequest, kind: str, pk: int) -> HttpResponse:
    to: service.SettingsAction = "change" if request.method == "POST" else "view"
    reason = service.reason_for(request.user, kind, pk, to=to)
    set_back_url(request, reverse("leads:settings_reason_edit", args=[kind, reason.pk]))
    status = 200
    if request.method == "POST":
        form = ReasonForm(request.POST, creating=False, initial={"code": reason.code})
        if form.is_valid_with(
            lambda data: service.reason_problems(
                kind, service.reason_values(kind, data, reason=reason), reason=reason
            ),
            creating=False,
        ) and (
            edit := submit(
                form,
                lambda: service.reason_update(
                    kind=kind,
                    reason_id=reason.pk,
                    by=request.user,
                    data=form.service_data(creating=False),
                ),
            )
        ):
            messages.success(request, _("Saved.") if edit.changed else _("Nothing changed."))
            return redirect(f"{reverse('leads:settings_reasons')}#{kind}")
        status = 400
    else:
        form = ReasonForm(creating=False, initial=service.reason_snapshot(reason))
    can_edit = service.may(request.user, "change")
    if not can_edit:
        form.make_read_only()
    return render(
        request,
        "leads/settings/reason_form.html",
        {
            "form": form,
            "reason": reason,
            "kind": kind,
            "title": _reason_title(kind),
            "can_edit": can_edit,
            "changes": _history(
                kinds=(service.AUDIT_KINDS[kind],), object_id=reason.pk, limit=HISTORY_LIMIT
            ),
        },
        status=status,
    )


@login_required
@require_POST
def reason_active(request: AuthedHttpRequest, kind: str, pk: int) -> HttpResponse:
    set_back_url(request, f"{reverse('leads:settings_reasons')}#{kind}")
    reason = service.reason_for(request.user, kind, pk, to="change")
    active = request.POST.get("is_active") == "1"
    service.reason_set_active(kind=kind, reason_id=reason.pk, by=request.user, is_active=active)
    message = _("“%s” is offered again.") if active else _("“%s” is retired.")
    messages.success(request, message % reason.label)
    return redirect(f"{reverse('leads:settings_reasons')}#{kind}")


def _reason_title(kind: str) -> str:
    title = REASON_TITLES.get(kind)
    if title is None:
        raise NotFound(_("No such list of reasons."))
    return str(title)


# --- the change history -----------------------------------------------------------------------


@login_required
def change_history(request: AuthedHttpRequest) -> HttpResponse:
    """Every change to routing rules and reasons, newest first; `?kind=` narrows it."""
    service.require_settings_permission(request.user, "view")
    kind = request.GET.get("kind", "")
    if kind not in SettingChange.Kind.values:
        kind = ""
    return render(
        request,
        "leads/settings/history.html",
        {
            "changes": _history(kinds=(kind,) if kind else (), limit=FULL_HISTORY_LIMIT),
            "kinds": SettingChange.Kind.choices,
            "kind": kind,
            "limit": FULL_HISTORY_LIMIT,
            "can_edit": service.may(request.user, "change"),
            "tab": "history",
        },
    )


_FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "label": gettext_lazy("Label"),
    "code": gettext_lazy("Code"),
    "position": gettext_lazy("Position"),
    "is_active": gettext_lazy("Active"),
    "strategy": gettext_lazy("Strategy"),
    "team": gettext_lazy("Team"),
    "match_source": gettext_lazy("Source"),
    "match_segment": gettext_lazy("Segment"),
    "match_territory": gettext_lazy("Territory"),
    "match_country": gettext_lazy("Country"),
    "match_campaign": gettext_lazy("Campaign"),
}
_VALUE_LABELS: dict[str, dict[Any, Any]] = {
    "strategy": dict(RoutingRule.Strategy.choices),
    "match_source": dict(Source.choices),
    "match_segment": dict(Segment.choices),
    "is_active": {True: gettext_lazy("yes"), False: gettext_lazy("no")},
}


def _shown(name: str, value: Any) -> Any:
    """A recorded value as people read it: labels for codes, "any" for a blank condition."""
    if value in ("", None) and name.startswith("match_"):
        return _("any")
    return _VALUE_LABELS.get(name, {}).get(value, value)


def _history(
    *, kinds: tuple[str, ...] = (), object_id: int | None = None, limit: int
) -> list[dict[str, Any]]:
    """Audit rows as (field, old, new) triples for the history lists."""
    rows = []
    for change in selectors.setting_changes(kinds=kinds, object_id=object_id, limit=limit):
        names = [n for n in _FIELD_LABELS if n in change.old or n in change.new]
        rows.append(
            {
                "change": change,
                "rows": [
                    (
                        capfirst(_FIELD_LABELS[n]),
                        _shown(n, change.old[n]) if n in change.old else None,
                        _shown(n, change.new[n]) if n in change.new else None,
                    )
                    for n in names
                ],
            }
        )
    return rows
