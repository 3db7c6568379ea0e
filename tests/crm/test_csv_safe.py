"""Every CSV the product writes is safe to open in a spreadsheet (OWASP CSV injection),
readable by Excel (UTF-8 with a BOM) and streamed in chunks, not built in memory."""

from __future__ import annotations

import csv
import datetime
import io
import types
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm import csv_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+62 812 555", "'+62 812 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("Acme = best", "Acme = best"),
        ("", ""),
        ("plain", "plain"),
    ],
)
def test_text_that_would_start_a_formula_is_quoted(value, expected):
    assert csv_safe.safe_cell(value) == expected


@pytest.mark.parametrize("value", [-12, Decimal("-12.50"), -0.5, "-12.50", "-3", None, True])
def test_numbers_stay_numbers(value):
    assert csv_safe.safe_cell(value) == value


def test_other_objects_are_written_as_their_text():
    class Named:
        def __str__(self) -> str:
            return "=cmd|' /C calc'!A0"

    assert csv_safe.safe_cell(Named()) == "'=cmd|' /C calc'!A0"


def test_the_file_starts_with_a_bom_and_parses_back():
    text = "".join(csv_safe.csv_lines(["name", "phone"], [["=evil()", "+1 555"], ["Ok", ""]]))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["name", "phone"], ["'=evil()", "'+1 555"], ["Ok", ""]]


def test_lines_are_produced_while_rows_are_read(monkeypatch):
    monkeypatch.setattr(csv_safe, "CHUNK_CHARS", 100)
    read = []

    def rows():
        for number in range(1000):
            read.append(number)
            yield [number, "x" * 20]

    chunks = csv_safe.csv_lines(["n", "text"], rows())
    assert isinstance(chunks, types.GeneratorType)
    first = next(chunks)
    # given chunks of ~100 characters, then the first one needs only a few rows
    assert len(read) < 10 and first.startswith("\ufeffn,text")
    assert sum(1 for _ in chunks) > 100


def test_responses_are_csv_attachments():
    streamed = csv_safe.streaming_csv_response("leads 2025", ["a"], [["@x"]])
    assert streamed.streaming
    assert streamed["Content-Type"] == "text/csv; charset=utf-8"
    assert streamed["Content-Disposition"] == 'attachment; filename="leads_2025.csv"'
    assert b"".join(streamed.streaming_content).decode() == "\ufeffa\r\n'@x\r\n"
    small = csv_safe.csv_response("report", ["a"], [["-x"], [-1]])
    assert small.content.decode() == "\ufeffa\r\n'-x\r\n-1\r\n"


def test_export_cells():
    jakarta = ZoneInfo("Asia/Jakarta")
    at = datetime.datetime(2025, 3, 4, 9, 15, tzinfo=datetime.UTC)
    assert csv_safe.instant_cell(at, jakarta) == "2025-03-04T16:15:00+07:00"
    assert csv_safe.instant_cell(None, jakarta) == ""
    assert csv_safe.person_cell("Maya", "Putri", "maya") == "Maya Putri"
    assert csv_safe.person_cell("", "", "maya") == "maya"
    assert csv_safe.person_cell(None, None, None) == ""
    assert csv_safe.amount_cell(Decimal("50000"), "USD") == "50000.00"
    assert csv_safe.amount_cell(Decimal("1600000.00"), "JPY") == "1600000"
    assert csv_safe.amount_cell(Decimal("10.50"), "JPY") == "10.50"  # never rounded away
    assert csv_safe.amount_cell(Decimal("1.5"), "KWD") == "1.500"
    assert csv_safe.amount_cell(None, "USD") == ""


def test_reader_zone_falls_back_to_utc():
    assert csv_safe.reader_zone(types.SimpleNamespace(time_zone="Asia/Jakarta")) == ZoneInfo(
        "Asia/Jakarta"
    )
    assert csv_safe.reader_zone(types.SimpleNamespace(time_zone="Mars/Olympus")) == datetime.UTC
    assert csv_safe.reader_zone(object()) == ZoneInfo("UTC")
