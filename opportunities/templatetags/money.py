"""Amounts, people and ages as an account executive reads them, in the active locale."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.money import format_compact, format_money, format_totals

__all__ = ["format_compact", "format_money", "format_totals"]

register = template.Library()


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
