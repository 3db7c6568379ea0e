"""Countries: a lead stores ISO 3166 alpha-2 ("ID"); people type names ("Indonesia",
"indonesia", "USA") in every language the product speaks.

The one reader of a country, for every way a lead comes in (the browser's forms, the
API, the web-to-lead forms, the webhook, imports), so "Indonesia" means the same
everywhere. Names come from CLDR through babel: in English, in the active language, and
a few common aliases CLDR does not list ("UK", "Holland").
"""

from __future__ import annotations

import re
from functools import cache

from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language

# Babel's territories that are no country a person lives in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
ALIASES = {
    "usa": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "uae": "AE", "south korea": "KR", "korea": "KR", "republic of korea": "KR",
    "russia": "RU", "vietnam": "VN", "viet nam": "VN", "czech republic": "CZ",
    "holland": "NL", "the netherlands": "NL",
}  # fmt: skip
_NOT_WORD = re.compile(r"[\W_]+")


def normalized(text: str) -> str:
    """`  Viet-Nam ` -> `viet nam`: case, punctuation and spacing do not tell names apart."""
    return " ".join(_NOT_WORD.sub(" ", text).split()).casefold()


@cache
def _names(language: str) -> dict[str, str]:
    """Country code -> name in `language` (English when babel does not know it)."""
    try:
        names = Locale.parse(language.replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        names = Locale("en").territories
    return {
        code: str(name)
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def country_names(language: str | None = None) -> dict[str, str]:
    """Code -> name in `language`, by default the active one."""
    return _names(language or get_language() or "en")


def country_choices() -> list[tuple[str, str]]:
    """A select's choices: none, then every country by its name in the active language."""
    return [("", "—"), *sorted(country_names().items(), key=lambda pair: pair[1])]


@cache
def _index(language: str) -> dict[str, str]:
    index = {normalized(name): code for code, name in _names("en").items()}
    index.update((normalized(name), code) for code, name in _names(language).items())
    index.update((code.casefold(), code) for code in _names("en"))
    index.update((normalized(alias), code) for alias, code in ALIASES.items())
    return index


def country_code(text: str) -> str | None:
    """The ISO code `text` names: a code in any case, a name in English or the active
    language, or an alias; "" for blank; None when it names no country."""
    text = str(text or "").strip()
    if not text:
        return ""
    return _index(get_language() or "en").get(normalized(text))
