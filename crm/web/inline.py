"""Inline edit on a list: click a simple cell, change it in place, Enter saves, Esc cancels.

Each list (`leads.views.inline`, `opportunities.views.inline`) describes itself once as
an `InlineEdit`: which cells it edits, and for each the inputs of the record's own edit
form it shows (a deal's amount comes with its currency); how the record is fetched and
authorized (the access helper: `to="work"` to edit, the same predicate the list asks
before showing the pencil); and the edit page's service, called with the version the
row was shown at. So a cell is judged by the edit page's form and service, and a record
someone changed meanwhile is never overwritten: the cell shows the conflict, the value
saved now, and an editor at the current version to try again.

The cell is an htmx fragment (`templates/crm/_inline_cell.html`); a refusal (403, 404)
rises to `crm.web.errors` like anywhere else, and `static/js/inline-edit.js` says so in
the cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.forms import BaseForm
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from crm.exceptions import StaleVersion
from crm.models import User
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest


@dataclass(frozen=True)
class InlineField:
    """One editable cell: the edit form's inputs it shows (the first is the value)."""

    inputs: tuple[str, ...]
    label: str | Promise
    # The cell's value is a link to the record: the editor opens from a pencil beside it.
    is_link: bool = False


@dataclass(frozen=True)
class InlineEdit:
    """One list's inline edit."""

    fields: Mapping[str, InlineField]
    # (user, pk, to) -> the record, or NotFound / NotAllowed: the kind's access helper.
    fetch: Callable[[User, int, str], Model]
    # (user, record) -> may edit: the `rules` predicate behind `fetch(..., "work")`, asked
    # of each row without a query (the list shows the pencil only where it is true).
    may_edit: Callable[[User, Model], bool]
    # (record, user, data or None) -> the edit page's form (unbound: at the record's values).
    form: Callable[[Model, User, QueryDict | None], BaseForm]
    # (user, record, data, expected_version) -> the saved record: the edit page's service.
    save: Callable[[User, Model, dict[str, Any], int], Model]
    # (user, rows) -> None: loads at once what `may_edit` reads of a page of rows
    # (`{% inline_rows %}`), so a list asks the predicate of 25 rows in one query.
    prefetch: Callable[[User, Sequence[Model]], None]
    cell_url: str  # url names taking (pk, field)
    edit_url: str
    value_template: str  # renders `record`'s `field` for the list

    def field(self, name: str) -> InlineField:
        if name not in self.fields:
            raise Http404(_("This field is not edited in place."))
        return self.fields[name]

    def narrowed(
        self, record: Model, user: User, field: InlineField, data: QueryDict | None = None
    ) -> BaseForm:
        """The edit page's form, narrowed to the cell's inputs and the version (which an
        inline save must send: without it nothing could tell a stale cell)."""
        form = self.form(record, user, data)
        # Editors of several rows may be open at once: ids unique per row.
        form.auto_id = f"inline-{record.pk}-%s"
        form.fields = {name: form.fields[name] for name in (*field.inputs, "version")}
        form.fields["version"].required = True
        return form

    def render(
        self,
        request: AuthedHttpRequest,
        record: Model,
        name: str,
        *,
        form: BaseForm | None = None,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        context = {
            "record": record,
            "field": name,
            "spec": self.fields[name],
            "inline": self,
            "form": form,
            # Asked again after a save: the answer can change with the values.
            "can_edit": form is None and self.may_edit(request.user, record),
            **extra,
        }
        return render(request, "crm/_inline_cell.html", context, status=status)

    def cell(self, request: AuthedHttpRequest, pk: int, name: str) -> HttpResponse:
        """The cell as the list shows it (the editor's Cancel)."""
        self.field(name)
        return self.render(request, self.fetch(request.user, pk, "view"), name)

    def edit(self, request: AuthedHttpRequest, pk: int, name: str) -> HttpResponse:
        """GET: the cell's editor at the record's version. POST: save through the edit
        page's service; the saved cell, or the editor with the input's problem (400), or
        the stale-version conflict (409) with an editor at the current version."""
        field = self.field(name)
        user = request.user
        record = self.fetch(user, pk, "work")
        if request.method != "POST":
            return self.render(request, record, name, form=self.narrowed(record, user, field))
        form = self.narrowed(record, user, field, request.POST)
        conflict: list[StaleVersion] = []
        saved = None
        if form.is_valid():
            data = {input_name: form.cleaned_data[input_name] for input_name in field.inputs}
            saved = submit(
                form,
                lambda: self.save(user, record, data, form.cleaned_data["version"]),
                on_stale=conflict.append,
            )
        if saved is not None:
            return self.render(request, saved, name)
        if conflict:
            current = self.fetch(user, pk, "work")
            return self.render(
                request,
                current,
                name,
                form=self.narrowed(current, user, field),
                conflict=str(conflict[0]),
                status=409,
            )
        return self.render(request, record, name, form=form, status=400)


# The lists' inline edits by the model they edit, for the `{% inline_cell %}` tag
# (`crm.templatetags.inline_edit`): each app registers its own, `crm` imports none.
_REGISTRY: dict[type[Model], InlineEdit] = {}


def register(model: type[Model], inline: InlineEdit) -> InlineEdit:
    _REGISTRY[model] = inline
    return inline


def inline_edit_for(record: Model) -> InlineEdit:
    return _REGISTRY[type(record)]
