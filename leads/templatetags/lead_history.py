"""How the lead page's history words a touch (the person came in again) and a merge.

Both events keep the history's `{name: [old, new]}` shape (`leads.services.intake`,
`leads.services.merge`); these filters split the bookkeeping keys (channel, form, the
other lead, what moved) from the field values, and label both as people read them.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from leads.selectors import display_value, field_label

register = template.Library()

CHANNELS = {
    "form": _("the intake form"),
    "api": _("the API"),
    "import": _("an import"),
    "web_form": _("a web form"),
    "webhook": _("marketing automation (webhook)"),
}
# Keys of a touch or merge that are not lead fields.
_BOOKKEEPING = frozenset({"channel", "form", "merged_lead", "merged_into", "moved"})
_MOVED = {
    "activities": _("activities"),
    "events": _("history entries"),
    "transitions": _("status moves"),
    "handoffs": _("hand-offs"),
    "criteria": _("qualification answers"),
}


def _new(changes: dict[str, Any], key: str) -> Any:
    pair = changes.get(key)
    return pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else None


@register.filter
def channel_label(changes: dict[str, Any]) -> str:
    """Where a touch came in, in words."""
    code = _new(changes, "channel") or ""
    return str(CHANNELS.get(code, code))


@register.filter
def event_value(changes: dict[str, Any], key: str) -> Any:
    """The new side of one bookkeeping pair (a touch's form, a merge's other lead)."""
    return _new(changes, key)


@register.filter
def field_changes(changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The field pairs of a touch or merge, labelled, without the bookkeeping keys."""
    return [
        {
            "label": field_label(name),
            "old": display_value(name, pair[0]),
            "new": display_value(name, pair[1]),
        }
        for name, pair in changes.items()
        if name not in _BOOKKEEPING and isinstance(pair, list | tuple) and len(pair) == 2
    ]


@register.filter
def moved_summary(changes: dict[str, Any]) -> str:
    """ "3 activities, 5 history entries, ..." for what a merge carried over."""
    moved = _new(changes, "moved") or {}
    parts = [f"{count} {_MOVED.get(kind, kind)}" for kind, count in moved.items() if count]
    return ", ".join(parts)
