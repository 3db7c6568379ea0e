"""Reading an uploaded CSV file: what it is (encoding, delimiter, header), whether it can be
read at all, and its rows, streamed; and the size limit, enforced as the upload arrives
(`declares_too_large`, `LimitedUpload`) rather than after 200 MB more sat on disk.

A broken file is refused before anything is imported, with one sentence that says what
is wrong and what to do (`inspect_file` reads the whole file once: a wrong byte or a quote
never closed a million rows down is found at upload, not half-way through a run). A row
that is merely wrong (a bad date, a missing name) is the run's business: it goes to the
error file and the other rows go in.

Encodings: UTF-8 (with or without a byte order mark) and Windows-1252, what Excel writes
in Western locales. A file that is not UTF-8 is read as Windows-1252 unless
`charset-normalizer` says its letters are of another script (Cyrillic, Greek, Japanese...):
those files are refused, naming what they look like, instead of being imported as
gibberish. It cannot tell the Western code pages apart on short samples (it named a French
Windows-1252 file "cp775"), so it is asked only about the script.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed

MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 1_000_000
SAMPLE_ROWS = 2_000  # rows kept for detection (date formats, picklist values) and preview
_HEAD_BYTES = 64 * 1024
_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or another zip file",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
}


def refuse(message: str, code: str = "invalid_file") -> ValidationFailed:
    return ValidationFailed(problems=[Problem(code, "file", message)])


# --- the size limit, before the body is read -----------------------------------------------

# The multipart body around the file: boundaries, part headers and the other fields (the
# API's mapping JSON). A body longer than the limit by more than this holds a bigger file.
BODY_SLACK = 256 * 1024


class FileTooLarge(ValidationFailed):
    """The upload is past `MAX_BYTES`: 413, naming the field "file"."""

    http_status = 413


def too_large() -> FileTooLarge:
    limit = f"{MAX_BYTES / (1024 * 1024):g} MB"
    message = _("The file is larger than %(limit)s: split it into several files.")
    return FileTooLarge(problems=[Problem("too_large", "file", message % {"limit": limit})])


def declares_too_large(request: HttpRequest) -> bool:
    """The request says (Content-Length) it carries more than a file within the limit:
    refused before a byte of it is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > MAX_BYTES + BODY_SLACK


class LimitedUpload(FileUploadHandler):
    """First of the request's upload handlers: counts each file's bytes as they arrive and
    stops the upload past `MAX_BYTES`, so the rest is neither read nor stored (the
    Content-Length check misses a body sent chunked, or one whose length lies)."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > MAX_BYTES:
            self.request.import_upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload(request: HttpRequest) -> None:
    """Put `LimitedUpload` first on `request`; call before anything reads the body (after,
    the handlers are a tuple and the body is read: there is nothing left to limit)."""
    handlers = request.upload_handlers
    if isinstance(handlers, list):
        handlers.insert(0, LimitedUpload(request))


def upload_stopped(request: HttpRequest) -> bool:
    """`LimitedUpload` stopped this request's upload: its file is past the limit."""
    return bool(getattr(request, "import_upload_too_large", False))


@dataclass
class FileFacts:
    encoding: str
    delimiter: str
    headers: list[str]
    total: int = 0  # data rows: every row after the header that is not blank
    sample: list[list[str]] = field(default_factory=list)


def _reader(lines: Iterator[str], delimiter: str) -> Iterator[list[str]]:
    """The csv reader of both passes. Strict: a quote opened and never closed is an error,
    not the rest of the file swallowed into one value."""
    return csv.reader(lines, delimiter=delimiter, strict=True)


def _text(binary: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """`binary` decoded as it is read, lines split as `open(newline="")` splits them."""
    return io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")


def inspect_file(binary: IO[bytes], *, size: int) -> FileFacts:
    """Everything the mapping step needs, from one pass over the file (`binary`, at its
    start); `ValidationFailed` (field "file") when it cannot be imported."""
    if size > MAX_BYTES:
        raise too_large()
    head = binary.read(_HEAD_BYTES)
    binary.seek(0)
    if not head.strip():
        raise refuse(_("The file is empty."), "empty_file")
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="ignore")
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = detect_delimiter(first_line)
    facts = FileFacts(encoding=encoding, delimiter=delimiter, headers=[])
    row_number = 0
    try:
        handle = _text(binary, encoding)
        try:
            reader = _reader(handle, delimiter)
            for row_number, values in enumerate(reader, start=1):
                if row_number == 1:
                    facts.headers = [h.strip() for h in values]
                    continue
                if not any(v.strip() for v in values):
                    continue
                facts.total += 1
                if facts.total > MAX_ROWS:
                    raise refuse(
                        _("The file has more than 1,000,000 rows: split it into several files."),
                        "too_many_rows",
                    )
                if len(facts.sample) < SAMPLE_ROWS:
                    facts.sample.append(values)
        finally:
            handle.detach()  # the caller's file stays open
    except UnicodeDecodeError:
        raise refuse(
            _(
                "Around row %(row)d the file stops being %(encoding)s text: it mixes "
                "encodings. Save it again as “CSV UTF-8” and upload it again."
            )
            % {"row": row_number + 1, "encoding": _encoding_name(encoding)},
            "invalid_encoding",
        ) from None
    except csv.Error as error:
        raise refuse(
            _(
                "Row %(row)d cannot be read (%(error)s): most likely a value opens a quote "
                "it never closes. Fix that row and upload the file again."
            )
            % {"row": row_number + 1, "error": error},
            "invalid_csv",
        ) from None
    _check_header(facts)
    return facts


def _check_header(facts: FileFacts) -> None:
    if len([h for h in facts.headers if h]) < 2:
        raise refuse(
            _(
                "The first row must name the columns, separated by commas, semicolons or tabs; "
                "this file has only one column."
            ),
            "no_columns",
        )
    if not facts.total:
        raise refuse(_("The file has a header row but no rows of data."), "empty_file")


def detect_encoding(head: bytes) -> str:
    """`utf-8-sig`, `utf-8` or `cp1252`, from the file's first bytes; refused otherwise."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise refuse(_utf16_message(), "invalid_encoding")
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise refuse(
                _("This is %(kind)s, not a CSV file. Save it as “CSV UTF-8” and upload that.")
                % {"kind": kind},
                "not_csv",
            )
    if b"\x00" in head:
        if _is_utf16_text(head):
            raise refuse(_utf16_message(), "invalid_encoding")
        raise refuse(_("This is not a CSV or text file: upload a CSV file."), "not_csv")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and error.start >= len(head) - 3:
            return "utf-8"  # the sample cut a character in two
    script = _foreign_script(head)
    if script:
        raise refuse(
            _(
                "The file is neither UTF-8 nor Windows-1252 text: its letters look like "
                "%(script)s (%(encoding)s). Save it as “CSV UTF-8” and upload it again."
            )
            % script,
            "invalid_encoding",
        )
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        raise refuse(
            _("The file is neither UTF-8 nor Windows-1252 text. Save it as “CSV UTF-8”."),
            "invalid_encoding",
        ) from None
    return "cp1252"


def _foreign_script(head: bytes) -> dict[str, str] | None:
    """The script and code page charset-normalizer reads `head` in, when its letters are
    mostly not Latin ones; None for Latin text (read as Windows-1252)."""
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        return None
    letters = [c for c in str(best) if ord(c) > 127 and c.isalpha()]
    foreign = [c for c in letters if not unicodedata.name(c, "").startswith("LATIN")]
    if not letters or len(foreign) * 2 < len(letters):
        return None
    script = unicodedata.name(foreign[0], "OTHER").split()[0].title()
    return {"script": script, "encoding": best.encoding}


def _is_utf16_text(head: bytes) -> bool:
    """`head` (with NUL bytes, no byte order mark) reads as UTF-16 text, either byte order:
    letters, digits, punctuation and line breaks, no control character. A PNG, a zip or
    any other binary file with NUL bytes does not (it is refused as not text at all)."""
    even = head[: len(head) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = even.decode(encoding)
        except UnicodeDecodeError as error:
            if error.start < len(even) - 4:
                continue
            text = even[: error.start].decode(encoding)  # the sample cut a pair in two
        if text and all(c.isprintable() or c in "\r\n\t" for c in text):
            return True
    return False


def _utf16_message() -> str:
    return _("The file is UTF-16 text (“Unicode Text”). Save it as “CSV UTF-8” and upload that.")


def _encoding_name(encoding: str) -> str:
    return "Windows-1252" if encoding == "cp1252" else "UTF-8"


_QUOTED = re.compile(r'"[^"]*"')


def detect_delimiter(header_line: str) -> str:
    """Comma or semicolon (Excel's CSV in locales that write decimal commas), whichever
    splits the header into more columns; a tab-separated file is read too."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def read_rows(
    binary: IO[bytes], *, encoding: str, delimiter: str, skip: int = 0
) -> Iterator[tuple[int, list[str]]]:
    """(file row, values) of every data row, header = row 1, blank rows left out, the first
    `skip` data rows passed over (a run resuming after a restart). One row at a time."""
    reader = _reader(_text(binary, encoding), delimiter)
    next(reader, None)
    seen = 0
    for row_number, values in enumerate(reader, start=2):
        if not any(values) or not any(v.strip() for v in values):
            continue
        seen += 1
        if seen > skip:
            yield row_number, values


class ChunkStream(io.RawIOBase):
    """A file read from consecutive byte chunks (`chunks` yields them): the upload kept in
    the database, so the web process and the workers share no disk."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not len(self._view):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size
