"""How report values read on the page (locale-aware) and in CSV (plain, unformatted)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_decimal
from django.utils.translation import get_language, ngettext, to_locale
from django.utils.translation import gettext as _

from crm.money import format_money

__all__ = ["format_compact", "format_money"]

DASH = "—"


@lru_cache(maxsize=16)
def _locale_for(language: str) -> Locale:
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _locale() -> Locale:
    """The active language's babel Locale (parsed once: a report formats hundreds of cells)."""
    return _locale_for(get_language() or "en")


@lru_cache(maxsize=4096)
def _compact(amount: Decimal, language: str) -> str:
    return format_compact_decimal(amount, locale=_locale_for(language), fraction_digits=1)


def format_compact(amount: Decimal | int | float | None, currency: str) -> str:
    """`USD 1.2M`: where the order of magnitude is the point (as the deal list's totals)."""
    if amount is None:
        return DASH
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return f"{currency}\u00a0{_compact(value, get_language() or 'en')}"


def number(value: int | float | Decimal | None, digits: int = 0) -> str:
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def percent(value: float | Decimal | None, digits: int = 1) -> str:
    if value is None:
        return DASH
    return f"{number(value, digits)}\u00a0%"


def ratio_times(value: float | None) -> str:
    return DASH if value is None else f"{number(value, 1)}×"


def duration(seconds: float | None) -> str:
    """`45 min`, `3.2 h`, `2.5 d`: one unit, as precise as a glance needs."""
    if seconds is None:
        return DASH
    sign = "−" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        text = _("%(n)s s") % {"n": number(seconds)}
    elif seconds < 3600:
        text = _("%(n)s min") % {"n": number(seconds / 60)}
    elif seconds < 86400:
        text = _("%(n)s h") % {"n": number(seconds / 3600, 1)}
    else:
        text = _("%(n)s d") % {"n": number(seconds / 86400, 1)}
    return sign + text


def days(value: int) -> str:
    return ngettext("%(n)s day", "%(n)s days", value) % {"n": value}


def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency, cents=False)


def money_list(items: list[tuple[str, Decimal]], *, compact: bool = True) -> str:
    """One figure per currency, never summed: `USD 1.2M · EUR 300K`."""
    if not items:
        return DASH
    fmt = format_compact if compact else (lambda a, c: format_money(a, c, cents=False))
    return " · ".join(fmt(amount, currency) for currency, amount in items)


def month(value: datetime.date | None) -> str:
    if value is None:
        return _("Past due")
    return format_date(value, format="MMM y", locale=_locale())


def page_text(kind: str, value: Any) -> str:
    """The page's text for a value of a column kind (see `reports.tables.table.Column`)."""
    if kind == "int":
        return number(value)
    if kind == "float":
        return number(value, 1)
    if kind == "percent":
        return percent(value)
    if kind == "duration":
        return duration(value)
    if kind == "ratio":
        return ratio_times(value)
    if kind == "money":
        amount, currency = value if value else (None, "")
        return money(amount, currency) if value else DASH
    if kind == "money_list":
        return money_list(value or [])
    if kind == "month":
        return month(value)
    if value is None or value == "":
        return DASH
    return str(value)


def csv_value(kind: str, value: Any) -> Any:
    """The CSV value: numbers unformatted, durations in hours, money as `USD 1200.00`."""
    if value is None:
        return ""
    if kind in ("percent", "ratio", "float"):
        return f"{float(value):.2f}"
    if kind == "duration":
        return f"{float(value) / 3600:.2f}"
    if kind == "money":
        amount, currency = value
        return f"{currency} {Decimal(amount):.2f}"
    if kind == "money_list":
        return "; ".join(f"{currency} {Decimal(amount):.2f}" for currency, amount in value)
    if kind == "month":
        return value.strftime("%Y-%m") if value else "past-due"
    return value


def json_value(kind: str, value: Any) -> Any:
    """The API value: numbers as numbers, durations in seconds, money per currency."""
    if value is None:
        return None
    if kind in ("percent", "ratio", "float", "duration"):
        return round(float(value), 4)
    if kind == "money":
        amount, currency = value
        return {"currency": currency, "amount": str(Decimal(amount).quantize(Decimal("0.01")))}
    if kind == "money_list":
        return [
            {"currency": currency, "amount": str(Decimal(amount).quantize(Decimal("0.01")))}
            for currency, amount in value
        ]
    if kind == "month":
        return value.strftime("%Y-%m") if value else "past-due"
    if isinstance(value, Decimal):
        return str(value)
    return value
