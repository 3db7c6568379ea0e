"""Bulk actions on any list: one service call per row, each in its own transaction.

A bulk action is a loop, never a rule of its own. Each kind of record (leads, deals)
declares a table of `BulkAction`s, each calling the same service the record's own page
calls, so the same access helper and the same lifecycle checks decide every row. There
is no outer transaction: a row that fails (a record the user may not change, one already
moved) rolls back alone and the next one runs. The result names, per row, "done" or the
domain error's problems, for the browser's results page and the API's answer alike.

The browser's side is `crm.web.bulk`, the API's `crm.api.bulk`; both hand this module
the ids and the action's parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from crm.exceptions import DomainError, Problem
from crm.models import User

# At most this many rows per run: a run is synchronous, one transaction per row.
BULK_CAP = 1000


@dataclass(frozen=True)
class RowResult:
    """What became of one row: `ok`, or the problems its service raised."""

    id: int
    ok: bool
    problems: tuple[Problem, ...] = ()
    label: str = ""  # the record's name, when the user may see it

    def as_dict(self) -> dict[str, Any]:
        if self.ok:
            return {"id": self.id, "ok": True}
        return {"id": self.id, "ok": False, "errors": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class BulkResult:
    """Every row's outcome, in the order the ids were given."""

    action: str
    rows: list[RowResult] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for row in self.rows if row.ok)

    @property
    def failed(self) -> int:
        return len(self.rows) - self.done

    @property
    def failures(self) -> list[RowResult]:
        return [row for row in self.rows if not row.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [row.as_dict() for row in self.rows],
            "done": self.done,
            "failed": self.failed,
        }


# One row's step: (the row's id, who acts, the action's parameters) -> anything.
Step = Callable[[int, User, Mapping[str, Any]], object]


@dataclass(frozen=True)
class BulkAction:
    """One entry of a kind's action table: its label and the service call per row."""

    label: str | Promise
    step: Step


@dataclass(frozen=True)
class BulkKind:
    """A kind of record that runs bulk actions: its action table, and how a row is named
    on the results (`labels(user, ids)`: only the rows the user may see, in one query,
    so an id the user may not see reads as "#id" and does not leak)."""

    actions: Mapping[str, BulkAction]
    labels: Callable[[User, Sequence[int]], dict[int, str]]

    def run(
        self, *, by: User, action: str, ids: Sequence[int], params: Mapping[str, Any]
    ) -> BulkResult:
        """Run `action` on every row of `ids` as `by`, each through its service."""
        if action not in self.actions:
            raise ValueError(f"unknown bulk action {action!r}")
        step = self.actions[action].step
        ids = unique_ids(ids)
        return run_rows(action, ids, lambda pk: step(pk, by, params), labels=self.labels(by, ids))


def unique_ids(ids: Iterable[int]) -> list[int]:
    """`ids` without repeats, in their first order: a row runs once however often named."""
    return list(dict.fromkeys(ids))


def run_rows(
    action: str,
    ids: Sequence[int],
    step: Callable[[int], object],
    *,
    labels: Mapping[int, str],
) -> BulkResult:
    """Call `step(id)` for each id; a domain error fails that row only."""
    rows = []
    for pk in unique_ids(ids):
        try:
            step(pk)
        except DomainError as error:
            rows.append(RowResult(pk, False, tuple(error.problems), labels.get(pk, "")))
        else:
            rows.append(RowResult(pk, True, (), labels.get(pk, "")))
    return BulkResult(action=action, rows=rows)
