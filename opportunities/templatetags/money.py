"""Amounts, people and ages as an account executive reads them, in the active locale."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_compact_decimal,
    format_currency,
    format_decimal,
    get_currency_symbol,
)
from django import template
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

register = template.Library()


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


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def money_whole(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency, cents=False)


@register.filter
def money_compact(amount: Decimal | None, currency: str) -> str:
    return format_compact(amount, currency)


@register.filter
def initials(user: Any) -> str:
    if user is None:
        return ""
    first = (getattr(user, "first_name", "") or "")[:1]
    last = (getattr(user, "last_name", "") or "")[:1]
    return (first + last).upper() or (getattr(user, "username", "") or "?")[:2].upper()


@register.filter
def is_stale(opportunity: Any) -> bool:
    """An open deal that sat in its stage longer than the stage's rot age."""
    return opportunity.is_stale(timezone.now())


@register.filter
def days_in_stage(opportunity: Any) -> int:
    return max((timezone.now() - opportunity.stage_entered_at).days, 0)


@register.filter
def duration(value: datetime.timedelta | None) -> str:
    """`3 d 4 h`, `5 h 12 min`, `under a minute`."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)s min") % {"m": minutes}
    return _("under a minute")


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None
