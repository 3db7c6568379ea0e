"""Browser forms for the pipeline settings: they parse input into Python values;
`opportunities.services.configuration` decides what is valid (the same rules as the API
and the admin) and its problems come back on the fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils.text import capfirst
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from crm.exceptions import Problem
from crm.web.forms import ReadOnlyCapable
from opportunities.conversion import CURRENCIES, CUSTOM_FIELD_LABELS, CUSTOM_FIELDS
from opportunities.models import ConversionPolicy, Stage
from opportunities.services.configuration import (
    MAX_DAYS,
    MAX_POSITION,
    MAX_THRESHOLD,
    exit_field_choices,
    policy_values,
)

OPEN, WON, LOST = "open", "won", "lost"
OUTCOMES = [
    (OPEN, _("Open: deals here are in the pipeline")),
    (WON, _("Closed won")),
    (LOST, _("Closed lost")),
]


def style_widgets(form: forms.BaseForm) -> None:
    """Bootstrap classes on every widget, so templates render fields plainly."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            continue  # drawn option by option in the template
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs["class"] = "form-check-input"
        elif isinstance(widget, forms.Select):
            widget.attrs["class"] = "form-select"
        else:
            widget.attrs["class"] = "form-control"


def _put(form: forms.BaseForm, field: str | None, message: str) -> None:
    form.add_error(field if field in form.fields else None, message)


class SettingsForm(ReadOnlyCapable, forms.Form):
    """A settings form: RevOps edit it, managers see it read-only."""

    def parsed(self) -> dict[str, Any]:
        """The values that parsed, as the service takes them (after `is_valid`)."""
        raise NotImplementedError

    def form_field(self, problem: Problem) -> str | None:
        """The form field a service problem belongs on."""
        return problem.field

    def add_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            _put(self, self.form_field(problem), str(problem.message))

    def add_rule_problems(self, check: Callable[[dict[str, Any]], list[Problem]]) -> None:
        """After a failed `is_valid`: the service's rules on the values that did parse, so
        every problem shows at once (a field already marked keeps its own message)."""
        marked = set(self.errors)
        self.add_problems([p for p in check(self.parsed()) if self.form_field(p) not in marked])


class StageForm(SettingsForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=MAX_POSITION,
        help_text=_(
            "Stages run from the lowest number up. A number in use moves that stage, and "
            "those right after it, down one."
        ),
    )
    default_probability = forms.IntegerField(
        label=_("Default probability %"),
        min_value=0,
        max_value=100,
        help_text=_("A deal entering the stage gets this probability (the weighted forecast)."),
    )
    outcome = forms.ChoiceField(
        label=_("Deals in this stage are"), choices=OUTCOMES, widget=forms.RadioSelect
    )
    is_entry = forms.BooleanField(
        label=_("Converted leads may enter here"),
        required=False,
        help_text=_(
            "The conversion wizard offers these stages. Discovery and Qualification by default."
        ),
    )
    counts_as_early = forms.BooleanField(
        label=_("Early stage"),
        required=False,
        help_text=_("Deals lost from or stalled in an early stage count as premature conversions."),
    )
    rot_days = forms.IntegerField(
        label=_("Stale after (days)"),
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=_("An open deal this long in the stage is flagged as stale. Empty: never."),
    )
    exit_required_fields = forms.MultipleChoiceField(
        label=_("To move a deal forward out of this stage, fill in"),
        choices=exit_field_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Moving back, or closing as lost, never waits on these."),
    )
    is_active = forms.BooleanField(
        label=_("Active: deals may be moved into this stage"),
        required=False,
        help_text=_("A retired stage keeps its history but cannot be chosen."),
    )

    def __init__(self, *args: Any, stage: Stage | None = None, **kwargs: Any) -> None:
        if stage is not None:
            kwargs.setdefault("initial", self.initial_for(stage))
        super().__init__(*args, **kwargs)
        style_widgets(self)

    @staticmethod
    def initial_for(stage: Stage) -> dict[str, Any]:
        return {
            "name": stage.name,
            "position": stage.position,
            "default_probability": stage.default_probability,
            "outcome": WON if stage.is_won else LOST if stage.is_lost else OPEN,
            "is_entry": stage.is_entry,
            "counts_as_early": stage.counts_as_early,
            "rot_days": stage.rot_days,
            "exit_required_fields": list(stage.exit_required_fields or []),
            "is_active": stage.is_active,
        }

    def stage_data(self) -> dict[str, Any]:
        """The cleaned values as `configuration.stage_create/stage_update` take them."""
        return self.parsed()

    def parsed(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if "outcome" in data:
            outcome = data.pop("outcome")
            data["is_won"], data["is_lost"] = outcome == WON, outcome == LOST
        if "name" in data:
            data["name"] = data["name"].strip()
        return data

    def form_field(self, problem: Problem) -> str | None:
        return "outcome" if problem.field in ("is_won", "is_lost") else problem.field


# --- the conversion policy ----------------------------------------------------------------


@cache
def _currency_choices(language: str) -> list[tuple[str, str]]:
    try:
        locale = Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    return [("", "—")] + [
        (code, f"{code} · {get_currency_name(code, locale=locale)}") for code in sorted(CURRENCIES)
    ]


def currency_choices() -> list[tuple[str, str]]:
    return _currency_choices(get_language() or "en")


class WholeAmountField(forms.IntegerField):
    """A whole amount, shown and accepted with thousands separators ("1,600,000,000")."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = re.sub(r"[,\s_'’]", "", value)
        return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


class ThresholdRowForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    amount = WholeAmountField(
        label=_("Notify the manager above"), min_value=1, max_value=MAX_THRESHOLD
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
        if "DELETE" in self.fields:
            self.fields["DELETE"].label = _("Remove")


class BaseThresholdFormSet(BaseFormSet):
    def clean(self) -> None:
        seen: set[str] = set()
        for row in self.forms:
            if not hasattr(row, "cleaned_data") or row.cleaned_data.get("DELETE"):
                continue
            code = row.cleaned_data.get("currency")
            if code and code in seen:
                row.add_error("currency", _("%(code)s is listed twice.") % {"code": code})
            if code:
                seen.add(code)

    def thresholds(self) -> dict[str, int]:
        return {
            row.cleaned_data["currency"]: row.cleaned_data["amount"]
            for row in self.forms
            if not row.cleaned_data.get("DELETE") and row.cleaned_data.get("currency")
        }


ThresholdFormSet = formset_factory(
    ThresholdRowForm, formset=BaseThresholdFormSet, extra=2, can_delete=True
)


class ConversionPolicyForm(SettingsForm):
    close_window_min_days = forms.IntegerField(
        label=_("Close date at least (days out)"), min_value=0, max_value=MAX_DAYS
    )
    close_window_max_days = forms.IntegerField(
        label=_("Close date at most (days out)"), min_value=1, max_value=MAX_DAYS
    )
    approval_required = forms.BooleanField(
        label=_("Deals above the threshold need a manager's approval before the forecast"),
        required=False,
        help_text=_("Off: the manager is told, the deal counts at once."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required custom fields"),
        choices=[(name, capfirst(CUSTOM_FIELD_LABELS[name])) for name in CUSTOM_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Converting, and later edits, need these filled in (no “TBD”)."),
    )
    stall_age_days = forms.IntegerField(
        label=_("An early-stage deal counts as stalled after (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        help_text=_("Used by the Quality report."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        policy: ConversionPolicy,
    ) -> None:
        values = policy_values(policy)
        super().__init__(data, initial=values)
        style_widgets(self)
        self.thresholds: BaseThresholdFormSet = ThresholdFormSet(
            data,
            prefix="thresholds",
            initial=[
                {"currency": code, "amount": amount}
                for code, amount in sorted((policy.approval_thresholds or {}).items())
            ],
        )  # type: ignore[assignment]  # formset_factory returns the base type

    def is_valid(self) -> bool:
        own = super().is_valid()
        rows = self.thresholds.is_valid()
        return own and rows

    def make_read_only(self) -> None:
        super().make_read_only()
        for row in self.thresholds.forms:
            for field in row.fields.values():
                field.disabled = True

    def policy_data(self) -> dict[str, Any]:
        """The cleaned values as `configuration.conversion_policy_update` takes them."""
        return self.parsed()

    def parsed(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if not self.thresholds.total_error_count():
            data["approval_thresholds"] = self.thresholds.thresholds()
        return data

    def form_field(self, problem: Problem) -> str | None:
        prefix, _dot, _code = (problem.field or "").partition(".")
        return prefix or None

    def add_problems(self, problems: list[Problem]) -> None:
        """A threshold's problem goes on its row (`approval_thresholds.USD`)."""
        rows = {
            row.cleaned_data.get("currency"): row
            for row in self.thresholds.forms
            if hasattr(row, "cleaned_data")
        }
        for problem in problems:
            prefix, _dot, code = (problem.field or "").partition(".")
            if prefix == "approval_thresholds" and code in rows:
                field = "currency" if problem.code == "invalid_currency" else "amount"
                rows[code].add_error(field, str(problem.message))
            else:
                _put(self, problem.field, str(problem.message))
