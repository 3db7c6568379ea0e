"""Generated rows: dicts checked against their model and turned into tuples at once, kept
per table in the order the tables must be written (parents before children)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from django.db import models

from crm.models import Account, Contact, Notification
from leads.models import Activity, Handoff, Lead, LeadTransition, Qualification
from opportunities.models import (
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    StageChange,
)
from sla.models import SlaEvent, SlaTimer

Row = tuple[Any, ...]

# Every table the generator fills, parents before children.
WRITE_ORDER: tuple[type[models.Model], ...] = (
    Account,
    Contact,
    Lead,
    LeadTransition,
    Qualification,
    Handoff,
    Opportunity,
    OpportunityContactRole,
    StageChange,
    ConversionSnapshot,
    Activity,
    SlaTimer,
    SlaEvent,
    Notification,
)


@dataclass(frozen=True)
class TableSpec:
    """One model's concrete columns, the defaults of the ones a row leaves out, and a
    getter that turns a complete dict row into a tuple in column order."""

    model: type[models.Model]
    fields: tuple[models.Field[Any, Any], ...]
    defaults: dict[str, Any]
    getter: Callable[[dict[str, Any]], Row]

    def row(self, values: dict[str, Any]) -> Row:
        if len(values) == len(self.defaults):  # every column given: no defaults to merge
            try:
                return self.getter(values)
            except KeyError:
                pass  # an unknown field in place of a known one: reported below
        merged = {**self.defaults, **values}
        if len(merged) != len(self.defaults):
            unknown = set(values) - set(self.defaults)
            raise KeyError(f"{self.model.__name__} has no field(s) {sorted(unknown)}")
        return self.getter(merged)


@cache
def table_spec(model: type[models.Model]) -> TableSpec:
    """Defaults come from the model, so a field added later with a default needs no change
    here. The primary key and `auto_now` stamps have no usable default: rows must set them."""
    fields = tuple(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields}
    return TableSpec(model, fields, defaults, itemgetter(*(f.attname for f in fields)))


class Batch:
    """Rows for several tables, as tuples, in the order the tables must be written."""

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[Row]] = defaultdict(list)

    def add(self, model: type[models.Model], values: dict[str, Any]) -> None:
        self.rows[model].append(table_spec(model).row(values))

    def in_write_order(self) -> Iterator[tuple[type[models.Model], list[Row]]]:
        for model in WRITE_ORDER:
            if self.rows.get(model):
                yield model, self.rows[model]

    def row_counts(self) -> dict[str, int]:
        return {model._meta.label: len(rows) for model, rows in self.in_write_order()}
