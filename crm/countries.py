"""Countries: a lead stores ISO 3166 alpha-2 ("ID"); people type names ("Indonesia",
"indonesia", "USA", "Jerman", "Deutschland", "Cote d'Ivoire") in many languages.

The one reader of a country, for every way a lead comes in (the browser's forms, the
API, the web-to-lead forms, the webhook, imports), so "Indonesia" means the same
everywhere. Names come from CLDR through babel, in every language the product speaks
(whatever the language of the page or the importer: an Indonesian name in an English
export is still the country), plus common aliases and endonyms CLDR does not list in
those languages ("UK", "Holland", "Deutschland"). Accents, case and punctuation do not
tell names apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.utils.translation import get_language

# Babel's territories that are no country a person lives in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
ALIASES = {
    "usa": "US", "u s": "US", "u s a": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "uae": "AE", "emirates": "AE", "south korea": "KR", "korea": "KR",
    "republic of korea": "KR", "north korea": "KP", "russia": "RU", "vietnam": "VN",
    "viet nam": "VN", "czech republic": "CZ", "holland": "NL", "the netherlands": "NL",
    "turkey": "TR", "turkiye": "TR", "ivory coast": "CI", "burma": "MM", "swaziland": "SZ",
    "macedonia": "MK", "cape verde": "CV", "east timor": "TL", "timor leste": "TL",
    "hong kong sar": "HK", "macau": "MO", "republic of ireland": "IE", "prc": "CN",
    "mainland china": "CN", "taiwan roc": "TW", "laos": "LA", "brunei": "BN",
    "vatican": "VA", "palestine": "PS", "syria": "SY", "iran": "IR", "bolivia": "BO",
    "venezuela": "VE", "tanzania": "TZ", "moldova": "MD",
    # Endonyms people write in forms and exports.
    "deutschland": "DE", "nederland": "NL", "espana": "ES", "brasil": "BR", "mexico": "MX",
    "italia": "IT", "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI", "polska": "PL",
    "ceska republika": "CZ", "magyarorszag": "HU", "hellas": "GR", "ellada": "GR",
    "nippon": "JP", "nihon": "JP", "zhongguo": "CN", "hanguk": "KR", "bharat": "IN",
    "pilipinas": "PH", "muang thai": "TH", "prathet thai": "TH", "belgie": "BE",
    "belgique": "BE", "rossiya": "RU", "eire": "IE", "hrvatska": "HR", "slovensko": "SK",
    "srbija": "RS", "romania": "RO", "bulgaria": "BG", "misr": "EG",
}  # fmt: skip
_NOT_WORD = re.compile(r"[\W_]+")


def normalized(text: str) -> str:
    """`  Viet-Nam ` -> `viet nam`, `Côte d’Ivoire` -> `cote d ivoire`: case, accents,
    punctuation and spacing do not tell names apart."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", plain).split()).casefold()


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
    """A select's choices: none, then every country by its name in the active language,
    in the order a reader expects ("Åland Islands" among the A's, not after "Zimbabwe")."""
    names = sorted(country_names().items(), key=lambda pair: normalized(pair[1]))
    return [("", "—"), *names]


@cache
def _index() -> dict[str, str]:
    """Every name the product knows for a country -> its code: English, each of the
    product's languages, the aliases, and the codes themselves."""
    index: dict[str, str] = {}
    for language in ["en", *(code for code, _name in settings.LANGUAGES)]:
        index.update((normalized(name), code) for code, name in _names(language).items())
    index.update((normalized(alias), code) for alias, code in ALIASES.items())
    index.update((code.casefold(), code) for code in _names("en"))
    return index


def country_code(text: str) -> str | None:
    """The ISO code `text` names: a code in any case, a name in English or any of the
    product's languages, or an alias; "" for blank; None when it names no country."""
    text = str(text or "").strip()
    if not text:
        return ""
    return _index().get(normalized(text))
