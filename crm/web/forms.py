"""Submitting a Django form to a service: field problems go on the form, the rest rises.

    if form.is_valid() and (lead := submit(form, lambda: services.lead_update(...))):
        messages.success(request, _("Lead saved."))
        return redirect(lead)
    return render(request, "leads/form.html", {"form": form}, status=400)

`NotAllowed`, `InvalidTransition` and `StaleVersion` are not the form's business: they
rise to `crm.web.errors.DomainErrorMiddleware` (a view that offers a merge on a stale
edit passes `on_stale`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.contrib.messages.storage.base import BaseStorage
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import BaseForm, Field
from django.http import HttpRequest
from django.utils.translation import gettext as _

from crm.exceptions import (
    DomainError,
    InvalidTransition,
    NotAllowed,
    Problem,
    StaleVersion,
    ValidationFailed,
)

T = TypeVar("T")

_NOT_FORM_ERRORS = (NotAllowed, InvalidTransition, StaleVersion)


def put_on_form(form: BaseForm, problems: list[Problem]) -> None:
    """Each problem on its form field when the form has one, else above the form.

    A form that shows some problems elsewhere (beside a group of rows, say) defines
    `add_problems(problems)` and is given them instead.
    """
    own = getattr(form, "add_problems", None)
    if callable(own):
        own(problems)
        return
    for problem in problems:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, str(problem.message))


def submit(
    form: BaseForm,
    call: Callable[[], T],
    *,
    on_stale: Callable[[StaleVersion], None] | None = None,
) -> T | None:
    """Run `call`; on a field-level domain error put the problems on `form`, return None."""
    try:
        return call()
    except StaleVersion as error:
        if on_stale is None:
            raise
        on_stale(error)
        return None
    except _NOT_FORM_ERRORS:
        raise
    except DomainError as error:
        put_on_form(form, error.problems)
        return None
    except DjangoValidationError as error:
        # A model's full_clean inside a service speaks Django, not Problems.
        form.add_error(None, error)
        return None


class ReadOnlyCapable:
    """Mixed into a settings form that people who may only look see too (managers, where
    RevOps edits): `make_read_only()` disables every field, and Django then ignores any
    value posted for a disabled field, so the page cannot be used to write."""

    fields: dict[str, Field]

    def make_read_only(self) -> None:
        for field in self.fields.values():
            field.disabled = True


def form_problems(form: BaseForm, *, labelled: bool = False) -> list[Problem]:
    """A form's errors as Problems, one per message, as the API names them (a non-field
    error has no field); `labelled` starts each field's message with its label, for a
    message shown away from the form."""
    problems = []
    for name, errors in form.errors.as_data().items():
        field = None if name == NON_FIELD_ERRORS else name
        label = form.fields[name].label if labelled and name in form.fields else None
        for error in errors:
            for message in error.messages:
                text = f"{label}: {message}" if label else message
                problems.append(Problem(error.code or "invalid", field, text))
    return problems


def warn_unparsed_filters(request: HttpRequest, form: BaseForm) -> None:
    """A list whose filters do not parse shows its rows without them and says which were
    left out, so a hand-edited or stale link (`?status=bogus`) never reads as "these are
    the rows you asked for" (the export refuses instead: `refuse_unparsed_filters`)."""
    if not form.is_bound or form.is_valid():
        return
    # Sent back here by a refused export, the page already says so: once is enough.
    storage = messages.get_messages(request)
    pending = list(storage)
    if isinstance(storage, BaseStorage):
        storage.used = False  # read, not consumed: the page still shows them
    if any(message.level >= messages.ERROR for message in pending):
        return
    named = "; ".join(problem.message for problem in form_problems(form, labelled=True))
    messages.warning(
        request,
        _("A filter could not be read and was left out: %(problems)s") % {"problems": named},
    )


def refuse_unparsed_filters(form: BaseForm) -> None:
    """An export whose filters do not parse is refused, naming them, not widened: the
    list page shows every row when a filter is bad (and says so beside it), but a file
    downloaded from a hand-edited or stale link would silently hold more than asked
    (`status=bogus` gave every open lead). Raises `ValidationFailed`, which the
    middleware shows as a message on the page the caller names (`set_back_url`)."""
    if not form.is_bound or form.is_valid():
        return
    refused = Problem(
        "unparsed_filters", None, _("Nothing was exported: a filter could not be read.")
    )
    raise ValidationFailed(problems=[refused, *form_problems(form, labelled=True)])
