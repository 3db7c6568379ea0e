"""The wizard's input, parsed and checked in one pass so every problem comes back at once.

Browser form, API and approved override requests all hand raw primitives (strings, ids,
ISO dates) to `parse_input`, so the rules and the messages are the same everywhere. A
value of the wrong kind (a list for a name, "NaN" for an amount, an id no table can hold)
is a problem on its field, never an exception.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.dates import EARLIEST, LATEST, is_recordable
from crm.exceptions import Problem
from crm.models import Contact, User
from crm.money import currencies_in_use
from leads.gate import is_blank
from opportunities.models import (
    ConversionPolicy,
    Opportunity,
    OpportunityContactRole,
    Stage,
    max_length_of,
)

CUSTOM_FIELDS = (
    "product_line",
    "use_case",
    "industry_vertical",
    "decision_criteria",
    "competitive_landscape",
    "risks",
)
CUSTOM_FIELD_LABELS = {
    "product_line": gettext_lazy("product line"),
    "use_case": gettext_lazy("use case"),
    "industry_vertical": gettext_lazy("industry vertical"),
    "decision_criteria": gettext_lazy("decision criteria"),
    "competitive_landscape": gettext_lazy("competitive landscape"),
    "risks": gettext_lazy("risks / deal blockers"),
}
_NAME_PARTS = re.compile(r"\s+[-–—]\s+")
# Currencies an amount may be kept in: legal tender somewhere, never "XXX" or a metal.
CURRENCIES = currencies_in_use()
# The keys of the conversion input (`opportunities.api.serializers.ConversionInputSerializer`
# documents them); the API refuses any other key rather than ignore it.
INPUT_FIELDS = frozenset(
    {
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
        "contact_roles",
        "attach_to",
        *CUSTOM_FIELDS,
    }
)
ROLE_FIELDS = frozenset(
    {"role", "lead_contact", "contact", "first_name", "last_name", "email", "job_title"}
)
# The largest id a table can hold (signed 64 bits): a larger number names no row.
MAX_ID = 2**63 - 1
_AMOUNT = Opportunity._meta.get_field("amount")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


@dataclass
class ContactRoleInput:
    role: str
    contact: Contact | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    job_title: str = ""
    lead_contact: bool = False  # the lead's own person, matched or created by the service


@dataclass
class ConversionData:
    name: str = ""
    amount: Decimal | None = None
    currency: str = ""
    discount_notes: str = ""
    expected_close_date: datetime.date | None = None
    close_date_reason: str = ""
    stage: Stage | None = None
    probability: int | None = None
    next_step: str = ""
    next_step_owner: User | None = None
    next_step_due: datetime.date | None = None
    contact_roles: list[ContactRoleInput] = field(default_factory=list)
    attach_to: Opportunity | None = None
    custom: dict[str, str] = field(default_factory=dict)
    unparsed: set[str] = field(default_factory=set)  # already reported; not "missing" too


def unknown_field_problems(raw: Mapping[str, Any], *, also: Iterable[str] = ()) -> list[Problem]:
    """A problem for each key of the input (and of each contact role) that names no field."""
    known = INPUT_FIELDS | set(also)
    problems = [
        Problem("unknown_field", str(key), _("Unknown field '%(name)s'.") % {"name": key})
        for key in raw
        if key not in known
    ]
    rows = raw.get("contact_roles")
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        for key in row if isinstance(row, Mapping) else ():
            if key not in ROLE_FIELDS:
                problems.append(
                    Problem(
                        "unknown_field",
                        f"contact_roles.{i}.{key}",
                        _("Unknown field '%(name)s'.") % {"name": key},
                    )
                )
    return problems


def _text(raw: Mapping[str, Any], key: str, problems: list[Problem], where: str = "") -> str:
    """The text at `key`; a list or an object there is a problem on the field (`where`)."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, Mapping | list | tuple | set):
        problems.append(Problem("invalid", f"{where}{key}", _("Enter text, not a list or object.")))
        return ""
    text = str(value).strip()
    # Neither a NUL nor a lone surrogate can be stored (PostgreSQL refuses both).
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        problems.append(Problem("invalid", f"{where}{key}", _("Remove the control characters.")))
        return ""
    return text


def _date(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> datetime.date | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        day = value
    else:
        text = str(value).strip() if isinstance(value, str) else ""
        try:
            # Only the calendar date, YYYY-MM-DD: not week dates nor "20260101".
            if len(text) != 10:
                raise ValueError(text)
            day = datetime.date.fromisoformat(text)
        except ValueError:
            problems.append(Problem("invalid_date", key, _("Enter a date as YYYY-MM-DD.")))
            return None
    if not is_recordable(day):
        problems.append(
            Problem(
                "out_of_range",
                key,
                _("Enter a date between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
            )
        )
        return None
    return day


def _amount(value: Any, problems: list[Problem]) -> Decimal | None:
    """A deal size that fits the amount column (digits and decimal places), or a problem."""
    amount = Decimal("NaN")
    if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
        with contextlib.suppress(InvalidOperation):
            amount = Decimal(str(value).strip().replace(",", ""))
    if not amount.is_finite():
        problems.append(Problem("invalid_number", "amount", _("Enter the deal size as a number.")))
        return None
    places = _AMOUNT.decimal_places or 0
    limit = Decimal(10) ** ((_AMOUNT.max_digits or 0) - places)
    if abs(amount) >= limit:
        problems.append(
            Problem(
                "out_of_range",
                "amount",
                _("The deal size must be below %(max)s.")
                % {"max": number_format(limit, 0, force_grouping=True)},
            )
        )
        return None
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        problems.append(
            Problem(
                "invalid_number", "amount", _("Use at most %(n)s decimal places.") % {"n": places}
            )
        )
        return None
    return amount


def _whole_number(value: Any) -> int | None:
    """`value` as a whole number (an int, or its digits as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isascii() and text.lstrip("-").isdigit() and len(text) <= 20:
            return int(text)
    return None


def _flag(value: Any) -> bool | None:
    """A yes/no answer (JSON true/false, or its text), else None."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _pks(value: Any) -> list[int]:
    """The id in `value` (an id, its text, or an object), as a lookup list: empty when
    there is none (not a whole number, or one no table can hold), so the lookup finds
    nothing rather than failing."""
    if hasattr(value, "pk"):
        value = value.pk
    pk = _whole_number(value)
    return [pk] if pk is not None and 1 <= pk <= MAX_ID else []


def parse_input(
    raw: Mapping[str, Any], *, people: Sequence[User | None] = ()
) -> tuple[ConversionData, list[Problem]]:
    """Raw primitives -> typed data, with a problem for every value that does not parse.
    `people` are users the caller has loaded (the lead's AE, the person converting): a
    next-step owner among them is taken as is instead of read again."""
    problems: list[Problem] = []
    data = ConversionData(
        name=_text(raw, "name", problems),
        currency=_text(raw, "currency", problems).upper(),
        discount_notes=_text(raw, "discount_notes", problems),
        close_date_reason=_text(raw, "close_date_reason", problems),
        next_step=_text(raw, "next_step", problems),
        custom={f: _text(raw, f, problems) for f in CUSTOM_FIELDS},
    )
    if raw.get("amount") not in (None, ""):
        data.amount = _amount(raw["amount"], problems)
    data.expected_close_date = _date(raw, "expected_close_date", problems)
    data.next_step_due = _date(raw, "next_step_due", problems)
    if raw.get("probability") not in (None, ""):
        data.probability = _whole_number(raw["probability"])
        if data.probability is None:
            problems.append(
                Problem("invalid_number", "probability", _("Enter a whole percentage."))
            )
    data.unparsed |= {p.field for p in problems if p.field}
    if raw.get("stage") not in (None, ""):
        data.stage = Stage.objects.filter(pk__in=_pks(raw["stage"]), is_active=True).first()
        if data.stage is None:
            problems.append(Problem("invalid_choice", "stage", _("Choose a pipeline stage.")))
            data.unparsed.add("stage")
    if raw.get("next_step_owner") not in (None, ""):
        wanted = _pks(raw["next_step_owner"])
        # The AE or the person converting, usually: loaded already, no query for them.
        known = [u for u in people if u is not None and u.pk in wanted and u.is_active]
        data.next_step_owner = (
            known[0] if known else User.objects.filter(pk__in=wanted, is_active=True).first()
        )
        if data.next_step_owner is None:
            problems.append(
                Problem("invalid_choice", "next_step_owner", _("Choose who owns the next step."))
            )
            data.unparsed.add("next_step_owner")
    if raw.get("attach_to") not in (None, ""):
        data.attach_to = Opportunity.objects.filter(pk__in=_pks(raw["attach_to"])).first()
        if data.attach_to is None:
            problems.append(
                Problem("invalid_choice", "attach_to", _("That opportunity does not exist."))
            )
    data.contact_roles = _parse_roles(raw.get("contact_roles") or [], problems)
    return data, problems


def _parse_roles(rows: Any, problems: list[Problem]) -> list[ContactRoleInput]:
    roles: list[ContactRoleInput] = []
    if not isinstance(rows, list):
        problems.append(Problem("invalid", "contact_roles", _("Send a list of contact roles.")))
        return roles
    for i, row in enumerate(rows):
        where = f"contact_roles.{i}"
        if not isinstance(row, Mapping):
            problems.append(Problem("invalid", where, _("Each contact role is an object.")))
            continue
        role = row.get("role") or ""
        if not isinstance(role, str) or role not in OpportunityContactRole.Role.values:
            problems.append(
                Problem(
                    "invalid_choice",
                    f"{where}.role",
                    _("Choose economic buyer, champion, influencer or technical evaluator."),
                )
            )
        lead_contact = _flag(row.get("lead_contact"))
        if lead_contact is None:
            problems.append(Problem("invalid", f"{where}.lead_contact", _("Answer true or false.")))
        item = ContactRoleInput(
            role=role if isinstance(role, str) else "",
            first_name=_text(row, "first_name", problems, f"{where}."),
            last_name=_text(row, "last_name", problems, f"{where}."),
            email=_text(row, "email", problems, f"{where}."),
            job_title=_text(row, "job_title", problems, f"{where}."),
            lead_contact=bool(lead_contact),
        )
        if row.get("contact") not in (None, ""):
            item.contact = Contact.objects.filter(pk__in=_pks(row["contact"])).first()
            if item.contact is None:
                problems.append(
                    Problem("invalid_choice", f"{where}.contact", _("That contact does not exist."))
                )
        elif not item.lead_contact and (is_blank(item.last_name) or is_blank(item.email)):
            problems.append(
                Problem(
                    "required", where, _("A new contact needs a last name and an e-mail address.")
                )
            )
        elif not item.lead_contact and not _is_email(item.email):
            problems.append(
                Problem("invalid_email", f"{where}.email", _("Enter a valid e-mail address."))
            )
        roles.append(item)
    return roles


def input_problems(
    data: ConversionData, *, policy: ConversionPolicy, today: datetime.date
) -> list[Problem]:
    """The opportunity's required data (DOMAIN.md): no blanks, no "TBD", sane values. A
    field whose value did not parse is not reported again here (`parse_input` named it)."""
    return [
        p
        for p in _required_data_problems(data, policy=policy, today=today)
        if p.field not in data.unparsed
    ]


def _required_data_problems(
    data: ConversionData, *, policy: ConversionPolicy, today: datetime.date
) -> list[Problem]:
    problems: list[Problem] = []
    if data.attach_to is not None:
        # Joining an existing deal: that deal already carries its required data.
        if not data.contact_roles:
            problems.append(
                Problem("no_contact_role", "contact_roles", _("Give at least one contact a role."))
            )
        return problems
    if is_blank(data.name):
        problems.append(Problem("required", "name", _("Name the opportunity.")))
    elif len([p for p in _NAME_PARTS.split(data.name) if not is_blank(p)]) != 3:
        problems.append(
            Problem(
                "name_format",
                "name",
                _("Use the standard format: Company - Product/Service - Use case."),
            )
        )
    if data.amount is None:
        if "amount" not in data.unparsed:
            problems.append(Problem("required", "amount", _("Estimate the deal size.")))
    elif data.amount <= 0:
        problems.append(
            Problem("amount_not_positive", "amount", _("The deal size must be positive."))
        )
    if not data.currency:
        problems.append(Problem("required", "currency", _("Choose the currency.")))
    elif data.currency not in CURRENCIES:
        problems.append(
            Problem("invalid_currency", "currency", _("Use an ISO 4217 currency code, e.g. USD."))
        )
    problems += _close_date_problems(data, policy=policy, today=today)
    if data.stage is None:
        if "stage" not in data.unparsed:
            problems.append(Problem("required", "stage", _("Choose the entry stage.")))
    elif not data.stage.is_entry:
        problems.append(
            Problem(
                "stage_not_entry",
                "stage",
                _("Converted deals enter at %(stages)s.")
                % {
                    "stages": ", ".join(
                        Stage.objects.filter(is_entry=True).values_list("name", flat=True)
                    )
                },
            )
        )
    if data.probability is not None and not 0 <= data.probability <= 100:
        problems.append(
            Problem("out_of_range", "probability", _("Probability runs from 0 to 100."))
        )
    if is_blank(data.next_step):
        problems.append(
            Problem("required", "next_step", _("Describe the next step: a specific action."))
        )
    if data.next_step_owner is None and "next_step_owner" not in data.unparsed:
        problems.append(Problem("required", "next_step_owner", _("Who owns the next step?")))
    if data.next_step_due is None:
        if "next_step_due" not in data.unparsed:
            problems.append(Problem("required", "next_step_due", _("When is the next step due?")))
    elif data.next_step_due < today:
        problems.append(
            Problem("in_the_past", "next_step_due", _("The next step cannot be due in the past."))
        )
    lengths = {"name": data.name, "next_step": data.next_step, **data.custom}
    for name, value in lengths.items():
        limit = max_length_of(Opportunity, name)
        if limit and len(value) > limit:
            problems.append(
                Problem("too_long", name, _("Keep it to %(n)s characters.") % {"n": limit})
            )
    for name in policy.required_fields:
        if name in CUSTOM_FIELDS and is_blank(data.custom.get(name)):
            problems.append(
                Problem(
                    "required",
                    name,
                    _("Fill in the %(field)s.") % {"field": CUSTOM_FIELD_LABELS[name]},
                )
            )
    if not data.contact_roles:
        problems.append(
            Problem(
                "no_contact_role",
                "contact_roles",
                _(
                    "Give at least one contact a role "
                    "(economic buyer, champion, influencer or technical evaluator)."
                ),
            )
        )
    return problems


def _close_date_problems(
    data: ConversionData, *, policy: ConversionPolicy, today: datetime.date
) -> list[Problem]:
    if data.expected_close_date is None:
        if "expected_close_date" in data.unparsed:
            return []
        return [Problem("required", "expected_close_date", _("Set the expected close date."))]
    if data.expected_close_date < today:
        return [Problem("in_the_past", "expected_close_date", _("The close date is in the past."))]
    days_out = (data.expected_close_date - today).days
    inside = policy.close_window_min_days <= days_out <= policy.close_window_max_days
    # Outside RevOps' window is allowed only with a written reason.
    if not inside and is_blank(data.close_date_reason):
        return [
            Problem(
                "close_date_outside_window",
                "expected_close_date",
                _("%(days)s days out is outside %(min)s–%(max)s; give a reason for it.")
                % {
                    "days": days_out,
                    "min": policy.close_window_min_days,
                    "max": policy.close_window_max_days,
                },
            )
        ]
    return []
