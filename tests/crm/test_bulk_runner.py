"""The generic bulk runner (`crm.bulk`): a kind's action table, one row at a time, a
domain error failing its row only, each id run once, rows named only where visible."""

from __future__ import annotations

import pytest

from crm.bulk import BulkAction, BulkKind
from crm.exceptions import NotAllowed, Problem, ValidationFailed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_each_row_runs_once_and_fails_alone():
    seen: list[tuple[int, str]] = []

    def step(pk, by, params):
        seen.append((pk, params["note"]))
        if pk == 2:
            raise ValidationFailed(problems=[Problem("required", "note", "Say why.")])
        if pk == 3:
            raise NotAllowed("Not yours.")

    kind = BulkKind(
        actions={"touch": BulkAction("Touch", step)},
        labels=lambda user, ids: {pk: f"Row {pk}" for pk in ids if pk != 3},
    )
    result = kind.run(by=UserFactory(), action="touch", ids=[1, 2, 1, 3, 4], params={"note": "n"})
    assert seen == [(1, "n"), (2, "n"), (3, "n"), (4, "n")]
    assert (result.done, result.failed) == (2, 2)
    assert result.as_dict()["results"][1] == {
        "id": 2,
        "ok": False,
        "errors": [{"code": "required", "field": "note", "message": "Say why."}],
    }
    assert [(row.id, row.label) for row in result.failures] == [(2, "Row 2"), (3, "")]


def test_an_unknown_action_is_a_programming_error():
    kind = BulkKind(actions={}, labels=lambda user, ids: {})
    with pytest.raises(ValueError, match="unknown bulk action"):
        kind.run(by=UserFactory(), action="explode", ids=[1], params={})
