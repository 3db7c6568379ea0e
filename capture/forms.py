"""Browser forms of capture: the public lead form a visitor fills in, and RevOps' settings
forms for web forms and intake keys. They parse and type-check only; the intake rules
(`leads.gate`) and the settings rules (`capture.services`) decide what is valid."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from capture.fields import (
    ALWAYS_SHOWN,
    DEFAULT_FIELDS,
    FORM_FIELDS,
    HONEYPOT,
    REACH,
    visitor_must_fill,
)
from capture.models import WebForm
from crm.countries import country_choices, country_code
from crm.exceptions import Problem
from crm.web.forms import ReadOnlyCapable, form_problems
from leads.forms import StyledForm, VersionedForm
from leads.models import Lead, Source

MAX_EMPLOYEES = 10_000_000


class CountryField(forms.CharField):
    """A country as a two-letter code; a visitor's snippet may send the name instead, in
    any language the product speaks or as people write it ("USA", "Deutschland"):
    `crm.countries.country_code`, the reader every channel shares."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=60, **kwargs)

    def clean(self, value: Any) -> str:
        text = str(super().clean(value) or "").strip()
        code = country_code(text)
        if code is None:
            raise forms.ValidationError(
                _("“%(value)s” is not a country we know: choose one from the list."),
                code="invalid",
                params={"value": text},
            )
        return code


class PublicLeadForm(StyledForm):
    """The fields a web form shows, in its order, plus the honeypot."""

    def __init__(self, *args: Any, web_form: WebForm, hosted: bool = False, **kwargs: Any) -> None:
        self.web_form = web_form
        self.hosted = hosted
        kwargs.setdefault("auto_id", "tf_%s")
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        model_fields = forms.fields_for_model(Lead, fields=list(self.web_form.fields))
        for name in self.web_form.fields:
            spec = FORM_FIELDS.get(name)
            if spec is None:
                continue
            field: forms.Field
            if name == "country":
                field = CountryField()
                if self.hosted:
                    field.widget = forms.Select(choices=country_choices())
            else:
                field = model_fields[name]
            if isinstance(field, forms.EmailField):
                # The product's spelling ("e-mail"), not Django's: the validator's "invalid"
                # message is replaced by the field's own of that code.
                field.error_messages["invalid"] = _("Enter a valid e-mail address.")
            field.required = False
            field.label = spec.label
            if name == "phone":
                field.validators.append(_phone_number)
            if isinstance(field, forms.IntegerField):
                # The model field allows up to 2**31: beyond a real company, and beyond
                # that the database refuses (a 500 for a visitor's typo).
                field.validators.append(_max_employees)
                field.widget.attrs["max"] = MAX_EMPLOYEES
            field.widget.attrs["autocomplete"] = spec.autocomplete
            self.fields[name] = field
        shown = set(self.web_form.fields)
        if len(shown.intersection(REACH)) == 2:
            self.fields["email"].help_text = _("An e-mail address or a phone number.")
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            label=_("Leave this empty"),
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )

    def is_marked_required(self, name: str) -> bool:
        return name in visitor_must_fill(self.web_form.fields)

    def visible(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != HONEYPOT]

    def is_spam(self) -> bool:
        """A bot filled in the field people never see. Read from the raw data: the form
        need not be valid for this to be decided."""
        return bool(str(self.data.get(HONEYPOT, "") or "").strip())

    def lead_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields if name != HONEYPOT}

    def problems(self) -> list[Problem]:
        """The form's errors as the API names them."""
        return form_problems(self)


# A number as people write one: digits with spaces, +, dots, dashes, slashes or brackets,
# maybe an extension ("x 12", "ext. 12", "#12").
_PHONE = re.compile(r"[\d\s+()./\-]+(?:(?:x|ext\.?|#)\s*\d{1,6})?", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_EXTENSION = re.compile(r"x|ext\.?|#", re.IGNORECASE)


def _phone_number(value: str) -> None:
    """A visitor's phone is a number, not a sentence ("call me maybe"): 6 to 15 digits
    (E.164 has at most 15). Lenient on purpose: a web form knows no country to read a
    local number by, so the `phonenumbers` rules for each country cannot be applied."""
    if not value:
        return
    number = _EXTENSION.split(value, maxsplit=1)[0]
    digits = len(_DIGIT.findall(number))
    if not _PHONE.fullmatch(value.strip()) or not 6 <= digits <= 15:
        raise forms.ValidationError(
            _("Enter a phone number, e.g. +62 812 3456 7890."), code="invalid"
        )


def _max_employees(value: int) -> None:
    if value is not None and value > MAX_EMPLOYEES:
        raise forms.ValidationError(_("Enter a realistic number of employees."), code="max_value")


def json_form_data(
    body: Mapping[str, Any], names: list[str]
) -> tuple[dict[str, str], list[Problem]]:
    """A JSON object as form data: the known names' values as text. A nested object, a
    list or a boolean where text belongs is a problem naming the field; unknown keys are
    ignored, as a plain HTML form post's extra inputs are."""
    data: dict[str, str] = {}
    problems: list[Problem] = []
    for name in names:
        if name not in body:
            continue
        value = body[name]
        if value is None:
            data[name] = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            problems.append(Problem("invalid", name, str(_("Send text or a number."))))
        else:
            data[name] = str(value)
    return data, problems


# --- settings ----------------------------------------------------------------------------------


class WebFormSettingsForm(ReadOnlyCapable, VersionedForm):
    """A web form's settings. Each lead field has a "show" box and a position."""

    marked_required = frozenset({"name"})

    name = forms.CharField(label=_("Name"), required=False, max_length=150)
    source = forms.ChoiceField(label=_("Lead source"), choices=Source.choices)
    campaign = forms.CharField(
        label=_("Campaign"),
        required=False,
        max_length=150,
        help_text=_("Every lead from this form gets it (routing rules can match on it)."),
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown after a successful post. Blank: a short default thank-you."),
    )
    redirect_url = forms.CharField(
        label=_("Or redirect to"),
        required=False,
        max_length=500,
        help_text=_("A page on your site to send the visitor to instead (https://…)."),
    )
    allowed_origins = forms.CharField(
        label=_("Allowed web sites"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line, e.g. https://www.example.com. Their pages may post this form "
            "with JavaScript (CORS) and embed the hosted form; posts from other sites are "
            "refused. Blank: any site may post the plain HTML form."
        ),
    )
    is_active = forms.BooleanField(
        label=_("Active: the form takes submissions"), required=False, initial=True
    )

    def add_fields(self) -> None:
        for position, (name, spec) in enumerate(FORM_FIELDS.items(), start=1):
            self.fields[f"show_{name}"] = forms.BooleanField(
                label=spec.label, required=False, disabled=name in ALWAYS_SHOWN
            )
            self.fields[f"order_{name}"] = forms.IntegerField(
                label=_("Position of %(field)s") % {"field": spec.label},
                required=False,
                min_value=1,
                max_value=99,
                initial=position,
            )

    @classmethod
    def initial_for(cls, form: WebForm | None) -> dict[str, Any]:
        shown = list(form.fields) if form is not None else []
        initial: dict[str, Any] = {}
        if form is not None:
            initial.update(
                name=form.name,
                source=form.source,
                campaign=form.campaign,
                thank_you_message=form.thank_you_message,
                redirect_url=form.redirect_url,
                allowed_origins="\n".join(form.allowed_origins),
                is_active=form.is_active,
                version=form.version,
            )
        else:
            shown = list(DEFAULT_FIELDS)
            initial["source"] = Source.INBOUND
        catalogue = list(FORM_FIELDS)
        for name in catalogue:
            initial[f"show_{name}"] = name in shown or name in ALWAYS_SHOWN
            position = shown.index(name) if name in shown else len(shown) + catalogue.index(name)
            initial[f"order_{name}"] = position + 1
        return initial

    def field_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """The lead fields by the position they have (as posted, or as saved)."""
        catalogue = list(FORM_FIELDS)

        def position(name: str) -> tuple[int, int]:
            value = self[f"order_{name}"].value()
            try:
                return int(value), catalogue.index(name)
            except (TypeError, ValueError):
                return 99, catalogue.index(name)

        return [
            (self[f"show_{name}"], self[f"order_{name}"])
            for name in sorted(catalogue, key=position)
        ]

    def add_problems(self, problems: list[Problem]) -> None:
        """The service's problems on the inputs they concern (`crm.web.forms.put_on_form`):
        the fields shown have no one input, so a missing way to reach the person goes
        beside the e-mail box. A field already in error is not named twice: the service
        saw no value for it, as the form could not read one."""
        for problem in problems:
            name = self._input_for(problem)
            if name is not None and name in self.errors:
                continue
            self.add_error(name, str(problem.message))

    def _input_for(self, problem: Problem) -> str | None:
        if problem.field == "fields":
            return "show_email" if problem.code == "no_reach" else None
        return problem.field if problem.field in self.fields else None

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        catalogue = list(FORM_FIELDS)
        chosen = [name for name in catalogue if data.get(f"show_{name}") or name in ALWAYS_SHOWN]
        chosen.sort(key=lambda n: (data.get(f"order_{n}") or 99, catalogue.index(n)))
        origins = [
            line.strip()
            for line in str(data.get("allowed_origins") or "").splitlines()
            if line.strip()
        ]
        return {
            "name": data.get("name") or "",
            "fields": chosen,
            "source": data.get("source"),
            "campaign": data.get("campaign") or "",
            "thank_you_message": data.get("thank_you_message") or "",
            "redirect_url": data.get("redirect_url") or "",
            "allowed_origins": origins,
            "is_active": bool(data.get("is_active")),
        }


class IntakeKeyForm(StyledForm):
    marked_required = frozenset({"name"})

    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=100,
        help_text=_("What uses it, e.g. “HubSpot workflow”."),
    )
