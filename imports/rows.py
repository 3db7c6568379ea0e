"""One row of the file as one lead to take in: its values converted by the job's mapping,
or the problems that keep it out (each naming the field, in the API's codes and words).

`RowReader` is built once per run (the mapping, the defaults, the owners by name and the
importer's time zone) and then converts rows in a tight loop, a million times for a big
file: the common case, a text column, costs one dictionary store, and any other
column converts each distinct value once (a source, a status, a date repeats down a file)
and then looks its outcome up.
"""

from __future__ import annotations

import datetime
import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.countries import country_code
from crm.exceptions import Problem
from crm.models import User
from crm.placeholders import is_placeholder
from imports.columns import (
    DATE_FORMATS,
    ISO_DATE,
    NOT_IMPORTABLE,
    NUMERIC_DATE,
    normalized,
    segment_index,
    source_index,
    status_index,
)
from imports.models import ImportJob
from leads.identity import stored_domain
from leads.models import Lead
from leads.services.bulk_rows import BulkRow, row_problems

TEXT_FIELDS = frozenset(
    {
        "company_name", "company_domain", "industry", "territory", "first_name", "last_name",
        "email", "phone", "job_title", "campaign", "lost_to_competitor",
    }
)  # fmt: skip
# A cell a spreadsheet-safe export (`crm.csv_safe`) prefixed with "'": the error file sent
# back with its rows fixed must read as the original values.
_NEUTRALIZED = ("'=", "'+", "'-", "'@", "'\t", "'\r")
_NUMBER = re.compile(r"\d[\d,.' \u00a0]*")
_NOT_DIGIT = re.compile(r"\D")
# A count written short, as exports and people do: "1k", "1.5K", "2m" (the first number).
_SHORT_COUNT = re.compile(r"^\D*?(\d+(?:[.,]\d+)?)\s*([kKmM])(?![a-zA-Z])")
_SHORT_FACTOR = {"k": 1_000, "m": 1_000_000}
# A count as people write it ("1200", "1,200", "1.200"): nothing lost in reading it.
_PLAIN_COUNT = re.compile(r"\d{1,3}(?:[,.' \u00a0]?\d{3})*")
_STATUSES = frozenset(Lead.Status.values)  # `.values` is rebuilt at every access
# Clocks disagree by a little; a created date later than this is a mistake.
_FUTURE_SLACK = datetime.timedelta(minutes=5)


# What a value of a special column does: (data items, row attributes) to set.
_Outcome = tuple[tuple[tuple[str, Any], ...], tuple[tuple[str, Any], ...]]
_NOT_CACHED: dict[str, Problem | _Outcome] = {}
_MEMO_SIZE = 20_000  # distinct values kept per column (dates with times may all differ)


class _Bad(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def owner_index(users: list[User]) -> dict[str, User]:
    """Who an owner cell names: an active SDR's or manager's e-mail, username or full name."""
    index: dict[str, User] = {}
    for user in users:
        for key in (user.get_full_name(), user.username, user.email):
            if key:
                index.setdefault(normalized(key), user)
    return index


@dataclass
class Converted:
    row: BulkRow | None
    problems: list[Problem]


class RowReader:
    """Converts the rows of one job's file (see the module docstring)."""

    def __init__(self, job: ImportJob, *, owners: list[User], now: datetime.datetime) -> None:
        self.width = len(job.headers)
        steps = [(i, target) for i, target in enumerate(job.columns) if target]
        self.date_formats = {int(k): v for k, v in (job.date_formats or {}).items()}
        maps = job.value_maps or {}
        self.sources = source_index() | _overrides(maps, "source")
        self.statuses = status_index() | _overrides(maps, "status")
        self.default_source = job.default_source
        self.default_campaign = job.default_campaign
        self.owners = owner_index(owners)
        self.latest = now + _FUTURE_SLACK
        # A column of picklist values (source, status, country) repeats a few values a
        # million times: each is normalized once.
        self.normalized = functools.lru_cache(maxsize=4096)(normalized)
        # A website column: "https://www.acme.example/" is stored as "acme.example".
        self.maps_domain = "company_domain" in job.columns
        self.web_domain = functools.lru_cache(maxsize=4096)(stored_domain)
        self.employee_columns = [i for i, target in steps if target == "employee_count"]
        try:
            self.zone: datetime.tzinfo = zoneinfo.ZoneInfo(job.created_by.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.zone = datetime.UTC
        self.special: dict[str, Callable[[str, int, BulkRow], None]] = {
            "employee_count": self._employees,
            "segment": self._segment,
            "country": self._country,
            "full_name": self._full_name,
            "source": self._source,
            "score": self._score,
            "status": self._status,
            "created_at": self._created,
            "owner": self._owner,
        }
        # Per column: None for text, else the outcome of each distinct value seen (a
        # column repeats its values: sources, statuses, dates, countries), or
        # _NOT_CACHED for the full name, whose outcome depends on the other columns.
        self.plan: list[tuple[int, str, dict[str, Problem | _Outcome] | None]] = [
            (
                i,
                target,
                None if target in TEXT_FIELDS else _NOT_CACHED if target == "full_name" else {},
            )
            for i, target in steps
        ]

    def convert(self, values: list[str]) -> Converted:
        data: dict[str, Any] = {}
        row = BulkRow(data=data)
        problems: list[Problem] = []
        count = len(values)
        if count > self.width and any(v.strip() for v in values[self.width :]):
            problems.append(
                Problem(
                    "extra_values",
                    None,
                    _("This row has %(count)d values; the header names %(width)d columns.")
                    % {"count": count, "width": self.width},
                )
            )
        for index, target, memo in self.plan:
            text = values[index].strip() if index < count else ""
            if text[:1] == "'" and text.startswith(_NEUTRALIZED):
                text = text[1:]
            if memo is None:  # a text column
                if target in _CONTACT and text and _no_contact(text):
                    text = ""  # "N/A" for an address is none: never an identity to match
                if text or target not in data:
                    data[target] = text
                continue
            if not text:
                continue
            if memo is _NOT_CACHED:
                try:
                    self.special[target](text, index, row)
                except _Bad as bad:
                    if not is_placeholder(text):  # "N/A" is a blank cell, not a bad one
                        problems.append(bad.problem)
                continue
            outcome = memo.get(text)
            if outcome is None:
                outcome = memo[text] = self._outcome(target, text, index)
                if len(memo) >= _MEMO_SIZE:
                    # Values that hardly repeat (dates with a time): converted directly
                    # from the next row on, the memory let go.
                    self.plan = [(i, t, _NOT_CACHED if m is memo else m) for i, t, m in self.plan]
            if isinstance(outcome, Problem):
                problems.append(outcome)
                continue
            for name, value in outcome[0]:
                data[name] = value
            for name, value in outcome[1]:
                setattr(row, name, value)
        if self.maps_domain and data.get("company_domain"):
            data["company_domain"] = self.web_domain(data["company_domain"])
        if not data.get("source") and self.default_source:
            data["source"] = self.default_source
        if not data.get("campaign") and self.default_campaign:
            data["campaign"] = self.default_campaign
        if problems:
            # Every problem at once, as the API names them: what the intake rules say of
            # the values that did convert too, bar a field already reported (its value was
            # not taken, so "required" would only repeat it).
            reported = {problem.field for problem in problems}
            problems += [p for p in row_problems(row) if p.field not in reported]
            return Converted(None, problems)
        return Converted(row, problems)

    def warnings(self, values: list[str]) -> list[Problem]:
        """What the row's values lose on the way in, though it is taken in (the preview
        shows it): an employee range kept as its lower end."""
        found = []
        for index in self.employee_columns:
            text = values[index].strip() if index < len(values) else ""
            if text and not _PLAIN_COUNT.fullmatch(text):
                scratch = BulkRow(data={})
                try:
                    self._employees(text, index, scratch)
                except _Bad:
                    continue
                found.append(
                    Problem(
                        "employee_range",
                        "employee_count",
                        ngettext(
                            "“%(value)s” is kept as %(count)d employee (a range keeps its "
                            "lower end).",
                            "“%(value)s” is kept as %(count)d employees (a range keeps its "
                            "lower end).",
                            scratch.data["employee_count"],
                        )
                        % {"value": text, "count": scratch.data["employee_count"]},
                    )
                )
        return found

    def _outcome(self, target: str, text: str, index: int) -> Problem | _Outcome:
        """What `text` in column `index` does to a row, worked out on a blank one: its
        problem, or the values it sets (in `data`, and on the row itself). A placeholder
        ("N/A", "TBD", "-") sets nothing, as a blank cell: it is no answer in any column."""
        if is_placeholder(text):
            return (), ()
        scratch = BulkRow(data={})
        try:
            self.special[target](text, index, scratch)
        except _Bad as bad:
            return bad.problem
        blank = BulkRow(data={})
        attributes = tuple(
            (name, getattr(scratch, name))
            for name in ("at", "status", "status_label", "owner")
            if getattr(scratch, name) != getattr(blank, name)
        )
        return tuple(scratch.data.items()), attributes

    # --- the columns that are more than text ---------------------------------------------

    def _employees(self, text: str, index: int, row: BulkRow) -> None:
        """ "1,200", "51-200" (a range: its lower end), "10,001+"."""
        if text.isascii() and text.isdigit() and len(text) <= 9:  # the common case
            row.data["employee_count"] = int(text)
            return
        short = _SHORT_COUNT.match(text)
        if short:
            number = float(short.group(1).replace(",", ".")) * _SHORT_FACTOR[short.group(2).lower()]
            row.data["employee_count"] = int(number)
            return
        match = _NUMBER.search(text)
        digits = _NOT_DIGIT.sub("", match.group()) if match else ""
        if not digits or len(digits) > 9:
            raise _Bad(Problem("invalid", "employee_count", _("A valid integer is required.")))
        row.data["employee_count"] = int(digits)

    def _segment(self, text: str, index: int, row: BulkRow) -> None:
        value = segment_index().get(self.normalized(text))
        if value is None:
            raise _Bad(_not_a_choice("segment", text))
        row.data["segment"] = value

    def _country(self, text: str, index: int, row: BulkRow) -> None:
        value = country_code(text)
        if not value:
            raise _Bad(
                Problem(
                    "invalid_choice",
                    "country",
                    _("“%(value)s” is not a country we know: use its ISO code (ID, US, DE…).")
                    % {"value": text},
                )
            )
        row.data["country"] = value

    def _full_name(self, text: str, index: int, row: BulkRow) -> None:
        """ "Ana María Pérez" -> first "Ana María", last "Pérez"; own columns win."""
        first, _space, last = text.rpartition(" ")
        if not row.data.get("last_name"):
            row.data["last_name"] = last.strip()
        if not row.data.get("first_name"):
            row.data["first_name"] = first.strip()

    def _source(self, text: str, index: int, row: BulkRow) -> None:
        # An unknown value stays as it is: the intake rules refuse it in their own words.
        row.data["source"] = self.sources.get(self.normalized(text), text)

    def _score(self, text: str, index: int, row: BulkRow) -> None:
        try:
            number = float(text.rstrip("%").replace(",", "."))
        except ValueError:
            number = -1.5
        if not number.is_integer():
            raise _Bad(Problem("invalid", "score", _("A valid integer is required.")))
        row.data["score"] = int(number)

    def _status(self, text: str, index: int, row: BulkRow) -> None:
        value = self.statuses.get(self.normalized(text))
        if value == NOT_IMPORTABLE:
            raise _Bad(
                Problem(
                    "status_not_importable",
                    "status",
                    _(
                        "A lead cannot come in as “%(value)s”: it becomes sales-qualified or "
                        "converted only in Threshold. Map this status to MQL or SAL, or leave "
                        "the column out."
                    )
                    % {"value": text},
                )
            )
        if value is None or value not in _STATUSES:
            raise _Bad(_not_a_choice("status", text))
        row.status, row.status_label = value, text

    def _created(self, text: str, index: int, row: BulkRow) -> None:
        style = self.date_formats.get(index, "iso")
        value = parse_date(text, style, self.zone)
        if value is None:
            raise _Bad(
                Problem(
                    "invalid_date",
                    "created_at",
                    _("“%(value)s” is not a date written as %(format)s.")
                    % {"value": text, "format": DATE_FORMATS.get(style, style)},
                )
            )
        if value > self.latest:
            raise _Bad(
                Problem("in_the_future", "created_at", _("The created date is in the future."))
            )
        row.at = value

    def _owner(self, text: str, index: int, row: BulkRow) -> None:
        owner = self.owners.get(self.normalized(text))
        if owner is None:
            raise _Bad(
                Problem(
                    "unknown_owner",
                    "owner",
                    _(
                        "No active SDR or manager is called “%(value)s”: add them, correct "
                        "the name or e-mail, or do not map the owner column."
                    )
                    % {"value": text},
                )
            )
        row.owner = owner


_CONTACT = frozenset({"email", "phone"})
_NO_DIGIT = re.compile(r"\D*")


def _no_contact(text: str) -> bool:
    """A placeholder where an e-mail or phone should be ("N/A", "-", "unknown"): cheap for
    real ones, as no placeholder has an "@" or a digit."""
    return "@" not in text and _NO_DIGIT.fullmatch(text) is not None and is_placeholder(text)


def _overrides(maps: dict[str, dict[str, str]], name: str) -> dict[str, str]:
    """The user's own mapping of the file's values (normalized as the indexes are)."""
    return {normalized(raw): value for raw, value in (maps.get(name) or {}).items()}


def _not_a_choice(field: str, text: str) -> Problem:
    return Problem(
        "invalid_choice", field, _("“%(value)s” is not a valid choice.") % {"value": text}
    )


def parse_date(text: str, style: str, zone: datetime.tzinfo) -> datetime.datetime | None:
    """`text` written as `style` ("iso", "dmy", "mdy"), with an optional time (24 h or
    AM/PM) and offset; without an offset it is read in `zone`. None if it is no such date."""
    match = (ISO_DATE if style == "iso" else NUMERIC_DATE).fullmatch(text.strip())
    if match is None:
        return None
    a, b, c, hour, minute, second, half, offset = match.groups()
    if style == "iso":
        year, month, day = int(a), int(b), int(c)
    else:
        day, month = (int(a), int(b)) if style == "dmy" else (int(b), int(a))
        year = int(c) if len(c) == 4 else 2000 + int(c) if int(c) < 70 else 1900 + int(c)
    hours = int(hour or 0)
    if half:
        if hours > 12:
            return None
        hours = hours % 12 + (12 if half[0] in "pP" else 0)
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = (int(digits[:2]) * 60 + int(digits[2:])) * sign if offset != "Z" else 0
        zone = datetime.timezone(datetime.timedelta(minutes=minutes))
    try:
        return datetime.datetime(
            year, month, day, hours, int(minute or 0), int(second or 0), tzinfo=zone
        )
    except ValueError:
        return None
