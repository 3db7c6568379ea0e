"""How the lead page's history words a touch (the person came in again) and a merge, and
marks the entries a merge brought over from another lead.

Both events keep the history's `{name: [old, new]}` shape (`leads.services.intake`,
`leads.services.merge`); these filters split the bookkeeping keys (channel, form, the
other lead, what moved) from the field values, and label both as people read them.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from leads.selectors import EVENT_BOOKKEEPING, display_value, field_label
from leads.services.merge import MOVED_ROWS
from leads.services.merge import moved_summary as describe_moved

register = template.Library()

CHANNELS = {
    "form": _("the intake form"),
    "api": _("the API"),
    "import": _("an import"),
    "web_form": _("a web form"),
    "webhook": _("marketing automation (webhook)"),
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
    """The field pairs of a touch or merge, labelled, without the bookkeeping keys, nor a
    pair that reads the same on both sides (a touch's source that is the lead's own), nor a
    merge's status move: the history shows that as an entry of its own."""
    merge = "merged_into" in changes or "merged_lead" in changes
    rows = []
    for name, pair in changes.items():
        if name in EVENT_BOOKKEEPING or not (isinstance(pair, list | tuple) and len(pair) == 2):
            continue
        if merge and name == "status":
            continue
        old, new = display_value(name, pair[0]), display_value(name, pair[1])
        if old != new:
            rows.append({"label": field_label(name), "old": old, "new": new})
    return rows


@register.filter
def moved_summary(changes: dict[str, Any]) -> str:
    """ "1 activity, 3 history entries (1 status move), ..." for what a merge carried over
    (`leads.services.merge.moved_summary`: the words the merge page and its message use)."""
    moved = _new(changes, "moved")
    return describe_moved(moved) if isinstance(moved, dict) else ""


@register.simple_tag
def merge_origins(timeline: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """Which history entries came from a lead merged into this one: (entry type, row id)
    -> that lead's id, from the ids each MERGED event keeps (`MOVED_ROWS`). Oldest merge
    first, so a row moved twice (B into A, then A into C) names the lead it began on."""
    merges = [e for e in timeline if e.get("kind") == "merged" and MOVED_ROWS in e["raw_changes"]]
    origins: dict[tuple[str, int], int] = {}
    for entry in sorted(merges, key=lambda e: e["sort"]):
        other = _new(entry["raw_changes"], "merged_lead")
        rows = _new(entry["raw_changes"], MOVED_ROWS) or {}
        if not other or not isinstance(rows, dict):
            continue
        for kind, key in (("event", "events"), ("transition", "transitions")):
            for pk in rows.get(key) or ():
                origins.setdefault((kind, pk), other)
    return origins


@register.filter
def merged_from(entry: dict[str, Any], origins: dict[tuple[str, int], int]) -> int | None:
    """The merged lead a history entry came from (`merge_origins`), or None when it
    happened to this lead."""
    if not origins:
        return None
    return origins.get((entry["type"], entry["pk"]))
