"""`?ordering=field` / `?ordering=-field` on API lists, kept with keyset pages.

A view names its sortable columns as `sort_spec` (a `crm.web.sorting.SortSpec`, the same
one its page uses). `OrderingFilter` parses the parameter (an unknown column is a 400
naming `ordering`, never a 500 or a silently ignored sort), orders the queryset and keeps
the sort on the request; `SortedKeysetPagination` pages in that order, its cursors
holding the sort's name and values (`crm.web.sorting`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm.api.pagination import KeysetPagination
from crm.api.prepared import values_rows
from crm.web.sorting import ORDERING_PARAM, Sort, SortSpec, after

_FORWARD, _BACKWARD = "n", "p"
_SORT_ATTRIBUTE = "_threshold_sort"


def view_sort(request: Request, view: Any) -> Sort:
    """The sort `request` asks of `view` (its default when it asks none), parsed once."""
    sort: Sort | None = getattr(request, _SORT_ATTRIBUTE, None)
    if sort is None:
        spec: SortSpec = view.sort_spec
        sort = spec.parse(request.query_params.get(ORDERING_PARAM))
        setattr(request, _SORT_ATTRIBUTE, sort)
    return sort


class OrderingFilter(BaseFilterBackend):
    """Orders the list by `?ordering=` among the view's `sort_spec` columns."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        return view_sort(request, view).apply(queryset)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        spec: SortSpec = view.sort_spec
        return [
            {
                "name": ORDERING_PARAM,
                "required": False,
                "in": "query",
                "description": (
                    f"Sort by one column, `-` first for descending (default `{spec.default}`). "
                    "Ties are broken by id; pages continue in the same order."
                ),
                "schema": {"type": "string", "enum": spec.tokens},
            }
        ]


class SortedKeysetPagination(KeysetPagination):
    """Keyset pages in the order `OrderingFilter` chose (the view's `sort_spec`)."""

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        sort = view_sort(request, view)
        self._sort = sort
        size = self._page_size(request)
        decoded = sort.decode(request.query_params.get(self.cursor_query_param), prefix=1)
        direction, key = (decoded[0], decoded[1:]) if decoded else (_FORWARD, None)
        if direction not in (_FORWARD, _BACKWARD):
            direction, key = _FORWARD, None
        if direction == _BACKWARD and key is not None:
            back = [term.reversed() for term in sort.terms]
            ordered = sort.apply(queryset, backward=True).filter(after(back, key))
            rows = values_rows(ordered[: size + 1])
            more_before = len(rows) > size
            rows = rows[:size][::-1]
            self._has_previous, self._has_next = more_before, True
        else:
            ordered = sort.apply(queryset)
            if key is not None:
                ordered = ordered.filter(after(sort.terms, key))
            rows = values_rows(ordered[: size + 1])
            self._has_next = len(rows) > size
            rows = rows[:size]
            self._has_previous = key is not None
        self._first_row = rows[0] if rows else None
        self._last_row = rows[-1] if rows else None
        return rows

    def _cursor_link(self, direction: str, row: Any) -> str | None:
        if row is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self._sort.encode(row, direction))

    def get_next_link(self) -> str | None:
        return self._cursor_link(_FORWARD, self._last_row) if self._has_next else None

    def get_previous_link(self) -> str | None:
        if not self._has_previous:
            return None
        if self._first_row is None:  # an empty page past the end: back to the first page
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._cursor_link(_BACKWARD, self._first_row)
