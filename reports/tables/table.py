"""A report table: one definition serves the page, the CSV export and the API.

A `Table` has typed columns (the kind decides how a value reads on the page, in CSV and in
JSON) and rows of cells; a cell may link to the drill-down listing the rows behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from reports import formatting
from reports.filters import ReportFilters
from reports.selectors.tally import Group

NUMERIC = {"int", "float", "percent", "duration", "ratio", "money", "money_list"}


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"
    on_page: bool = True  # False: CSV and API only (the page shows it another way)
    in_data: bool = True  # False: the page only (a combined, human-readable column)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Cell:
    value: Any
    link: str = ""
    kind: str | None = None  # overrides the column's kind for this cell
    note: str = ""
    label: str = ""  # what the page and CSV show instead of a code (the API keeps the code)


@dataclass
class Row:
    cells: dict[str, Cell]
    is_total: bool = False
    status: str = ""


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    caption: str = ""
    empty: str = ""

    def cell(self, row: Row, column: Column) -> tuple[Cell, str]:
        cell = row.cells.get(column.key) or Cell(None)
        return cell, cell.kind or column.kind

    @property
    def page_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_page]

    @property
    def data_columns(self) -> list[Column]:
        return [c for c in self.columns if c.in_data]

    def display_rows(self) -> list[tuple[Row, list[tuple[Column, Cell, str]]]]:
        """For templates: each row's cells with their column and page text."""
        out = []
        for row in self.rows:
            cells = []
            for column in self.page_columns:
                cell, kind = self.cell(row, column)
                text = cell.label or formatting.page_text(kind, cell.value)
                cells.append((column, cell, text))
            out.append((row, cells))
        return out

    def csv_header(self) -> list[str]:
        suffix = {"percent": " (%)", "duration": " (hours)", "ratio": " (×)"}
        return [f"{c.label}{suffix.get(c.kind, '')}" for c in self.data_columns]

    def csv_rows(self) -> Iterable[list[Any]]:
        for row in self.rows:
            values = []
            for column in self.data_columns:
                cell, kind = self.cell(row, column)
                values.append(cell.label or formatting.csv_value(kind, cell.value))
            yield values

    def json_rows(self) -> list[dict[str, Any]]:
        rows = []
        for row in self.rows:
            item: dict[str, Any] = {}
            for column in self.data_columns:
                cell, kind = self.cell(row, column)
                item[column.key] = formatting.json_value(kind, cell.value)
            if row.is_total:
                item["is_total"] = True
            rows.append(item)
        return rows


class DrillLinks:
    """Links to the rows behind a figure: the report's filters plus what the figure counts."""

    def __init__(self, filters: ReportFilters) -> None:
        self.base = filters.query_params()

    def __call__(self, kind: str, **params: Any) -> str:
        query = {**self.base, **{k: v for k, v in params.items() if v is not None}}
        return f"{reverse(f'reports:drill-{kind}')}?{urlencode(query)}"


def without_columns(table: Table, *keys: str) -> Table:
    """The table without some columns (medians the page did not compute)."""
    table.columns = [c for c in table.columns if c.key not in keys]
    return table


def group_filter_params(prefix: str, group: Group) -> dict[str, str]:
    """The drill-down parameter of one group (`prefix` = its value), none for the total."""
    return {} if group.param is None else {prefix: group.param}
