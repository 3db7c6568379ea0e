"""What counts as no answer: blank, or a placeholder that only pretends to be one.

DOMAIN.md: "A placeholder is never evidence." "TBD", "Unknown", "N/A", "?", "-" and blank
count as missing in criterion evidence, hand-off fields, conversion fields and later
edits. This is the one definition; `leads.gate.is_blank` and `Qualification.is_confirmed`
ask it, and everything above them asks those.

The comparison ignores case, surrounding space and punctuation, so "t.b.d.", " TBD. "
and "N/A" read the same as "tbd" and "na"; text with no letter or digit at all ("?",
"—", "...") is a placeholder too. Only a whole value is judged: "TBD by the CFO on
3 March" says something, so it is an answer.
"""

from __future__ import annotations

import re
from typing import Any

# Whole values that mean "we don't know (yet)", as `_normalized` reads them.
PLACEHOLDERS = frozenset(
    {
        "tbd",
        "tba",
        "tbc",
        "to be confirmed",
        "to be determined",
        "to be decided",
        "to be defined",
        "to be announced",
        "unknown",
        "unk",
        "not known",
        "na",
        "n a",
        "not applicable",
        "not available",
        "none",
        "todo",
        "to do",
        "not sure",
        "dont know",
        "don t know",
        "idk",
        "placeholder",
        "lorem ipsum",
    }
)
_NOT_WORD = re.compile(r"[\W_]+")
# "xx", "xxx", "XXXX": typed to fill a field, never an answer.
_FILLER = re.compile(r"x{2,}")


def _normalized(text: str) -> str:
    """Lower case, every run of punctuation or space one space: "T.B.D." -> "t b d"."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def is_placeholder(value: Any) -> bool:
    """True when `value` is blank or a placeholder ("TBD", "N/A", "?", "—", ...)."""
    if value is None:
        return True
    words = _normalized(str(value))
    if not words:
        return True
    compact = words.replace(" ", "")
    return words in PLACEHOLDERS or compact in PLACEHOLDERS or bool(_FILLER.fullmatch(compact))
