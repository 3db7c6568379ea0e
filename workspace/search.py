"""Global search: the leads, opportunities, accounts and contacts a user may see, found by
name, company, e-mail, web domain or phone number, grouped by kind.

One selector serves the search page, the Ctrl+K palette and `GET /api/v1/search/`.

**Who sees what.** Leads and deals go through their apps' own scoping
(`Lead.objects.visible_to`, `Opportunity.objects.visible_to`): an SDR never finds another
team's lead. `crm` knows no lead or deal, so accounts and contacts are scoped here, from
the records that make them visible: RevOps and admins see them all; anyone else an
account they own or one with a lead or deal they can see, and a contact of a lead or deal
they can see (primary contact or contact role).

**How it matches (PostgreSQL).** Each shape of query (`workspace.search_query`) is
matched on the fields that can hold it, each with its own trigram index (the migration
`workspace/0001_search_indexes` creates them; `SEARCH_INDEXES` below lists them):
every row *containing* the text (ILIKE, served by the index). When nothing at all
contains it and the text is words, it is probably misspelt: the typo pass
(`workspace.search_words`) looks its words up among the distinct words of the searched
names (a small table with its own trigram index) and the rows *containing* the closest
spellings are found the same way ("Nusantra" finds "Nusantara"). Looking the misspelt
text up by similarity in the fields' own indexes instead read the posting lists of each
of its trigrams in a million names (150 ms and more at a million leads); now a typo
costs what its correct spelling costs, plus its own empty first pass and a lookup of a
few milliseconds among the words — and a correctly spelt name never pays for it.
One statement finds the candidates of every kind at once (a `UNION ALL` of per-kind
lookups), and only the kinds that have some are then ranked and shown, by primary key:
a typo's empty first pass, or a query only leads match, costs one round trip and one
plan rather than one per kind. At most `CANDIDATES` rows of each kind are ranked — by
word similarity, then newest first — so a common word ("Budi" among a million leads)
costs what a rare one costs; a longer query narrows it. Leads and deals are
capped after their visibility check (a row filter); accounts and contacts, visible only
through other tables, before it — so for a very common word someone who sees few of them
may be shown fewer than they could see, never one they may not.

**SQLite** (the embedded set-up) has no trigrams: each word must be contained in one of
the fields (`icontains`), newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Greatest, Replace

from crm.models import User
from workspace.db import planner_settings
from workspace.search_kinds import KINDS, SEARCH_INDEXES, Hit, ILike, Kind, Unindexed
from workspace.search_query import Query, Shape, parse
from workspace.search_words import spellings

DEFAULT_LIMIT = 5  # per kind, in the palette and the API
MAX_LIMIT = 20  # per kind, on the search page
CANDIDATES = 100  # per kind and pass: the most rows ranked (see the module's docstring)

__all__ = ["KINDS", "SEARCH_INDEXES", "Group", "Hit", "SearchResults", "search"]


@dataclass(frozen=True)
class Group:
    """The hits of one kind, best first; `more` when there were more than shown."""

    kind: str
    label: str
    hits: list[Hit]
    more: bool
    list_url: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "results": [hit.as_dict() for hit in self.hits],
            "more": self.more,
            "list_url": self.list_url,
        }


@dataclass(frozen=True)
class SearchResults:
    query: str
    shape: str
    fuzzy: bool  # typo-tolerant (PostgreSQL) or plain containment (SQLite)
    similar: bool = False  # nothing contained the text: these are rows similar to it
    spelt_as: list[str] = field(default_factory=list)  # the spellings the typo pass tried
    groups: list[Group] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "shape": self.shape,
            "fuzzy": self.fuzzy,
            "similar": self.similar,
            "groups": [group.as_dict() for group in self.groups],
        }


# --- the selector ------------------------------------------------------------------------


def is_fuzzy() -> bool:
    """Typo tolerance needs pg_trgm, so PostgreSQL."""
    return connection.vendor == "postgresql"


def search(user: User, raw_query: str | None, *, limit: int = DEFAULT_LIMIT) -> SearchResults:
    """Every kind `user` may see that matches `raw_query`, at most `limit` of each, best
    first. A query shorter than QUERY_MIN_LENGTH finds nothing (and runs no query).

    On PostgreSQL, rows *containing* the text; when no kind has any and the text is words,
    it is probably misspelt, and rows containing its closest spellings are found instead
    (`similar` is then true, `spelt_as` lists the spellings tried)."""
    query = parse(raw_query)
    limit = max(1, min(limit, MAX_LIMIT))
    fuzzy = is_fuzzy()
    found: dict[str, list[Any]] = {kind.name: [] for kind in KINDS}
    similar, spelt_as = False, []
    if query.is_searchable and user.is_authenticated:
        if fuzzy:
            with planned_for_trigrams(True):
                found = _find_postgres(user, query, limit)
                if query.shape == Shape.WORDS and not any(found.values()):
                    similar, spelt_as = True, spellings(query.text)
                    if spelt_as:
                        found = _find_postgres(user, query, limit, spelt_as=spelt_as)
        else:
            for kind in KINDS:
                if query.shape in kind.fields:  # no deal holds a phone number
                    found[kind.name] = _find_plain(kind, user, query, limit)
    return SearchResults(
        query=query.text,
        shape=str(query.shape),
        fuzzy=fuzzy,
        similar=similar,
        spelt_as=spelt_as,
        groups=[_group(kind, query, found[kind.name], limit) for kind in KINDS],
    )


def _group(kind: Kind, query: Query, rows: list[Any], limit: int) -> Group:
    return Group(
        kind=kind.name,
        label=str(kind.label),
        hits=[kind.hit(row) for row in rows[:limit]],
        more=len(rows) > limit,
        list_url=kind.list_url(query),
    )


@contextmanager
def planned_for_trigrams(enabled: bool) -> Iterator[None]:
    """Run the search's statements with sequential scans (and JIT compilation) off.

    PostgreSQL guesses how many rows contain a short text from its length alone, and
    under a LIMIT that guess makes a sequential scan look cheap: it then reads the table
    row by row through thousands of rows (180 ms at a million leads) where the trigram
    index finds them in a few. No parallel workers either: starting them costs more than
    these lookups of a few hundred rows, and on a busy machine they wait for a CPU.
    Off for these statements only (`workspace.db.planner_settings`)."""
    if not enabled:
        yield
        return
    with planner_settings(enable_seqscan="off", jit="off", max_parallel_workers_per_gather="0"):
        yield


def _find_postgres(
    user: User, query: Query, limit: int, *, spelt_as: list[str] | None = None
) -> dict[str, list[Any]]:
    """The best `limit` (+1, to tell whether there are more) rows of each kind whose fields
    contain the text (ILIKE), or with `spelt_as` one of those spellings of it: served by
    the fields' trigram indexes.

    Two steps: one statement finds every kind's candidates at once (`_candidates`); then
    only a kind that has some is ranked and shown, its rows read by primary key. A query
    that matches one kind, or none (a typo, before its second pass), then costs one
    round trip and one plan instead of one per kind; and ranking a short list of ids
    plans in a fraction of the time the lookup and the ranking together did (measured
    again with the ranking folded into the lookup's statement: 10-25% slower, its plan
    and its SQL's compilation both larger)."""
    kinds = [kind for kind in KINDS if query.shape in kind.fields]
    found: dict[str, list[Any]] = {kind.name: [] for kind in KINDS}
    candidates = _candidates(kinds, user, query, spelt_as=spelt_as)
    for kind in kinds:
        if candidates.get(kind.name):
            found[kind.name] = _ranked(kind, user, query, candidates[kind.name], limit)
    return found


def _candidates(
    kinds: list[Kind], user: User, query: Query, *, spelt_as: list[str] | None = None
) -> dict[str, list[int]]:
    """At most CANDIDATES ids of each kind (by its name) that match, in one `UNION ALL` statement.

    A lead or a deal is visible by its own columns: its visibility is checked here,
    before the cap. An account or contact is visible through other tables: only the
    capped candidates are checked (`_ranked`), one index probe each, never the whole
    visible set."""
    parts = []
    for index, kind in enumerate(kinds):
        fields = [make() for make in kind.fields[query.shape]]
        condition = match_condition(query, fields, spelt_as=spelt_as)
        parts.append(
            _matchable(kind, user)
            .filter(condition)
            .order_by()
            .annotate(search_kind=Value(index, output_field=IntegerField()))
            .values_list("search_kind", "pk")[:CANDIDATES]
        )
    if not parts:
        return {}
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    ids: dict[str, list[int]] = {}
    for index, pk in union:
        ids.setdefault(kinds[index].name, []).append(pk)
    return ids


def _matchable(kind: Kind, user: User) -> QuerySet[Any]:
    """The rows of `kind` a lookup may return to `user`: a lead or deal `user` may see
    (checked before the cap), any account or contact (checked after it, in `_ranked`).

    For someone who does not see everything, a lead's visibility is checked row by row
    on the rows the trigram index found (`EXISTS` on the primary key) rather than as a
    filter of its own: PostgreSQL overestimates how many rows contain a common name
    tenfold and would otherwise intersect the index's result with every lead the SDR
    owns (a bitmap of 128,000 rows, 30 ms at a million leads) to spare itself reading
    a few hundred rows. The same rows either way."""
    if not kind.row_scoped:
        return kind.model._default_manager.all()
    if user.sees_everything:
        return kind.visible(user)
    visible = kind.visible(user).filter(pk=OuterRef("pk"))
    return kind.model._default_manager.filter(Exists(visible))


def _ranked(kind: Kind, user: User, query: Query, ids: list[int], limit: int) -> list[Any]:
    """The candidates `ids` of `kind` that `user` may see, best first: by word similarity
    to the text as typed (of the spellings tried, the closest to it first), then newest."""
    fields = [make() for make in kind.fields[query.shape]]
    rows = kind.model._default_manager.all() if kind.row_scoped else kind.visible(user)
    similarity: Any = [TrigramWordSimilarity(query.needle, expression) for expression in fields]
    ranked = (
        rows.filter(pk__in=ids)
        .annotate(search_rank=similarity[0] if len(similarity) == 1 else Greatest(*similarity))
        .order_by("-search_rank", "-created_at", "-pk")
    )
    return list(kind.shown(ranked, user)[: limit + 1])


def match_condition(query: Query, fields: list[Any], *, spelt_as: list[str] | None = None) -> Q:
    """Rows of which one of `fields` contains the text (ILIKE), or with `spelt_as` one of
    those spellings of it: the trigram lookup itself (bench/search.py times it bare)."""
    condition = Q()
    if spelt_as:
        patterns = [query.like_pattern(spelling) for spelling in spelt_as]
        for expression in fields:
            for pattern in patterns:
                condition |= Q(ILike(expression, pattern))
        return condition
    looked_up, whole = query.like_pattern(query.index_needle), query.like_pattern()
    for expression in fields:
        if looked_up == whole:
            condition |= Q(ILike(expression, whole))
        else:
            # The index finds the rows holding part of it; each is then checked whole.
            condition |= Q(ILike(expression, looked_up)) & Q(ILike(Unindexed(expression), whole))
    return condition


def _find_plain(kind: Kind, user: User, query: Query, limit: int) -> list[Any]:
    """SQLite: each word in one of the fields (a phone number: its digits in the
    number's digits), newest first."""
    rows = kind.visible(user)
    if query.shape == Shape.PHONE:
        rows = rows.annotate(search_digits=_digits_of("phone")).filter(
            search_digits__contains=query.digits
        )
    else:
        terms = query.text.split() if query.shape == Shape.WORDS else [query.text]
        for term in terms[:5]:
            condition = Q()
            for path in kind.plain_fields[query.shape]:
                condition |= Q(**{f"{path}__icontains": term})
            rows = rows.filter(condition)
    ordered = kind.model._default_manager.filter(pk__in=rows.values("pk")).order_by(
        "-created_at", "-pk"
    )
    return list(kind.shown(ordered, user)[: limit + 1])


def _digits_of(path: str) -> Any:
    """The field without the punctuation people write phone numbers with (SQLite has no
    regexp_replace)."""
    expression: Any = F(path)
    for mark in " +-()./":
        expression = Replace(expression, Value(mark), Value(""))
    return expression
