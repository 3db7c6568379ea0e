"""What a search box's text asks for: words (a name or a company), an e-mail address, a
web domain or a phone number. Each shape is matched on the fields that can hold it, so a
phone number is never compared with company names and a name never costs an e-mail scan.

Pure functions, no database: the selector (`workspace.search`) builds its SQL from these.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

QUERY_MIN_LENGTH = 3
QUERY_MAX_LENGTH = 100
# A phone number as people type it: digits, spaces and + - ( ) . /, five digits at least.
_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
_PHONE_MIN_DIGITS = 5
INDEX_NEEDLE_LENGTH = 14
# Characters LIKE gives a meaning to (PostgreSQL's default escape is the backslash).
_LIKE_SPECIAL = re.compile(r"([\\%_])")


class Shape(enum.StrEnum):
    WORDS = "words"
    EMAIL = "email"
    DOMAIN = "domain"
    PHONE = "phone"


@dataclass(frozen=True)
class Query:
    """The cleaned text and its shape. `digits` is the phone number without punctuation
    and without a leading trunk zero (`0812 …` finds `+62 812 …`)."""

    text: str
    shape: Shape
    digits: str = ""

    @property
    def is_searchable(self) -> bool:
        return len(self.text) >= QUERY_MIN_LENGTH

    @property
    def needle(self) -> str:
        """What a field must contain: the digits for a phone number, else the text."""
        return self.digits if self.shape == Shape.PHONE else self.text

    @property
    def index_needle(self) -> str:
        """The part of the needle the trigram index looks up; the rest is checked on the
        rows it finds. An address's top-level part (".co.id", "gmail.com") is in half the
        rows and only makes the index read long lists: an e-mail is looked up by the longer
        of its name and its domain's first label, a domain by its first label, each cut to
        INDEX_NEEDLE_LENGTH characters. Words and phone numbers are looked up whole."""
        if self.shape == Shape.EMAIL:
            local, _at, domain = self.text.partition("@")
            part = max(local, domain.split(".")[0], key=len)
        elif self.shape == Shape.DOMAIN:
            part = self.text.split(".")[0] if len(self.text.split(".")[0]) >= 4 else self.text
        else:
            return self.needle
        return part[:INDEX_NEEDLE_LENGTH] if len(part) >= QUERY_MIN_LENGTH else self.needle

    def like_pattern(self, needle: str | None = None) -> str:
        """`%needle%` for ILIKE, with LIKE's own wildcards in the needle escaped."""
        escaped = _LIKE_SPECIAL.sub(r"\\\1", self.needle if needle is None else needle)
        return f"%{escaped}%"


def clean(raw: str | None) -> str:
    """The text as it is searched: printable characters only (no NUL, no lone surrogate,
    which PostgreSQL refuses), spaces collapsed, at most QUERY_MAX_LENGTH characters."""
    text = "".join(
        ch
        for ch in (raw or "")
        if unicodedata.category(ch) not in ("Cc", "Cs", "Cf", "Co", "Cn") or ch == " "
    )
    return " ".join(text.split())[:QUERY_MAX_LENGTH]


def parse(raw: str | None) -> Query:
    """The shape of `raw`: an e-mail has an @; a phone number is digits and phone
    punctuation; one token with a dot is a domain (or the start of an e-mail); anything
    else is words."""
    text = clean(raw)
    if "@" in text:
        return Query(text, Shape.EMAIL)
    if _PHONE.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) >= _PHONE_MIN_DIGITS:
            return Query(text, Shape.PHONE, digits.lstrip("0") or digits)
    if "." in text and " " not in text and not text.endswith("."):
        return Query(text, Shape.DOMAIN)
    return Query(text, Shape.WORDS)
