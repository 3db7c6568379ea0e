"""Amounts as people read them, in the active locale: one figure per ISO currency,
never summed across currencies. Every app formats money through these."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import (
    format_compact_decimal,
    format_currency,
    format_decimal,
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
    try:
        return Locale.parse(to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_money(amount: Decimal | int | float | None, currency: str, *, cents: bool = True) -> str:
    """`$50,000.00`, `€50.000,00`; a currency without its own symbol reads `IDR 1,600,000`."""
    if amount is None:
        return "—"
    locale = _locale()
    symbol = get_currency_symbol(currency, locale=locale)
    if symbol == currency:
        digits = "#,##0.00" if cents else "#,##0"
        return f"{currency}\u00a0{format_decimal(amount, format=digits, locale=locale)}"
    if cents:
        return format_currency(amount, currency, locale=locale)
    return format_currency(amount, currency, locale=locale, format="¤#,##0", currency_digits=False)


def format_compact(amount: Decimal | int | float | None, currency: str) -> str:
    """`USD 1.2M`: for column totals, where the order of magnitude is the point."""
    if amount is None:
        return "—"
    compact = format_compact_decimal(amount, locale=_locale(), fraction_digits=1)
    return f"{currency}\u00a0{compact}"


def format_totals(totals: Iterable[tuple[str, Decimal]]) -> str:
    """`USD 1.2M · EUR 300K`: one figure per currency, never summed across currencies."""
    return " · ".join(format_compact(amount, currency) for currency, amount in totals)
