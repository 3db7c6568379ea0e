"""The sort spec every list shares (crm.web.sorting): a whitelist of columns, a total
order (the id breaks ties, NULLs last both ways), and keyset cursors tied to their sort."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from crm.exceptions import ValidationFailed
from crm.models import User
from crm.web.sorting import SortKey, SortSpec, after, headers, sorted_page
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SPEC = SortSpec(
    SortKey("username", ("username",)),
    SortKey("team", ("team__name",), nullable=("team__name",)),
    SortKey("role", ("role", "-date_joined")),
    default="username",
)


def _walk(sort, queryset, size=2) -> list[str]:
    """Every row, a page of `size` at a time, following the cursors."""
    seen, cursor = [], None
    while True:
        page = sorted_page(queryset, sort, cursor=cursor, size=size)
        seen += [user.username for user in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.fixture
def people(db):
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    for name, team in [
        ("ann", north),
        ("bob", None),
        ("cid", south),
        ("dee", north),
        ("eve", None),
    ]:
        UserFactory(username=name, team=team)
    return User.objects.all()


@pytest.mark.parametrize("token", SPEC.tokens)
def test_pages_in_every_order_cover_every_row_once_in_that_order(people, token):
    sort = SPEC.sort_for(token)
    expected = [user.username for user in sort.apply(people)]
    assert sorted(expected) == ["ann", "bob", "cid", "dee", "eve"]
    assert _walk(sort, people) == expected


def test_nulls_sort_last_both_ways(people):
    up = [u.username for u in SPEC.sort_for("team").apply(people)]
    down = [u.username for u in SPEC.sort_for("-team").apply(people)]
    assert up == ["ann", "dee", "cid", "bob", "eve"]
    assert down == ["cid", "dee", "ann", "eve", "bob"]


def test_a_cursor_made_under_another_sort_starts_again(people):
    by_name = SPEC.sort_for("username")
    page = sorted_page(people, by_name, cursor=None, size=2)
    other = SPEC.sort_for("-username")
    assert other.decode(page.next_cursor) is None
    again = sorted_page(people, other, cursor=page.next_cursor, size=2)
    assert [u.username for u in again.rows] == ["eve", "dee"]
    assert sorted_page(people, by_name, cursor="garbage!", size=2).rows[0].username == "ann"


def test_unknown_columns_are_a_problem_naming_ordering():
    with pytest.raises(ValidationFailed) as error:
        SPEC.parse("password")
    assert [(p.code, p.field) for p in error.value.problems] == [("invalid", "ordering")]
    assert SPEC.parse_or_default("password").token == "username"
    assert SPEC.parse("").token == "username"
    assert SPEC.parse(None, default="-team").token == "-team"
    assert SPEC.parse("-role").descending


def test_a_typo_in_the_default_fails_at_import():
    with pytest.raises(KeyError):
        SortSpec(SortKey("a", ("a",)), default="b")


def test_after_reads_nulls_first_for_backward_pages(people):
    sort = SPEC.sort_for("team")
    back = [term.reversed() for term in sort.terms]
    assert back[0].nulls_last is False and back[0].descending
    ordered = sort.apply(people, backward=True)
    names = [u.username for u in ordered]
    assert names == ["eve", "bob", "cid", "dee", "ann"]
    last_null = ordered[1]  # bob: NULL team; after him come the teams
    rest = ordered.filter(after(back, sort.row_key(last_null)))
    assert [u.username for u in rest] == ["cid", "dee", "ann"]


def test_headers_toggle_and_keep_the_filters():
    params = QueryDict("q=acme&cursor=abc&ordering=username")
    sort = SPEC.parse(params.get("ordering"))
    cells = headers(params, sort, SPEC)
    assert cells["username"].aria_sort == "ascending"
    assert cells["username"].url == "?q=acme&ordering=-username"
    assert cells["team"].aria_sort == "none"
    assert cells["team"].url == "?q=acme&ordering=team"
    down = headers(params, SPEC.parse("-username"), SPEC)["username"]
    assert (down.aria_sort, down.url) == ("descending", "?q=acme&ordering=username")
