"""CSV files people open in Excel, safe against formula injection, written as a stream.

Every CSV the product answers (list exports, report tables, drill-down lists) goes
through this module, so a lead named `=HYPERLINK("http://evil", "Click")` is text in the
spreadsheet, never a formula, whichever page wrote the file.

- **Formula injection** (OWASP "CSV Injection"): a text cell beginning with `=`, `+`, `-`,
  `@`, a tab or a carriage return is prefixed with a single quote, which spreadsheets
  show as text. Numbers we write ourselves (an `int`, a `Decimal`, or a string that is
  exactly a number such as `-12.50`) are left as they are: they cannot carry a formula,
  and quoting them would turn every negative figure of a report into text.
- **Excel**: the file starts with a UTF-8 byte order mark, without which Excel reads
  UTF-8 as the local code page.
- **Streaming**: `csv_lines` yields the file in chunks of about `CHUNK_CHARS` characters
  while the caller's rows are read (a queryset's `.iterator()` or `values_list`), so a
  million-row export costs the memory of one chunk, not of the file.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from babel.numbers import UnknownCurrencyError, get_currency_precision
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.text import get_valid_filename

BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=utf-8"
# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain number, as `str(Decimal)` or `f"{x:.2f}"` writes one: no formula can hide in it.
_NUMBER = re.compile(r"-?\d+(\.\d+)?", re.ASCII)
# Lines are handed to the server in chunks of about this many characters.
CHUNK_CHARS = 64 * 1024


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet must read it: a text cell that would start a formula gets
    a leading `'`; numbers, booleans and None pass unchanged (csv writes None as empty)."""
    if value is None or isinstance(value, bool | int | float | decimal.Decimal):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


class _Line:
    """A file for `csv.writer` that hands each written line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


class SafeWriter:
    """`csv.writer` over `target` with every cell neutralized (`safe_cell`)."""

    def __init__(self, target: Any) -> None:
        self._writer = csv.writer(target)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_lines(header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The file (BOM, header, rows) in chunks of about `CHUNK_CHARS`, read from `rows` as
    it is sent: nothing but the current chunk is held."""
    writer = SafeWriter(_Line())
    buffer = [BOM + writer.writerow(header)]
    size = len(buffer[0])
    for row in rows:
        line = writer.writerow(row)
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


# --- cells of an export ------------------------------------------------------------------------


def reader_zone(user: Any) -> datetime.tzinfo:
    """The zone `user` reads instants in (UTC if theirs is unknown). Taken from the user,
    not the active zone: an API client signed in by token never passed the middleware
    that activates it, and a stream is read after the view returned."""
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def instant_cell(value: datetime.datetime | None, zone: datetime.tzinfo) -> str:
    """`2025-03-04T16:15:00+07:00`: the instant in the reader's zone, with its offset."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else ""


def person_cell(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """A user as `User.__str__` shows them (full name, else username), from three columns."""
    full = f"{first_name or ''} {last_name or ''}".strip()
    return full or username or ""


def amount_cell(amount: decimal.Decimal | None, currency: str) -> str:
    """`1600000` for JPY, `50000.00` for USD: the amount with its currency's minor units
    (ISO 4217, from CLDR as `crm.money` formats it), without grouping, for a file that
    names the currency in the next column; amounts in different currencies are never
    added up."""
    if amount is None:
        return ""
    try:
        digits = get_currency_precision(currency)
    except (UnknownCurrencyError, ValueError):
        digits = 2
    value = decimal.Decimal(amount)
    text = f"{value:.{digits}f}"
    # A stored fraction the currency does not use (IDR 10.50) is kept, never rounded away.
    return text if decimal.Decimal(text) == value else f"{value:f}"


def _disposition(filename: str) -> str:
    name = get_valid_filename(filename.removesuffix(".csv")) or "export"
    return f'attachment; filename="{name}.csv"'


def streaming_csv_response(
    filename: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A download of `rows` streamed as they are read (`csv_lines`)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _disposition(filename)
    return response


def csv_response(
    filename: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]
) -> HttpResponse:
    """A small CSV download built in memory (a report table of a few hundred rows)."""
    response = HttpResponse(content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _disposition(filename)
    response.write(BOM)
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
