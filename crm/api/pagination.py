"""Keyset pages for API lists, over the same cursor codec as the HTML lists
(`crm.web.pagination`): constant cost per page, no COUNT(*) over the table.

The response has DRF's cursor-pagination shape, `{"next", "previous", "results"}`. A
cursor holds the direction and the sort key of the row it continues from; a cursor that
was not made here reads as no cursor (the first page), never as an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm.web.pagination import after, decode_cursor, encode_cursor

_FORWARD, _BACKWARD = "n", "p"


def _reversed(fields: Sequence[str]) -> list[str]:
    return [f[1:] if f.startswith("-") else f"-{f}" for f in fields]


def _key(row: Any, fields: Sequence[str]) -> list[Any]:
    return [getattr(row, f.lstrip("-")) for f in fields]


class KeysetPagination(BasePagination):
    """Subclass and set `ordering` (the last field unique, e.g. `("-created_at", "-id")`)."""

    ordering: Sequence[str] = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        try:
            size = int(raw) if raw else self.page_size
        except ValueError:
            size = self.page_size
        return max(1, min(size, self.max_page_size))

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        size = self._page_size(request)
        fields = list(self.ordering)
        token = request.query_params.get(self.cursor_query_param)
        decoded = decode_cursor(token, length=len(fields) + 1)
        direction, key = (decoded[0], decoded[1:]) if decoded else (_FORWARD, None)
        if direction not in (_FORWARD, _BACKWARD):
            direction, key = _FORWARD, None
        if direction == _BACKWARD and key is not None:
            back = _reversed(fields)
            rows = list(queryset.order_by(*back).filter(after(back, key))[: size + 1])
            more_before = len(rows) > size
            rows = rows[:size][::-1]
            self._has_previous, self._has_next = more_before, True
        else:
            ordered = queryset.order_by(*fields)
            if key is not None:
                ordered = ordered.filter(after(fields, key))
            rows = list(ordered[: size + 1])
            self._has_next = len(rows) > size
            rows = rows[:size]
            self._has_previous = key is not None
        self._first = _key(rows[0], fields) if rows else None
        self._last = _key(rows[-1], fields) if rows else None
        return rows

    def _link(self, direction: str, key: list[Any] | None) -> str | None:
        if key is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, encode_cursor([direction, *key]))

    def get_next_link(self) -> str | None:
        return self._link(_FORWARD, self._last) if self._has_next else None

    def get_previous_link(self) -> str | None:
        if not self._has_previous:
            return None
        if self._first is None:  # an empty page past the end: back to the first page
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(_BACKWARD, self._first)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The pagination cursor value.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]
