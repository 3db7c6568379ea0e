"""One keyset cursor codec for HTML lists and API lists.

A cursor is the sort key of the last row shown, as an opaque URL-safe token. Decoding a
token that was not made here (tampered, truncated, naive time) returns None: the list
starts again from the first page rather than failing.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
from collections.abc import Sequence
from typing import Any

from django.db.models import Q

# The types a sort key may hold, each tagged so it decodes to the same type.
_KINDS = ("n", "i", "s", "t", "d", "D")
Key = tuple[Any, ...]


def _encode_value(value: Any) -> list[Any]:
    if value is None:
        return ["n", None]
    if isinstance(value, bool):
        return ["s", str(value)]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, datetime.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, decimal.Decimal):
        return ["D", str(value)]
    return ["s", str(value)]


def _decode_value(tagged: Any) -> Any:
    kind, raw = tagged
    if kind not in _KINDS:
        raise ValueError("unknown kind")
    if kind == "n":
        return None
    if kind == "i":
        return int(raw)
    if kind == "t":
        at = datetime.datetime.fromisoformat(raw)
        if at.tzinfo is None:
            raise ValueError("naive time in cursor")
        return at
    if kind == "d":
        return datetime.date.fromisoformat(raw)
    if kind == "D":
        return decimal.Decimal(raw)
    return str(raw)


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, *, length: int) -> Key | None:
    """The sort key in `token`, or None when there is none or it is not one of ours."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != length:
            return None
        return tuple(_decode_value(v) for v in values)
    except (binascii.Error, TypeError, ValueError, UnicodeDecodeError, decimal.InvalidOperation):
        return None


def after(fields: Sequence[str], key: Key, *, nulls_last: Sequence[bool] = ()) -> Q:
    """Rows strictly after `key` in the order `fields` (a leading '-' means descending).

    `nulls_last[i]` marks a field sorted ascending with NULLs after every value (the only
    nullable sort the lists use: "next SLA due, none last").
    """
    nullable = list(nulls_last) + [False] * (len(fields) - len(nulls_last))
    clauses = Q(pk__in=[])  # false: OR-ed with each tie-broken step below
    equal = Q()
    for index, spec in enumerate(fields):
        name = spec.lstrip("-")
        value = key[index]
        descending = spec.startswith("-")
        if nullable[index]:
            if value is None:
                beyond = Q(pk__in=[])  # nothing sorts after NULL but other NULLs
                same = Q(**{f"{name}__isnull": True})
            else:
                beyond = Q(**{f"{name}__gt": value}) | Q(**{f"{name}__isnull": True})
                same = Q(**{name: value})
        else:
            beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
            same = Q(**{name: value})
        clauses |= equal & beyond
        equal &= same
    return clauses


class KeysetPage:
    """One page of a keyset-ordered queryset: its rows and the cursor to the next."""

    def __init__(self, rows: list[Any], next_cursor: str | None) -> None:
        self.rows = rows
        self.next_cursor = next_cursor


def keyset_page(
    queryset: Any,
    *,
    fields: Sequence[str],
    cursor: str | None,
    size: int,
    nulls_last: Sequence[bool] = (),
) -> KeysetPage:
    """Rows after `cursor` (or the first page), `size` of them, in `fields` order.

    `queryset` must already be ordered by `fields`; the last field must be unique (pk).
    """
    key = decode_cursor(cursor, length=len(fields))
    if key is not None:
        queryset = queryset.filter(after(fields, key, nulls_last=nulls_last))
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return KeysetPage(rows, None)
    rows = rows[:size]
    last = rows[-1]
    token = encode_cursor(
        [
            last[f.lstrip("-")] if isinstance(last, dict) else getattr(last, f.lstrip("-"))
            for f in fields
        ]
    )
    return KeysetPage(rows, token)
