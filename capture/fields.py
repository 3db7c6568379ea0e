"""What a visitor may fill in on a web form: a subset of the lead's intake fields.

Source and campaign come from the form itself; score, segment, territory and the owner are
sales' business, never a visitor's. The fields the intake rules require
(`leads.gate.intake_problems`: company, last name, an e-mail or a phone) are always on a
form, so a form can never be set up to produce only refusals: company and last name are
added to every form, and a form that shows neither e-mail nor phone is refused
(`capture.services.forms.web_form_problems`), since which of the two to ask is RevOps'
choice, not ours to guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class FieldSpec:
    """How a lead field appears to a visitor."""

    label: StrOrPromise
    input_type: str  # the HTML <input type=…> of the snippet
    autocomplete: str  # the HTML autocomplete token: browsers fill the form in for people


FORM_FIELDS: dict[str, FieldSpec] = {
    "first_name": FieldSpec(_("First name"), "text", "given-name"),
    "last_name": FieldSpec(_("Last name"), "text", "family-name"),
    "email": FieldSpec(_("Work e-mail"), "email", "email"),
    "phone": FieldSpec(_("Phone"), "tel", "tel"),
    "job_title": FieldSpec(_("Job title"), "text", "organization-title"),
    "company_name": FieldSpec(_("Company"), "text", "organization"),
    "company_domain": FieldSpec(_("Company website"), "text", "url"),
    "industry": FieldSpec(_("Industry"), "text", "off"),
    "employee_count": FieldSpec(_("Number of employees"), "number", "off"),
    "country": FieldSpec(_("Country"), "text", "country"),
}
ALWAYS_SHOWN = ("company_name", "last_name")
# One way to reach the person is required: a form shows e-mail, phone or both.
REACH = ("email", "phone")
DEFAULT_FIELDS = ("first_name", "last_name", "email", "company_name", "job_title")
HONEYPOT = "website"  # a name bots fill in; people never see the input


def with_required(fields: Iterable[str]) -> list[str]:
    """`fields` in their order, followed by the always-asked fields they leave out."""
    chosen = list(dict.fromkeys(fields))
    return chosen + [name for name in ALWAYS_SHOWN if name not in chosen]


def offers_reach(fields: Iterable[str]) -> bool:
    """Whether a form with `fields` asks for a way to reach the person (e-mail or phone)."""
    return bool(set(fields).intersection(REACH))


def is_always_shown(name: str) -> bool:
    return name in ALWAYS_SHOWN


def visitor_must_fill(fields: Iterable[str]) -> set[str]:
    """The fields of a form a visitor cannot leave blank: company and last name, and the
    way to reach them when the form offers only one (e-mail or phone)."""
    chosen = set(fields)
    required = chosen.intersection(ALWAYS_SHOWN)
    reach = chosen.intersection(REACH)
    if len(reach) == 1:
        required |= reach
    return required
