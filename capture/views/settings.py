"""RevOps' capture settings in the browser: web forms (with the snippet to paste, a link
to the hosted form and the count of what each form brought in) and intake keys (the
secret shown once, on the page right after the one that made it; revoked after a
confirmation page).

Managers read the web forms (fields disabled, no buttons); intake keys are RevOps' only.
Views are thin: authorize through `capture.access`, parse a form, call a service, render.
Field problems land on the form (`crm.web.forms.submit`); a refusal, a missing object or
a stale edit rises to `crm.web.errors.DomainErrorMiddleware`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, Model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.timezone import is_aware, localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from capture import access, selectors
from capture.fields import FORM_FIELDS
from capture.forms import IntakeKeyForm, WebFormSettingsForm
from capture.models import CaptureChange, IntakeKey, SubmissionOutcome, WebForm
from capture.services.forms import (
    web_form_create,
    web_form_problems,
    web_form_update,
    web_form_values,
)
from capture.services.keys import NewKey, intake_key_create, intake_key_revoke
from capture.snippet import fetch_snippet, html_snippet, public_path
from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest

HISTORY_LIMIT = 20
RECENT_LIMIT = 20
# How the pages show a moment (the history's "When" column, `j M Y, H:i` elsewhere too).
MOMENT_FORMAT = "j M Y, H:i"
# Where the page that makes a key leaves its secret for the page it redirects to.
NEW_SECRET_SESSION_KEY = "capture:new_intake_key"
_MODELS: dict[str, type[Model]] = {
    CaptureChange.Kind.WEB_FORM: WebForm,
    CaptureChange.Kind.INTAKE_KEY: IntakeKey,
}
# A setting named in the history as its page names it, where the model's name differs.
_LABELS = {"allowed_origins": WebFormSettingsForm.base_fields["allowed_origins"].label}
# The lead fields a form shows, by their labels ("fields" holds their codes).
_LEAD_FIELD_LABELS = {name: spec.label for name, spec in FORM_FIELDS.items()}


@dataclass(frozen=True)
class HistoryEntry:
    """One audit row as the page shows it: (label, old, new) per changed setting."""

    change: CaptureChange
    rows: list[tuple[str, Any, Any]]


def _shown(field: object, value: Any) -> Any:
    """An audited value as a person reads it: choices and lead fields by their labels,
    lists joined, yes/no, moments in the reader's zone as the pages write them."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return None
    if isinstance(value, list):
        labels = _LEAD_FIELD_LABELS if getattr(field, "name", "") == "fields" else {}
        return ", ".join(str(labels.get(v, v)) for v in value) or "—"
    if value == "":
        return "—"
    choices = getattr(field, "flatchoices", None)
    if choices:
        return dict(choices).get(value, value)
    if isinstance(field, DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None and is_aware(moment):
            return dateformat.format(localtime(moment), MOMENT_FORMAT)
    return value


def _history(changes: list[CaptureChange]) -> list[HistoryEntry]:
    entries = []
    for change in changes:
        model = _MODELS[change.kind]
        rows = []
        for name in dict.fromkeys([*change.old, *change.new]):
            field: object
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            verbose = _LABELS.get(name) or getattr(field, "verbose_name", None) or name
            old = _shown(field, change.old[name]) if name in change.old else None
            rows.append((str(capfirst(verbose)), old, _shown(field, change.new.get(name))))
        entries.append(HistoryEntry(change, rows))
    return entries


# --- web forms --------------------------------------------------------------------------------


@login_required
def web_forms(request: AuthedHttpRequest) -> HttpResponse:
    """Every form with what it brought in: new leads, duplicates, refusals, spam."""
    access.require_forms(request.user, "view")
    forms = list(selectors.web_forms())
    return render(
        request,
        "capture/settings/form_list.html",
        {
            "web_forms": [(form, selectors.submission_counts(form)) for form in forms],
            "can_edit": access.may_forms(request.user, "change"),
            "can_keys": request.user.has_perm(access.KEYS_PERMISSION),
            "changes": _history(
                selectors.changes(CaptureChange.Kind.WEB_FORM, limit=HISTORY_LIMIT)
            ),
            "tab": "forms",
        },
    )


@login_required
def web_form_new(request: AuthedHttpRequest) -> HttpResponse:
    access.require_forms(request.user, "change")
    form = WebFormSettingsForm(request.POST or None, initial=WebFormSettingsForm.initial_for(None))
    if request.method == "POST":
        if not form.is_valid():
            _rules_too(form, None)
        elif created := submit(
            form, lambda: web_form_create(by=request.user, data=form.service_data())
        ):
            messages.success(
                request,
                _("Form “%s” created. Paste the snippet below into your web page.") % created.name,
            )
            return redirect("capture:form_edit", pk=created.pk)
    return render(
        request,
        "capture/settings/form_edit.html",
        _form_page(request, form, None, can_edit=True),
        status=400 if form.is_bound else 200,
    )


@login_required
def web_form_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """RevOps edit; managers read the same page without the Save button."""
    to: access.FormAction = "change" if request.method == "POST" else "view"
    web_form = access.web_form_for(request.user, pk, to=to)
    set_back_url(request, reverse("capture:form_edit", args=[web_form.pk]))
    status = 200
    if request.method == "POST":
        form = WebFormSettingsForm(request.POST, initial=WebFormSettingsForm.initial_for(web_form))
        if not form.is_valid():
            _rules_too(form, web_form)
        elif edit := submit(
            form,
            lambda: web_form_update(
                form_id=web_form.pk,
                by=request.user,
                data=form.service_data(),
                expected_version=form.cleaned_data.get("version"),
            ),
        ):
            messages.success(request, _("Saved.") if edit.changed else _("Nothing changed."))
            return redirect("capture:form_edit", pk=web_form.pk)
        status = 400
    else:
        form = WebFormSettingsForm(initial=WebFormSettingsForm.initial_for(web_form))
    can_edit = access.may_forms(request.user, "change")
    if not can_edit:
        form.make_read_only()
    return render(
        request,
        "capture/settings/form_edit.html",
        _form_page(request, form, selectors.web_form(web_form.pk), can_edit=can_edit),
        status=status,
    )


def _rules_too(form: WebFormSettingsForm, web_form: WebForm | None) -> None:
    """A form refused for what it could not read (a position of -3) also names what the
    settings rules refuse in the rest (no name, a `javascript:` redirect): every problem
    at once, as the API does, not one round of errors after another. A field already in
    error is not named twice."""
    values = web_form_values(form.service_data(), form=web_form)
    form.add_problems(web_form_problems(values, form=web_form))


def _form_page(
    request: AuthedHttpRequest,
    form: WebFormSettingsForm,
    web_form: WebForm | None,
    *,
    can_edit: bool,
) -> dict[str, object]:
    context: dict[str, object] = {"form": form, "web_form": web_form, "can_edit": can_edit}
    if web_form is None:
        return context
    action = request.build_absolute_uri(public_path(web_form))
    counts = selectors.submission_counts(web_form)
    context.update(
        public_url=action,
        html_snippet=html_snippet(web_form, action=action),
        fetch_snippet=fetch_snippet(web_form, action=action),
        counts=[(SubmissionOutcome(outcome).label, n) for outcome, n in counts.items()],
        recent=selectors.recent_submissions(web_form, limit=RECENT_LIMIT),
        changes=_history(
            selectors.changes(
                CaptureChange.Kind.WEB_FORM, object_id=web_form.pk, limit=HISTORY_LIMIT
            )
        ),
    )
    return context


# --- intake keys ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def intake_keys(request: AuthedHttpRequest) -> HttpResponse:
    """The keys, and a form to make one. Making a key redirects back here (post/redirect/
    get: a reload makes no second key), and this page shows the new key's secret once.
    Only its hash is stored: the secret itself waits in the session for that one page,
    which takes it out, so no later page (nor a reload) can show it again."""
    access.require_keys(request.user)
    form = IntakeKeyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and (
            made := submit(
                form, lambda: intake_key_create(by=request.user, name=form.cleaned_data["name"])
            )
        ):
            # The secret rides in the session to the next page, which takes it out.
            request.session[NEW_SECRET_SESSION_KEY] = {"key": made.key.pk, "secret": made.secret}
            return redirect("capture:keys")
        status = 400
    keys = list(selectors.intake_keys())
    response = render(
        request,
        "capture/settings/keys.html",
        {
            "form": form,
            "new_key": _new_key_once(request, keys),
            "keys": keys,
            "webhook_url": request.build_absolute_uri(reverse("capture-intake")),
            "changes": _history(
                selectors.changes(CaptureChange.Kind.INTAKE_KEY, limit=HISTORY_LIMIT)
            ),
            "can_edit": True,
            "can_keys": True,
            "tab": "keys",
        },
        status=status,
    )
    patch_cache_control(response, no_store=True)  # the secret stays out of every cache
    return response


def _new_key_once(request: AuthedHttpRequest, keys: list[IntakeKey]) -> NewKey | None:
    """The key this session just made, with its secret, taken out of the session: the
    first page after the one that made it shows the secret, no later one does."""
    made = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    if not isinstance(made, dict):
        return None
    key = next((key for key in keys if key.pk == made.get("key")), None)
    secret = made.get("secret")
    if key is None or not isinstance(secret, str):
        return None
    return NewKey(key=key, secret=secret)


@login_required
@require_http_methods(["GET", "POST"])
def intake_key_revoke_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Revoking cannot be undone, so it is asked first: GET shows the key and what stops
    working, with the button that POSTs. No script: it works wherever the page does."""
    set_back_url(request, reverse("capture:keys"))
    key = access.intake_key_for(request.user, pk)
    if request.method == "POST":
        intake_key_revoke(key_id=key.pk, by=request.user)
        messages.success(request, _("Key “%s” is revoked: it no longer works.") % key.name)
        return redirect("capture:keys")
    if not key.is_active:
        messages.info(request, _("Key “%s” is already revoked.") % key.name)
        return redirect("capture:keys")
    return render(
        request,
        "capture/settings/key_revoke.html",
        {"key": key, "can_edit": True, "can_keys": True, "tab": "keys"},
    )
