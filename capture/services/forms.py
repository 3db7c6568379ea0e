"""RevOps sets up web-to-lead forms: one set of rules for the settings page and the API.

`web_form_values` says what a form would be saved as (defaults, text trimmed, origins in
one spelling, company and last name added), `web_form_problems` lists every reason it
cannot be, and the create and update save it in one transaction with an audit row (who,
when, old -> new). A form is deactivated, never deleted: its submissions and the leads
it brought keep pointing at it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from capture.access import require_forms
from capture.fields import DEFAULT_FIELDS, FORM_FIELDS, REACH, offers_reach, with_required
from capture.models import CaptureChange, WebForm
from capture.services._audit import record_change
from crm.exceptions import NotFound, Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, check_version, save_with_version_bump
from leads.gate import is_blank
from leads.models import Source

FORM_FIELDS_EDITABLE = (
    "name",
    "fields",
    "source",
    "campaign",
    "thank_you_message",
    "redirect_url",
    "allowed_origins",
    "is_active",
)
MAX_NAME = 150
MAX_CAMPAIGN = 150
MAX_MESSAGE = 2000
MAX_URL = 500
MAX_ORIGINS = 20
MAX_ORIGIN = 200
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class FormEdit:
    """The outcome of an edit: the saved form and what changed (field: [old, new])."""

    form: WebForm
    changes: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def new_form_key() -> str:
    """24 URL-safe characters, 144 random bits: nobody finds a form by trying keys."""
    return secrets.token_urlsafe(18)


def normalize_origin(value: Any) -> str | None:
    """`HTTPS://Www.Example.com:443/` -> `https://www.example.com`; None if not an origin
    (a scheme, a host and maybe a port: what a browser sends in `Origin`)."""
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("/")
    if not text or len(text) > MAX_ORIGIN:
        return None
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address goes back in brackets
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def web_form_snapshot(form: WebForm) -> dict[str, Any]:
    """The editable settings as plain JSON, as the audit records them."""
    return {name: getattr(form, name) for name in FORM_FIELDS_EDITABLE}


def web_form_values(data: Mapping[str, Any], *, form: WebForm | None = None) -> dict[str, Any]:
    """The form as it would be saved: `form`'s settings (or a new form's defaults) with
    `data` over them; text trimmed, origins spelled as browsers send them, and the lead
    fields every form asks (company, last name) added to the fields shown. The way to
    reach the person is not added: a form without e-mail or phone is a problem."""
    if form is not None:
        base = web_form_snapshot(form)
    else:
        base = {
            "name": "",
            "fields": list(DEFAULT_FIELDS),
            "source": Source.INBOUND.value,
            "campaign": "",
            "thank_you_message": "",
            "redirect_url": "",
            "allowed_origins": [],
            "is_active": True,
        }
    values = base | {k: v for k, v in data.items() if k in FORM_FIELDS_EDITABLE}
    for name in ("name", "campaign", "redirect_url", "thank_you_message"):
        if values.get(name) is None:
            values[name] = ""
        if isinstance(values[name], str):
            values[name] = values[name].strip()
    if isinstance(values.get("name"), str):
        values["name"] = " ".join(values["name"].split())
    fields = values.get("fields")
    if isinstance(fields, list | tuple):
        values["fields"] = list(fields)
        if all(isinstance(f, str) and f in FORM_FIELDS for f in fields):
            values["fields"] = with_required(fields)
    origins = values.get("allowed_origins")
    if isinstance(origins, list | tuple):
        normalized = [normalize_origin(o) or o for o in origins]
        values["allowed_origins"] = list(dict.fromkeys(normalized))
    return values


def web_form_problems(values: Mapping[str, Any], *, form: WebForm | None = None) -> list[Problem]:
    """Every reason `values` (as `web_form_values` made them) cannot be saved."""
    problems = _name_problems(values.get("name"), form=form)
    problems += _fields_problems(values.get("fields"))
    if values.get("source") not in Source.values:
        problems.append(
            Problem(
                "invalid_choice",
                "source",
                _("Choose the source its leads get: %s.") % ", ".join(Source.values),
            )
        )
    problems += _text_problems("campaign", values.get("campaign"), MAX_CAMPAIGN)
    problems += _text_problems("thank_you_message", values.get("thank_you_message"), MAX_MESSAGE)
    problems += _redirect_problems(
        values.get("redirect_url"), saved=form.redirect_url if form is not None else None
    )
    problems += _origin_problems(values.get("allowed_origins"))
    if not isinstance(values.get("is_active"), bool):
        problems.append(Problem("invalid", "is_active", _("Active is true or false.")))
    return problems


def _name_problems(name: Any, *, form: WebForm | None) -> list[Problem]:
    if is_blank(name):
        if isinstance(name, str) and name.strip():
            # "XXXXXXXXXX", "TBD": typed, so "give it a name" would read as a bug.
            return [
                Problem(
                    "placeholder",
                    "name",
                    _("“%(value)s” looks like a placeholder: give the form a real name.")
                    % {"value": name.strip()[:40]},
                )
            ]
        return [Problem("required", "name", _("Give the form a name."))]
    if not isinstance(name, str) or len(name) > MAX_NAME:
        return [Problem("too_long", "name", _("At most %(n)d characters.") % {"n": MAX_NAME})]
    same = WebForm.objects.annotate(lower=Lower("name")).filter(lower=name.lower())
    if form is not None:
        same = same.exclude(pk=form.pk)
    if same.exists():
        return [Problem("duplicate", "name", _("Another form has this name."))]
    return []


def _fields_problems(fields: Any) -> list[Problem]:
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return [Problem("invalid", "fields", _("List the lead fields the form shows."))]
    unknown = [f for f in fields if f not in FORM_FIELDS]
    if unknown:
        return [
            Problem(
                "invalid_choice",
                "fields",
                _("%(names)s cannot be on a web form; choose from: %(allowed)s.")
                % {"names": ", ".join(unknown), "allowed": ", ".join(FORM_FIELDS)},
            )
        ]
    # A lead needs an e-mail or a phone (leads.gate): a form asking neither would only
    # ever produce refusals, and which one to ask is RevOps' choice, not a guess of ours.
    if not offers_reach(fields):
        email, phone = (FORM_FIELDS[name].label for name in REACH)
        return [
            Problem(
                "no_reach",
                "fields",
                _("A lead needs a way to reach the person: show %(email)s or %(phone)s (or both).")
                % {"email": email, "phone": phone},
            )
        ]
    return []


def _text_problems(name: str, value: Any, limit: int) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem("invalid", name, _("Enter text, or leave it blank."))]
    if len(value) > limit:
        return [Problem("too_long", name, _("At most %(n)d characters.") % {"n": limit})]
    return []


def _redirect_problems(url: Any, *, saved: str | None = None) -> list[Problem]:
    """A redirect is an https:// address: the visitor has just sent their details, and a
    plain http:// page after that invites a warning or a tampered page. A form saved
    with an http:// redirect before this rule keeps it until the redirect is changed, so
    switching such a form off is not refused over a field nobody touched."""
    problems = _text_problems("redirect_url", url, MAX_URL)
    if problems or not url:
        return problems
    schemes = ["https", "http"] if url == saved else ["https"]
    try:
        URLValidator(schemes=schemes)(url)
    except DjangoValidationError:
        code = "insecure" if url.lower().startswith("http://") else "invalid"
        message = (
            _("Use a secure redirect address: start it with https://, not http://.")
            if code == "insecure"
            else _("Enter a full web address starting with https:// (or leave it blank).")
        )
        return [Problem(code, "redirect_url", message)]
    return []


def _origin_problems(origins: Any) -> list[Problem]:
    if not isinstance(origins, list):
        return [Problem("invalid", "allowed_origins", _("List the web sites, one per entry."))]
    if len(origins) > MAX_ORIGINS:
        return [
            Problem(
                "too_many",
                "allowed_origins",
                _("At most %(n)d web sites.") % {"n": MAX_ORIGINS},
            )
        ]
    bad = [str(o)[:MAX_ORIGIN] for o in origins if normalize_origin(o) != o]
    if bad:
        return [
            Problem(
                "invalid",
                "allowed_origins",
                _(
                    "%(values)s: give each site as scheme and host, e.g. https://www.example.com "
                    "(no path)."
                )
                % {"values": ", ".join(bad)},
            )
        ]
    return []


def _refuse_unknown(data: Mapping[str, Any]) -> None:
    unknown = sorted(set(data) - set(FORM_FIELDS_EDITABLE))
    if unknown:
        raise ValidationFailed(
            problems=[Problem("unknown_field", f, _("This field cannot be set.")) for f in unknown]
        )


def web_form_create(*, by: User, data: Mapping[str, Any]) -> WebForm:
    """A new form with a fresh random key, live at once unless created inactive."""
    require_forms(by, "change")
    _refuse_unknown(data)
    with transaction.atomic():
        values = web_form_values(data)
        problems = web_form_problems(values)
        if problems:
            raise ValidationFailed(problems=problems)
        form = WebForm.objects.create(key=new_form_key(), created_by=by, **values)
        record_change(
            CaptureChange.Kind.WEB_FORM,
            form.pk,
            form.name,
            by=by,
            at=timezone.now(),
            new=web_form_snapshot(form),
        )
    return form


def web_form_update(
    *, form_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> FormEdit:
    """Change a form's settings (refused if someone changed it since `expected_version`);
    posts from now on follow them. The key never changes."""
    require_forms(by, "change")
    _refuse_unknown(data)
    with transaction.atomic():
        try:
            form = WebForm.objects.select_for_update().get(pk=form_id)
        except WebForm.DoesNotExist:
            raise NotFound(_("No such web form.")) from None
        check_version(form.version, expected_version)
        values = web_form_values(data, form=form)
        problems = web_form_problems(values, form=form)
        if problems:
            raise ValidationFailed(problems=problems)
        changes = apply_changes(form, values)
        if not changes:
            return FormEdit(form)
        save_with_version_bump(form, list(changes))
        record_change(
            CaptureChange.Kind.WEB_FORM,
            form.pk,
            form.name,
            by=by,
            at=timezone.now(),
            old={name: old for name, (old, _new) in changes.items()},
            new={name: new for name, (_old, new) in changes.items()},
        )
    return FormEdit(form, changes)
