"""Amounts as people read them, in the active locale: one figure per ISO currency,
never summed across currencies. Every app formats money through these."""

from __future__ import annotations

import copy
import datetime
import functools
from collections.abc import Iterable
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import (
    format_compact_decimal,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_territory_currencies,
    list_currencies,
)
from django.utils.translation import get_language, to_locale


def currencies_in_use() -> frozenset[str]:
    """ISO 4217 codes that are legal tender somewhere today: no "XXX" (no currency),
    "XTS" (testing), funds, precious metals or currencies long withdrawn. Amounts are kept
    in one of these; reading the list once per process is enough (it changes by decree)."""
    global _IN_USE
    if _IN_USE is None:
        today = datetime.date.today()  # noqa: DTZ011 - a calendar date, not an instant
        codes: set[str] = set()
        for territory in get_global("territory_currencies"):
            codes.update(get_territory_currencies(territory, today, tender=True))
        _IN_USE = frozenset(codes) & frozenset(list_currencies())
    return _IN_USE


_IN_USE: frozenset[str] | None = None


def _locale() -> Locale:
    return _parsed_locale(get_language() or "en")


@functools.lru_cache(maxsize=32)
def _parsed_locale(language: str) -> Locale:
    """CLDR data parsed once per language: parsing was 40 % of a `format_money` call, and
    the board formats a hundred and sixty amounts per page."""
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_money(amount: Decimal | int | float | None, currency: str, *, cents: bool = True) -> str:
    """`$50,000.00` in English, `US$50.000,00` and `Rp1.250.000` in Indonesian: symbol,
    grouping and decimal mark come from the active locale (CLDR), the minor units from the
    currency (none for IDR or JPY, as CLDR has it). A currency without a symbol in the
    locale reads `IDR 1,250,000`. `cents=False` drops the minor units."""
    if amount is None:
        return "—"
    locale = _locale()
    digits = _minor_units(amount, currency) if cents else 0
    symbol = get_currency_symbol(currency, locale=locale)
    if symbol == currency:
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return f"{currency}\u00a0{format_decimal(amount, format=pattern, locale=locale)}"
    # The locale's own pattern (where the symbol goes, spacing, grouping), `digits` places.
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern.apply(Decimal(str(amount)), locale, currency=currency, currency_digits=False)


def _minor_units(amount: Decimal | int | float, currency: str) -> int:
    """The currency's minor units, or as many as a stored fraction it does not use needs
    (IDR 10.50), so an amount is never rounded away on screen."""
    digits = get_currency_precision(currency)  # CLDR's; 2 for a code it does not know
    exponent = Decimal(str(amount)).normalize().as_tuple().exponent
    needed = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return max(2, min(needed, 4)) if needed > digits else digits


def format_compact(amount: Decimal | int | float | None, currency: str) -> str:
    """`USD 1.2M`: for column totals, where the order of magnitude is the point."""
    if amount is None:
        return "—"
    compact = format_compact_decimal(amount, locale=_locale(), fraction_digits=1)
    return f"{currency}\u00a0{compact}"


def format_totals(totals: Iterable[tuple[str, Decimal]]) -> str:
    """`USD 1.2M · EUR 300K`: one figure per currency, never summed across currencies."""
    return " · ".join(format_compact(amount, currency) for currency, amount in totals)
