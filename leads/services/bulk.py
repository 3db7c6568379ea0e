"""Bulk actions on leads: one service call per lead, each in its own transaction.

A bulk action is a loop, never a rule of its own: every row goes through the same service
the lead page calls (`lead_assign`, `lead_accept`, `lead_reject`, `lead_nurture`), so the
same access helper (`leads.access.lead_for`, through the service's lock) and the same
lifecycle checks decide it. There is no outer transaction: a row that fails (a lead the
user may not work, one already accepted) rolls back alone and the next one runs. The
result names, per row, "done" or the domain error's problems, for the browser's results
page and the API's answer alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exceptions import DomainError, Problem, ValidationFailed
from crm.models import User
from leads.models import Lead
from leads.services.assignment import lead_assign
from leads.services.lifecycle import lead_accept, lead_nurture, lead_reject

# At most this many rows per run: a run is synchronous, one transaction per row.
BULK_CAP = 1000

ASSIGN, ACCEPT, REJECT, NURTURE = "assign", "accept", "reject", "nurture"
# The actions that change leads (exporting the selection is a read, done by the views).
ACTIONS: dict[str, Any] = {
    ASSIGN: gettext_lazy("Assign"),
    ACCEPT: gettext_lazy("Accept"),
    REJECT: gettext_lazy("Reject"),
    NURTURE: gettext_lazy("Nurture"),
}


@dataclass(frozen=True)
class RowResult:
    """What became of one row: `ok`, or the problems its service raised."""

    id: int
    ok: bool
    problems: tuple[Problem, ...] = ()
    label: str = ""  # the lead's company, when the user may see it

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
    """Call `step(id)` for each id; a domain error fails that row only.

    Shared with `opportunities.services.bulk`: the loop and the result shape exist once.
    """
    rows = []
    for pk in unique_ids(ids):
        try:
            step(pk)
        except DomainError as error:
            rows.append(RowResult(pk, False, tuple(error.problems), labels.get(pk, "")))
        else:
            rows.append(RowResult(pk, True, (), labels.get(pk, "")))
    return BulkResult(action=action, rows=rows)


def lead_bulk(
    *,
    by: User,
    action: str,
    ids: Sequence[int],
    owner: User | None = None,
    reason: str = "",
    note: str = "",
) -> BulkResult:
    """Run `action` on every lead of `ids` as `by`, each through its service.

    Parameters by action: `assign` takes `owner` (and `reason` for the audit row),
    `reject` the rejection reason's code as `reason` and the rationale as `note`,
    `nurture` the `reason`. A missing parameter fails each row with the service's own
    problem, so no rule is checked here twice.
    """
    steps: dict[str, Callable[[int], object]] = {
        ASSIGN: lambda pk: _assign(pk, by=by, owner=owner, reason=reason),
        ACCEPT: lambda pk: lead_accept(lead_id=pk, by=by),
        REJECT: lambda pk: lead_reject(lead_id=pk, by=by, reason_code=reason, note=note),
        NURTURE: lambda pk: lead_nurture(lead_id=pk, by=by, reason=reason),
    }
    if action not in steps:
        raise ValueError(f"unknown bulk action {action!r}")
    ids = unique_ids(ids)
    return run_rows(action, ids, steps[action], labels=lead_labels(by, ids))


def _assign(pk: int, *, by: User, owner: User | None, reason: str) -> object:
    if owner is None:
        raise ValidationFailed(problems=[Problem("required", "owner", _("Choose the SDR."))])
    return lead_assign(lead_id=pk, by=by, owner=owner, reason=reason)


def lead_labels(user: User, ids: Sequence[int]) -> dict[int, str]:
    """The company of each lead of `ids` that `user` may see, in one query (the results
    name and link only those; the others read as "#id", so ids do not leak)."""
    return dict(
        Lead.objects.visible_to(user).filter(pk__in=list(ids)).values_list("pk", "company_name")
    )
