"""Reading the file: UTF-8 with and without BOM, Windows-1252, commas or semicolons; a file
that cannot be imported is refused at upload with one sentence saying why."""

from __future__ import annotations

import io

import pytest

from crm.exceptions import ValidationFailed
from imports.files import detect_delimiter, detect_encoding, inspect_file, read_rows
from leads.models import Lead
from tests.imports.conftest import SALESFORCE, csv_bytes, sf_row, upload

ROWS = [sf_row(1, First_Name="Renée", Company="Société Générale"), sf_row(2)]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ",", "utf-8-sig"),
        ("cp1252", ";", "cp1252"),
        ("utf-8", ";", "utf-8"),
    ],
)
def test_encodings_and_delimiters_are_read(encoding, delimiter, expected):
    content = csv_bytes(ROWS, delimiter=delimiter, encoding=encoding)
    facts = inspect_file(io.BytesIO(content), size=len(content))
    assert (facts.encoding, facts.delimiter, facts.total) == (expected, delimiter, 2)
    assert facts.headers == SALESFORCE
    rows = list(read_rows(io.BytesIO(content), encoding=expected, delimiter=delimiter))
    assert rows[0][1][0] == "Renée" and rows[0][1][2] == "Société Générale"
    assert [row for row, _values in rows] == [2, 3]


def test_a_windows_1252_file_goes_in_with_its_accents(run_import):
    job = run_import(csv_bytes(ROWS, delimiter=";", encoding="cp1252"))
    assert job.created == 2
    assert Lead.objects.filter(company_name="Société Générale", first_name="Renée").exists()


def test_quoted_values_may_hold_delimiters_and_line_breaks():
    content = b'Company,Last Name,Email\r\n"Acme, Inc.","O\'Brien\nJr",a@b.example\r\n'
    rows = list(read_rows(io.BytesIO(content), encoding="utf-8", delimiter=","))
    assert rows == [(2, ["Acme, Inc.", "O'Brien\nJr", "a@b.example"])]


def test_blank_lines_are_not_rows():
    content = b"Company,Last Name\r\n\r\nAcme,Lee\r\n , \r\nBeta,Kim\r\n"
    assert inspect_file(io.BytesIO(content), size=len(content)).total == 2


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "empty_file", "empty"),
        (b"Company,Last Name\r\n", "empty_file", "no rows"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "not_csv", "Excel workbook"),
        (b"%PDF-1.7\n...", "not_csv", "PDF"),
        ("Company,Name\r\nA,B\r\n".encode("utf-16"), "invalid_encoding", "UTF-16"),
        (b"just one column\nvalue\n", "no_columns", "only one column"),
        (b'Company,Last Name\r\nAcme,"never closed\r\nBeta,Kim\r\n', "invalid_csv", "quote"),
        (
            "Компания;Имя;Фамилия\nРога и копыта;Иван;Петров\n".encode("cp1251") * 3,
            "invalid_encoding",
            "Cyrillic",
        ),
    ],
)
def test_a_broken_file_is_refused_up_front(content, code, words):
    with pytest.raises(ValidationFailed) as refused:
        inspect_file(io.BytesIO(content), size=len(content))
    (problem,) = refused.value.problems
    assert (problem.code, problem.field) == (code, "file")
    assert words in problem.message


def test_a_file_that_changes_encoding_half_way_is_refused():
    content = csv_bytes([sf_row(n) for n in range(3000)]) + "Zoë,Lee,X,z@x.example\r\n".encode(
        "cp1252"
    )
    with pytest.raises(ValidationFailed) as refused:
        inspect_file(io.BytesIO(content), size=len(content))
    assert refused.value.problems[0].code == "invalid_encoding"


def test_size_and_row_limits(monkeypatch):
    from imports import files

    content = csv_bytes([sf_row(n) for n in range(5)])
    with pytest.raises(ValidationFailed, match="200 MB"):
        inspect_file(io.BytesIO(content), size=files.MAX_BYTES + 1)
    monkeypatch.setattr(files, "MAX_ROWS", 3)
    with pytest.raises(ValidationFailed, match="1,000,000 rows"):
        inspect_file(io.BytesIO(content), size=len(content))


def test_a_refused_upload_leaves_no_job(revops, db):
    from imports.models import ImportJob

    with pytest.raises(ValidationFailed):
        upload(revops, b"not,a\n")
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [("a,b,c", ","), ("a;b;c", ";"), ('"x;y",b,c', ","), ("a\tb\tc", "\t")],
)
def test_delimiter(line, delimiter):
    assert detect_delimiter(line) == delimiter


def test_a_sample_cut_inside_a_character_is_still_utf8():
    assert detect_encoding("Zoë".encode()[:-1]) == "utf-8"
