"""`{% inline_cell record "field" %}`: a list cell the user may edit in place.

The cell's config is the record's registered `crm.web.inline.InlineEdit`; whether the
pencil shows is its `may_edit`, the same `rules` predicate the edit views check. A list
puts `{% inline_rows rows %}` once before its rows, which loads in one query what the
predicate reads of them (a manager's: each row's team), so no row costs a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.db.models import Model

from crm.web.inline import inline_edit_for

register = template.Library()


@register.inclusion_tag("crm/_inline_cell.html", takes_context=True)
def inline_cell(context: template.Context, record: Model, field: str) -> dict[str, Any]:
    inline = inline_edit_for(record)
    user = context["request"].user
    return {
        "record": record,
        "field": field,
        "spec": inline.fields[field],
        "inline": inline,
        "form": None,
        "can_edit": inline.may_edit(user, record),
    }


@register.simple_tag(takes_context=True)
def inline_rows(context: template.Context, rows: Sequence[Model]) -> str:
    rows = list(rows)
    if rows:
        inline_edit_for(rows[0]).prefetch(context["request"].user, rows)
    return ""
