"""Amounts as people read them, in the active locale: one figure per ISO currency,
never summed across currencies. Every app formats money through these."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_compact_decimal,
    format_currency,
    format_decimal,
    get_currency_symbol,
)
from django.utils.translation import get_language, to_locale


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
