"""Bulk actions in the browser, for any list: the bar's counts, the run, its results page.

Each list (`leads.views.bulk`, `opportunities.views.bulk`) describes itself once as a
`BulkPage`: its action table (`crm.bulk.BulkKind`), its bar's form, which rows its
filter matches, how it exports a selection, and the words its pages use. The bar is an
htmx fragment the list loads on its own, so the list page keeps its query count; the bar
counts the filter's matches up to the cap only. A run parses the form, turns "all
matching the filter" into ids with the list's own filter form and selector, and hands
the ids to the kind's action table: one service call per row, each in its own
transaction. The results page (`templates/crm/_bulk_results.html`) names every row that
failed, with the reason and a link to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from crm import bulk
from crm.bulk import BulkKind
from crm.models import User
from crm.web.requests import AuthedHttpRequest

EXPORT = "export"
SCOPE_IDS, SCOPE_FILTER = "ids", "filter"


class BulkForm(forms.Form):
    """What a bar sends besides the action's parameters: the action, which rows (the
    ticked `ids`, or every row the list's `query` matches). A list's form adds its
    parameters and says, in `select_one` / `select_max`, how it names its rows."""

    select_one: ClassVar[str | Promise] = ""
    select_max: ClassVar[str | Promise] = ""  # with %(cap)s

    action = forms.ChoiceField()
    scope = forms.ChoiceField(choices=[(SCOPE_IDS, SCOPE_IDS), (SCOPE_FILTER, SCOPE_FILTER)])
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    query = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args: Any, kind: BulkKind, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)
        action_field.choices = [
            *((name, action.label) for name, action in kind.actions.items()),
            (EXPORT, gettext_lazy("Export")),
        ]
        ids_field = self.fields["ids"]
        assert isinstance(ids_field, forms.TypedMultipleChoiceField)
        # Any whole number parses; whether the user may touch it is the service's question.
        ids_field.valid_value = lambda value: str(value).isdigit()  # type: ignore[method-assign]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == SCOPE_IDS and not data.get("ids"):
            self.add_error("ids", str(self.select_one))
        if len(data.get("ids") or []) > bulk.BULK_CAP:
            self.add_error("ids", str(self.select_max) % {"cap": bulk.BULK_CAP})
        return data

    def params(self) -> Mapping[str, Any]:
        """The action's parameters, as the kind's action table reads them."""
        ignored = {"action", "scope", "ids", "query"}
        return {k: v for k, v in self.cleaned_data.items() if k not in ignored}


@dataclass(frozen=True)
class BulkPage:
    """One list's bulk actions in the browser."""

    kind: BulkKind
    form: Callable[..., BulkForm]  # (data, user) -> the bar's form
    matching: Callable[[User, QueryDict], QuerySet[Any]]  # the rows the list's filter shows
    export: Callable[[User, list[int]], StreamingHttpResponse]
    list_url: str  # url names
    detail_url: str
    # The results page's words
    crumb: str | Promise
    column: str | Promise
    all_done: str | Promise
    too_many: str | Promise  # with %(cap)s

    def bar_context(self, user: User, query: QueryDict) -> dict[str, Any]:
        """What every bar shows: the query it acts on and how many rows it matches."""
        matching = self.matching(user, query).order_by().values("pk")[: bulk.BULK_CAP + 1]
        count = matching.count()
        return {
            "query": query.urlencode(),
            "matching": min(count, bulk.BULK_CAP),
            "matching_over_cap": count > bulk.BULK_CAP,
            "cap": bulk.BULK_CAP,
        }

    def run(self, request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
        """Run the bar's action on the ticked rows, or on every row the filter matches;
        then the results page (or, for an export, the CSV of those rows)."""
        user = request.user
        form = self.form(request.POST, user)
        query = QueryDict(request.POST.get("query", ""))
        base = reverse(self.list_url)
        back = f"{base}?{query.urlencode()}" if query else base
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, str(problem))
            return redirect(back)
        data = form.cleaned_data
        if data["scope"] == SCOPE_FILTER:
            ids = list(self.matching(user, query).values_list("pk", flat=True)[: bulk.BULK_CAP + 1])
            if len(ids) > bulk.BULK_CAP:
                messages.error(request, str(self.too_many) % {"cap": bulk.BULK_CAP})
                return redirect(back)
        else:
            ids = bulk.unique_ids(data["ids"])
        if data["action"] == EXPORT:
            return self.export(user, ids)
        result = self.kind.run(by=user, action=data["action"], ids=ids, params=form.params())
        return render(
            request,
            "crm/_bulk_results.html",
            {
                "result": result,
                "action_label": self.kind.actions[result.action].label,
                "back_url": back,
                "bulk_page": self,
            },
        )
