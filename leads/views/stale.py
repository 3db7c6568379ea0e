"""A stale edit answered with a merge instead of a lost afternoon.

When someone else saved the same lead (or its qualification) while the user had the
form open, the service refuses with `StaleVersion`. Rather than only saying so, the edit
pages hand `StaleInputMerge` to `crm.web.forms.submit(on_stale=...)`: it rebuilds the
form on top of the current row, keeping the user's input, and lists what changed
meanwhile; the view answers 409 with that form.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.forms import Form
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import StaleVersion
from crm.web.requests import AuthedHttpRequest
from leads.models import Lead, Qualification
from leads.selectors import display_value, lead_timeline

FormT = TypeVar("FormT", bound=Form)


def as_form_value(value: Any) -> str:
    """A value as a form field holds it: text, None as "", dates in ISO format."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def equal_as_shown(a: Any, b: Any) -> bool:
    """Equal as the form shows them (None and "" alike, dates as ISO text)."""
    return as_form_value(a) == as_form_value(b)


def rebase_input_on_current(
    request: AuthedHttpRequest,
    form: Form,
    *,
    lead: Lead,
    current: Lead | Qualification,
    fields: tuple[str, ...],
    build: Callable[[QueryDict], FormT],
    kind: str | None = None,
) -> tuple[FormT, list[dict[str, Any]]]:
    """The user's input rebased on the current row, and the changes made meanwhile.

    Fields only the other person changed take the current value (so saving again does not
    undo their work); fields both changed keep the user's value with a note on the field.
    `kind` narrows the listed changes to one kind of lead event (e.g. qualification).
    """
    since = form.cleaned_data.get("loaded_at")
    changes = lead_timeline(lead, since=since) if since else []
    if kind is not None:
        changes = [entry for entry in changes if entry.get("kind") == kind]
    originals: dict[str, Any] = {}
    for entry in reversed(changes):  # oldest first: keep what the user saw
        for field, (old, _new) in entry.get("raw_changes", {}).items():
            originals.setdefault(field, old)
    data = request.POST.copy()
    conflicts = {}
    for field, original in originals.items():
        if field not in fields:
            continue
        mine, theirs = form.cleaned_data.get(field), getattr(current, field)
        if equal_as_shown(mine, original):
            data[field] = as_form_value(theirs)
        elif not equal_as_shown(mine, theirs):
            conflicts[field] = theirs
    data["version"] = str(current.version)
    data["loaded_at"] = timezone.now().isoformat()
    rebased = build(data)
    rebased.is_valid()
    for field, theirs in conflicts.items():
        rebased.add_error(
            field,
            _("Changed meanwhile to “%(value)s”. Save again to replace it with yours.")
            % {"value": display_value(field, theirs) or "—"},
        )
    return rebased, changes


class StaleInputMerge(Generic[FormT]):
    """`on_stale` handler for an edit form: after it ran, `form` is the rebased form and
    `changes` what others changed meanwhile (`form` stays None when nothing was stale)."""

    def __init__(
        self,
        request: AuthedHttpRequest,
        submitted: Form,
        *,
        lead: Lead,
        load_current: Callable[[], Lead | Qualification],
        fields: tuple[str, ...],
        build: Callable[[QueryDict], FormT],
        kind: str | None = None,
    ) -> None:
        self.request, self.submitted, self.lead = request, submitted, lead
        self.load_current, self.fields, self.build, self.kind = load_current, fields, build, kind
        self.form: FormT | None = None
        self.changes: list[dict[str, Any]] = []

    def __call__(self, error: StaleVersion) -> None:
        self.form, self.changes = rebase_input_on_current(
            self.request,
            self.submitted,
            lead=self.lead,
            current=self.load_current(),
            fields=self.fields,
            build=self.build,
            kind=self.kind,
        )
