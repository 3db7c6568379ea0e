"""Browser forms for conversion and the pipeline.

They parse and shape input only. The conversion wizard's forms hand the service raw
primitives (strings, ids, ISO dates) so that `opportunities.conversion.parse_input` owns
every rule and message; the views put the service's `Problem`s back on these fields.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from babel.numbers import get_currency_name, list_currencies
from django import forms
from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from crm.dates import EARLIEST, LATEST, is_recordable
from crm.exceptions import Problem
from crm.models import Contact, Team, User
from leads.models import Source
from opportunities import selectors
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.models import Opportunity, OpportunityContactRole, Stage
from opportunities.services import EDITABLE_FIELDS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

COMMON_CURRENCIES = ("USD", "EUR", "GBP", "SGD", "IDR", "AUD", "JPY", "MYR", "INR", "CAD")
# The opportunity's required data (DOMAIN.md); the custom ones come from the policy.
CORE_REQUIRED = (
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "stage",
    "next_step",
    "next_step_owner",
    "next_step_due",
)


def currency_choices(*extra: str) -> list[tuple[str, str]]:
    try:
        locale = to_locale(get_language() or "en")
        codes = set(list_currencies(locale))
    except Exception:  # noqa: BLE001 - an unknown locale falls back to English names
        locale, codes = "en", set(list_currencies())
    wanted = [c for c in dict.fromkeys([*extra, *COMMON_CURRENCIES]) if c and c in codes]
    return [(c, f"{c} — {get_currency_name(c, locale=locale)}") for c in wanted]


class StyledForm(forms.Form):
    """Bootstrap classes on every widget; `marked_required` fields get the asterisk
    because a service rule requires them, not the form."""

    marked_required: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            show_required = name in self.marked_required or field.required
            # Read by templates/opportunities/_field.html for the asterisk.
            field.show_required = show_required  # type: ignore[attr-defined]  # a template flag
            if show_required:
                widget.attrs["aria-required"] = "true"


def form_problems(form: forms.Form) -> list[Problem]:
    """The form's own errors as Problems, to list beside the service's (the wizard) or
    to answer a script with (the board)."""
    return [
        Problem("invalid", None if field == "__all__" else field, str(message))
        for field, errors in form.errors.items()
        for message in errors
    ]


def _model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    """A model choice field of `form` whose queryset is set at run time."""
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of `form` whose choices are set at run time."""
    return cast(forms.ChoiceField, form.fields[name])


def _text(label: StrOrPromise, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, strip=True, **kwargs)


def _area(label: StrOrPromise, rows: int = 2, **kwargs: Any) -> forms.CharField:
    return _text(label, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


def _date(label: StrOrPromise, **kwargs: Any) -> forms.CharField:
    # ISO YYYY-MM-DD from the browser's date picker; the service parses and judges it.
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # in every language
    return _text(label, widget=widget, **kwargs)


class StageSelect(forms.Select):
    """Each option carries the stage's default probability for the wizard's script."""

    def __init__(self, *args: Any, probabilities: dict[str, int] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.probabilities = probabilities or {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.probabilities:
            option["attrs"]["data-probability"] = self.probabilities[str(value)]
        return option


# --- conversion wizard ------------------------------------------------------------------------


class ConversionForm(StyledForm):
    ACTION_CONVERT = "convert"
    ACTION_OVERRIDE = "override"

    name = _text(
        _("Opportunity name"),
        max_length=250,
        help_text=_("Company - Product/Service - Use case"),
    )
    amount = _text(
        _("Estimated deal size"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = _text(_("Currency"), widget=forms.Select)
    discount_notes = _area(_("Discount or special pricing"))
    expected_close_date = _date(_("Expected close date"))
    close_date_reason = _area(_("Why outside the usual window?"))
    stage = _text(_("Entry stage"), widget=StageSelect)
    probability = _text(
        _("Probability %"), widget=forms.NumberInput(attrs={"min": 0, "max": 100, "step": 1})
    )
    next_step = _text(
        _("Next step"),
        max_length=250,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Technical deep-dive with IT")}),
    )
    next_step_owner = _text(_("Owner"), widget=forms.Select)
    next_step_due = _date(_("Due"))
    product_line = _text(_("Product line"), max_length=100)
    use_case = _text(_("Use case"), max_length=200)
    industry_vertical = _text(_("Industry vertical"), max_length=100)
    decision_criteria = _area(_("Decision criteria"), rows=3)
    competitive_landscape = _area(_("Competitors considered"), rows=2)
    risks = _area(_("Risks / deal blockers"), rows=2)
    attach_to = _text(_("Deal"), widget=forms.HiddenInput)
    override_rationale = _area(_("Why convert now?"), rows=3)
    action = forms.ChoiceField(
        choices=[(ACTION_CONVERT, ACTION_CONVERT), (ACTION_OVERRIDE, ACTION_OVERRIDE)],
        initial=ACTION_CONVERT,
        required=False,
        widget=forms.HiddenInput,
    )

    RAW_FIELDS = (
        "name",
        "amount",
        "currency",
        "discount_notes",
        "expected_close_date",
        "close_date_reason",
        "stage",
        "probability",
        "next_step",
        "next_step_owner",
        "next_step_due",
        *CUSTOM_FIELDS,
        "attach_to",
    )

    def __init__(
        self,
        *args: Any,
        stages: Sequence[Stage],
        owners: Iterable[User],
        currencies: list[tuple[str, str]],
        required_custom: Iterable[str],
        **kwargs: Any,
    ) -> None:
        self.marked_required = frozenset([*CORE_REQUIRED, *required_custom])
        super().__init__(*args, **kwargs)
        self.fields["stage"].widget.choices = [(str(s.pk), s.name) for s in stages]
        self.fields["stage"].widget.probabilities = {
            str(s.pk): s.default_probability for s in stages
        }
        self.fields["next_step_owner"].widget.choices = [
            (str(u.pk), u.get_full_name() or u.username) for u in owners
        ]
        self.fields["currency"].widget.choices = currencies
        self.fields["name"].widget.attrs["placeholder"] = _("Company - Product/Service - Use case")

    @property
    def wants_override(self) -> bool:
        return (self.cleaned_data.get("action") or "") == self.ACTION_OVERRIDE

    def raw(self) -> dict[str, Any]:
        """The service's input: strings as typed, ids and ISO dates; nothing judged here."""
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name, "") for name in self.RAW_FIELDS}


class ContactRoleForm(StyledForm):
    """One contact-role row: the lead's own person, an account contact or a new person."""

    KIND_LEAD = "lead"
    KIND_OTHER = "other"

    kind = forms.ChoiceField(
        choices=[(KIND_LEAD, KIND_LEAD), (KIND_OTHER, KIND_OTHER)],
        initial=KIND_OTHER,
        required=False,
        widget=forms.HiddenInput,
    )
    role = _text(_("Role"), widget=forms.Select)
    contact = _text(_("Contact"), widget=forms.Select)
    first_name = _text(_("First name"), max_length=100)
    last_name = _text(_("Last name"), max_length=100)
    email = _text(_("E-mail"), max_length=254, widget=forms.EmailInput)
    job_title = _text(_("Job title"), max_length=150)

    def __init__(self, *args: Any, contacts: Sequence[Contact] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].widget.choices = [
            ("", _("Choose a role…")),
            *OpportunityContactRole.Role.choices,
        ]
        self.fields["contact"].widget.choices = [
            ("", _("New contact…")),
            *(
                (str(c.pk), f"{c.full_name}{f' · {c.job_title}' if c.job_title else ''}")
                for c in contacts
            ),
        ]

    @property
    def is_lead_row(self) -> bool:
        value = self["kind"].value()
        return value == self.KIND_LEAD

    def raw(self) -> dict[str, Any] | None:
        """The row as the service reads it, or None for a row left empty."""
        data = getattr(self, "cleaned_data", {})
        role = data.get("role", "")
        if data.get("kind") == self.KIND_LEAD:
            return {"lead_contact": True, "role": role} if role else None
        person = {k: data.get(k, "") for k in ("first_name", "last_name", "email", "job_title")}
        if not role and not data.get("contact") and not any(person.values()):
            return None
        if data.get("contact"):
            return {"contact": data["contact"], "role": role}
        return {"role": role, **person}


class BaseContactRoleFormSet(forms.BaseFormSet):
    def raw(self) -> tuple[list[dict[str, Any]], list[int]]:
        """The rows to send and, for each, the index of the form it came from (the service
        names problems `contact_roles.<sent index>.<field>`)."""
        rows, origin = [], []
        for index, form in enumerate(self.forms):
            row = form.raw()
            if row is not None:
                rows.append(row)
                origin.append(index)
        return rows, origin


ContactRoleFormSet = cast(
    type[BaseContactRoleFormSet],
    forms.formset_factory(
        ContactRoleForm, formset=BaseContactRoleFormSet, extra=0, max_num=50, absolute_max=50
    ),
)


# --- opportunity list and board ---------------------------------------------------------------


class CloseMonthField(forms.DateField):
    """A month as `<input type="month">` sends it ("2026-03"), read as its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]

    def to_python(self, value: Any) -> datetime.date | None:
        day = super().to_python(value)
        if day is not None and not is_recordable(day):
            raise forms.ValidationError(
                _("Choose a month between %(first)s and %(last)s.")
                % {"first": EARLIEST.year, "last": LATEST.year}
            )
        return day


FILTER_NAMES = (
    "q",
    "state",
    "stage",
    "owner",
    "team",
    "source",
    "currency",
    "close_month",
    "approval",
)
BOARD_FILTER_NAMES = ("owner", "team", "currency", "close_month")


class OpportunityFilterForm(StyledForm):
    STATE_OPEN = selectors.STATE_OPEN
    STATE_CLOSED = selectors.STATE_CLOSED
    STATE_WON = selectors.STATE_WON
    STATE_LOST = selectors.STATE_LOST
    STATE_STALE = selectors.STATE_STALE
    STATE_ALL = selectors.STATE_ALL

    q = _text(
        _("Search"),
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("Deal or account name")}),
    )
    state = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (STATE_OPEN, _("Open deals")),
            (STATE_STALE, _("Stale (past the stage's age)")),
            (STATE_CLOSED, _("Closed")),
            (STATE_WON, _("Closed won")),
            (STATE_LOST, _("Closed lost")),
            (STATE_ALL, _("All")),
        ],
    )
    stage = forms.ModelChoiceField(
        label=_("Stage"), required=False, queryset=Stage.objects.none(), empty_label=_("Any stage")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), required=False, queryset=User.objects.none(), empty_label=_("Anyone")
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any source")), *Source.choices]
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    # The board's filters too, so the board-table toggle keeps what the user narrowed.
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=Team.objects.none(), empty_label=_("All teams")
    )
    close_month = CloseMonthField(label=_("Closing in"), required=False)
    approval = forms.ChoiceField(
        label=_("Governance"),
        required=False,
        choices=[
            ("", _("Any")),
            (Opportunity.Approval.PENDING, _("Approval pending")),
            ("override", _("Converted by override")),
        ],
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, owners: Any, currencies: list[str], teams: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _model_choice(self, "stage").queryset = Stage.objects.filter(is_active=True)
        _model_choice(self, "owner").queryset = owners
        _model_choice(self, "team").queryset = teams if teams is not None else Team.objects.none()
        _choice(self, "currency").choices = [("", _("Any currency"))] + [(c, c) for c in currencies]

    def querystring(self, **changes: Any) -> str:
        """The filters as a query string (without the cursor unless given)."""
        params = QueryDict(mutable=True)
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        for name in FILTER_NAMES:
            value = changes.get(name, data.get(name))
            value = getattr(value, "pk", value)
            if isinstance(value, datetime.date):
                value = value.strftime("%Y-%m")
            if value not in (None, ""):
                params[name] = str(value)
        if changes.get("cursor"):
            params["cursor"] = changes["cursor"]
        return params.urlencode()


class BoardFilterForm(StyledForm):
    """The board's filters; the deal list takes the same names, so the board-table toggle
    carries them across."""

    owner = forms.ModelChoiceField(
        label=_("Owner"), required=False, queryset=User.objects.none(), empty_label=_("Everyone")
    )
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=Team.objects.none(), empty_label=_("All teams")
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    close_month = CloseMonthField(label=_("Closing in"), required=False)

    def __init__(
        self, *args: Any, owners: Any, teams: Any, currencies: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _model_choice(self, "owner").queryset = owners
        _model_choice(self, "team").queryset = teams
        _choice(self, "currency").choices = [("", _("Any currency"))] + [(c, c) for c in currencies]


# --- one opportunity --------------------------------------------------------------------------


class OpportunityEditForm(StyledForm):
    """The editable fields, typed; `opportunity_update` judges the values."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(
        self, *args: Any, owners: Any, currencies: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        fields = forms.fields_for_model(
            Opportunity,
            fields=list(EDITABLE_FIELDS),
            widgets={
                "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                "next_step_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                "discount_notes": forms.Textarea(attrs={"rows": 2}),
                "close_date_reason": forms.Textarea(attrs={"rows": 2}),
                "decision_criteria": forms.Textarea(attrs={"rows": 3}),
                "competitive_landscape": forms.Textarea(attrs={"rows": 2}),
                "risks": forms.Textarea(attrs={"rows": 2}),
            },
        )
        fields["currency"] = forms.ChoiceField(label=_("currency"), choices=currencies)
        cast("forms.ModelChoiceField[Any]", fields["next_step_owner"]).queryset = owners
        # The model field has no verbose name of its own (a migration to add one is not
        # worth it): the label is the form's, translated.
        fields["next_step_owner"].label = capfirst(_("next step owner"))
        super().__init__(*args, **kwargs)
        # The model's fields, in order, then the version the user saw.
        self.fields = {**fields, "version": self.fields["version"]}
        for field in self.fields.values():
            field.label = capfirst(str(field.label))
        self.style_fields()

    def changes(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in self.changed_data if n in EDITABLE_FIELDS}


class StageMoveForm(StyledForm):
    stage = forms.ModelChoiceField(
        label=_("Move to"), queryset=Stage.objects.none(), empty_label=None
    )
    reason = _text(_("Note"), max_length=500)
    lost_reason = _area(_("Why was it lost?"), rows=2)
    lost_to_competitor = _text(
        _("Lost to"),
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": _("Competitor, or 'No decision'")}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, current: Stage | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = Stage.objects.filter(is_active=True)
        if current is not None and not self.is_bound:
            stages = stages.exclude(pk=current.pk)
        _model_choice(self, "stage").queryset = stages


class DecisionForm(StyledForm):
    APPROVE = "approve"
    DECLINE = "decline"

    decision = forms.ChoiceField(choices=[(APPROVE, APPROVE), (DECLINE, DECLINE)])
    note = _area(_("Note to the requester"), rows=2, max_length=1000)

    @property
    def approves(self) -> bool:
        return self.cleaned_data["decision"] == self.APPROVE
