"""Grouped figures of a cohort as rows (one per group) and a total row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from reports.aggregates import Grouped
from reports.dimensions import Dimension


@dataclass
class Group:
    """One row of a breakdown. `param` is the drill-down value of the group; None for
    the total row (no group filter)."""

    key: Any
    label: str
    param: str | None
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass
class Tally:
    """A cohort's figures broken down: one row per group, and the total row."""

    rows: list[Group]
    total: Group


def tally_from(
    grouped: Grouped,
    dim: Dimension | None,
    names: Iterable[str],
    *,
    order_by: str | None = None,
) -> Tally:
    """A Tally from grouped figures (`reports.rollups.reading.cohort_figures`); the total
    adds up the additive `names` over the groups (the caller adds medians and ratios)."""
    rows: list[Group] = []
    if dim is not None:
        labels = dim.labels(key for (key,) in grouped)
        for (key,), values in grouped.items():
            rows.append(Group(key, labels.get(key, str(key)), dim.param(key), dict(values)))
        rows.sort(key=lambda g: _sort_key(g, order_by))
    names = list(names)
    if dim is None:
        totals = {n: grouped.get((), {}).get(n) or 0 for n in names}
    else:
        totals = {n: sum(row.get(n) or 0 for row in rows) for n in names}
    return Tally(rows=rows, total=Group(None, _("Total"), None, totals))


def _sort_key(group: Group, order_by: str | None) -> tuple[Any, ...]:
    if order_by is None:
        return (group.key is None, group.label.lower())
    value = group.get(order_by) or 0
    return (-value, group.label.lower())


def percent_share(numerator: int | float | None, denominator: int | float | None) -> float | None:
    """A share in percent, None when there is nothing to divide by."""
    if not denominator or numerator is None:
        return None
    return 100.0 * numerator / denominator
