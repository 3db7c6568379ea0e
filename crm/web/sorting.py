"""Sortable lists: which columns a list sorts by, and keyset pages in any of those orders.

A list declares its sortable columns once (`SortSpec`), and the page, the API and the
export all read `?ordering=name` or `?ordering=-name` through it: one whitelist, so a
client can never sort by a column the list does not offer (an unknown name is a field
problem naming `ordering`; the pages fall back to the list's usual order instead).

Keyset pagination survives every sort. A sort is its columns, then the id as the last
tie-break, so the order is total; the cursor (`crm.web.pagination`'s codec) holds the
sort's name and the sort values of the row it continues from, so a cursor made under one
sort is not applied to another (it reads as "first page"). Columns that may be empty
sort their NULLs last in both directions, and `after` knows it. Columns on a related
row (`owner__last_name`) are annotated under an alias so the cursor can read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.web.pagination import KeysetPage, decode_cursor, encode_cursor

ORDERING_PARAM = "ordering"
_NEVER = Q(pk__in=[])  # false: the start of an OR


@dataclass(frozen=True)
class SortKey:
    """A column people sort by: `name` in URLs, ordered by `columns` (model paths; a
    leading '-' orders that column against the key's direction: the queue's "next SLA
    due" breaks ties newest first).

    `nullable`: the columns that may be NULL (their NULLs go last both ways).
    `annotate`: the annotations the columns need, by name, added when the queryset lacks
    them."""

    name: str
    columns: tuple[str, ...]
    nullable: tuple[str, ...] = ()
    annotate: Callable[[], Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Term:
    """One ORDER BY term: a column (an alias for a related one), its direction, and for
    a nullable one that NULLs come last (`nulls_last`) or first (a backward page)."""

    path: str
    descending: bool
    nulls_last: bool | None = None  # None: the column is never NULL

    def reversed(self) -> Term:
        nulls = None if self.nulls_last is None else not self.nulls_last
        return Term(self.path, not self.descending, nulls)

    def expression(self) -> OrderBy:
        column = F(self.path)
        if self.nulls_last is None:
            return column.desc() if self.descending else column.asc()
        nulls = {"nulls_last": True} if self.nulls_last else {"nulls_first": True}
        return column.desc(**nulls) if self.descending else column.asc(**nulls)


def after(terms: Sequence[Term], key: Sequence[Any]) -> Q:
    """Rows strictly after the row whose sort values are `key`, in the order `terms`."""
    clauses = _NEVER
    equal = Q()
    for term, value in zip(terms, key, strict=True):
        is_null = Q(**{f"{term.path}__isnull": True})
        if value is None:
            # Only a nullable column holds NULL: after it come the other NULLs, or (NULLs
            # first) every value.
            beyond = _NEVER if term.nulls_last else Q(**{f"{term.path}__isnull": False})
            same = is_null
        else:
            beyond = Q(**{f"{term.path}__{'lt' if term.descending else 'gt'}": value})
            if term.nulls_last:
                beyond |= is_null
            same = Q(**{term.path: value})
        clauses |= equal & beyond
        equal &= same
    return clauses


def _value(row: Any, path: str) -> Any:
    if isinstance(row, dict):
        return row["id" if path == "pk" else path]
    return getattr(row, path)


@dataclass(frozen=True)
class Sort:
    """A list's order: a key, its direction, the id breaking ties."""

    key: SortKey
    descending: bool
    tiebreak: str = "pk"

    @property
    def token(self) -> str:
        """As the URL writes it: `amount` or `-amount`."""
        return f"-{self.key.name}" if self.descending else self.key.name

    def _columns(self) -> list[tuple[str, str, bool]]:
        """(name in the query, model path, ordered against the key) per column: a column
        on a related row is read under an alias (`sort_1`), so the cursor can read it."""
        return [
            (
                f"sort_{index}" if "__" in spec else spec.lstrip("-"),
                spec.lstrip("-"),
                spec[0] == "-",
            )
            for index, spec in enumerate(self.key.columns)
        ]

    @property
    def terms(self) -> list[Term]:
        terms = [
            Term(
                name,
                against != self.descending,
                True if path in self.key.nullable else None,
            )
            for name, path, against in self._columns()
        ]
        return [*terms, Term(self.tiebreak, terms[-1].descending)]

    def prepare(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """`queryset` with the annotations the sort reads (none twice)."""
        present = set(queryset.query.annotations)
        needed = dict(self.key.annotate()) if self.key.annotate else {}
        needed |= {name: F(path) for name, path, _against in self._columns() if name != path}
        extra = {name: value for name, value in needed.items() if name not in present}
        return queryset.annotate(**extra) if extra else queryset

    def apply(self, queryset: QuerySet[Any], *, backward: bool = False) -> QuerySet[Any]:
        """`queryset` in this order (reversed for a backward page)."""
        terms = self.terms
        if backward:
            terms = [term.reversed() for term in terms]
        return self.prepare(queryset).order_by(*(term.expression() for term in terms))

    def row_key(self, row: Any) -> list[Any]:
        return [_value(row, term.path) for term in self.terms]

    def encode(self, row: Any, *prefix: Any) -> str:
        """A cursor continuing from `row` (with `prefix` first: the API's direction)."""
        return encode_cursor([*prefix, self.token, *self.row_key(row)])

    def decode(self, token: str | None, *, prefix: int = 0) -> tuple[Any, ...] | None:
        """(prefix values..., sort values...) from a cursor made under this sort, else None."""
        decoded = decode_cursor(token, length=prefix + 1 + len(self.terms))
        if decoded is None or decoded[prefix] != self.token:
            return None
        return decoded[:prefix] + decoded[prefix + 1 :]


class SortSpec:
    """The columns a list may be sorted by, and its usual order."""

    def __init__(self, *keys: SortKey, default: str, tiebreak: str = "pk") -> None:
        self.keys = {key.name: key for key in keys}
        self.default = default
        self.tiebreak = tiebreak
        self.sort_for(default)  # a typo in the default fails at import, not on a page

    @property
    def tokens(self) -> list[str]:
        """Every value `?ordering=` accepts."""
        return [token for name in self.keys for token in (name, f"-{name}")]

    def sort_for(self, token: str) -> Sort:
        name = token.removeprefix("-")
        return Sort(self.keys[name], token.startswith("-"), self.tiebreak)

    def parse(self, raw: str | None, *, default: str | None = None) -> Sort:
        """The sort `raw` names, or the default when it names none; anything else is a
        `ValidationFailed` naming `ordering` (the API's 400)."""
        value = (raw or "").strip()
        if not value:
            return self.sort_for(default or self.default)
        if value.removeprefix("-") not in self.keys:
            raise ValidationFailed(
                problems=[
                    Problem(
                        "invalid",
                        ORDERING_PARAM,
                        _("Sort by one of: %(names)s (a leading '-' sorts descending).")
                        % {"names": ", ".join(self.keys)},
                    )
                ]
            )
        return self.sort_for(value)

    def parse_or_default(self, raw: str | None, *, default: str | None = None) -> Sort:
        """For pages: a name the list does not offer shows the usual order."""
        try:
            return self.parse(raw, default=default)
        except ValidationFailed:
            return self.sort_for(default or self.default)


def sorted_page(
    queryset: QuerySet[Any], sort: Sort, *, cursor: str | None, size: int
) -> KeysetPage:
    """Rows after `cursor` in `sort`'s order, `size` of them: no COUNT, no OFFSET. A
    cursor made under another sort (or not made here) starts from the first row."""
    key = sort.decode(cursor)
    ordered = sort.apply(queryset)
    if key is not None:
        ordered = ordered.filter(after(sort.terms, key))
    rows = list(ordered[: size + 1])
    if len(rows) <= size:
        return KeysetPage(rows, None)
    rows = rows[:size]
    return KeysetPage(rows, sort.encode(rows[-1]))


@dataclass(frozen=True)
class Header:
    """A sortable column header as a template draws it."""

    name: str
    url: str
    aria_sort: str  # "ascending", "descending" or "none"
    next_label: str  # what clicking does, for screen readers and the tooltip


def headers(params: Any, sort: Sort, spec: SortSpec) -> dict[str, Header]:
    """Every sortable column's header: a link to the list sorted by it (ascending first,
    then toggling), keeping the filters and dropping the cursor."""
    out = {}
    for name in spec.keys:
        current = sort.key.name == name
        token = name if not current or sort.descending else f"-{name}"
        query = params.copy()
        query.pop("cursor", None)
        query.pop("after", None)
        query[ORDERING_PARAM] = token
        state = "none"
        if current:
            state = "descending" if sort.descending else "ascending"
        out[name] = Header(
            name=name,
            url=f"?{query.urlencode()}",
            aria_sort=state,
            next_label=str(_("Sort descending") if token.startswith("-") else _("Sort ascending")),
        )
    return out
