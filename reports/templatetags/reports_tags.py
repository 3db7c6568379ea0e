"""Small helpers for report templates: status badges, CSV links, values as they read."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports import formatting

register = template.Library()

STATUS = {
    "below": ("bench-below", "bi-arrow-down", gettext_lazy("Below range")),
    "within": ("bench-within", "bi-check2", gettext_lazy("Within range")),
    "above": ("bench-above", "bi-arrow-up", gettext_lazy("Above range")),
    "good": ("bench-good", "bi-check2", gettext_lazy("On target")),
    "warn": ("bench-warn", "bi-exclamation", gettext_lazy("Watch")),
    "bad": ("bench-bad", "bi-x", gettext_lazy("Off target")),
    # MQLs delivered against a month's target (reports.selectors.marketing)
    "target_met": ("bench-within", "bi-check2", gettext_lazy("Target met")),
    "target_on_pace": ("bench-within", "bi-arrow-right", gettext_lazy("On pace")),
    "target_behind": ("bench-warn", "bi-exclamation", gettext_lazy("Behind pace")),
    "target_below": ("bench-bad", "bi-arrow-down", gettext_lazy("Below target")),
}


@register.simple_tag
def status_badge(status: str | None) -> str:
    if not status or status not in STATUS:
        return format_html('<span class="bench bench-none">{}</span>', _("No benchmark"))
    css, icon, label = STATUS[status]
    return format_html(
        '<span class="bench {}"><i class="bi {}" aria-hidden="true"></i>{}</span>',
        css,
        icon,
        str(label),
    )


@register.simple_tag
def csv_url(query: str, table_id: str) -> str:
    prefix = f"{query}&" if query else ""
    return f"?{prefix}format=csv&table={table_id}"


@register.filter
def duration(seconds: float | None) -> str:
    return formatting.duration(seconds)


@register.filter
def percent(value: float | None) -> str:
    return formatting.percent(value)


@register.filter
def number(value: Any) -> str:
    return formatting.number(value)


@register.filter
def money_list(items: Any) -> str:
    return formatting.money_list(list(items or []))


@register.filter
def lookup(mapping: Any, key: str) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def money_lines(items: Any) -> list[str]:
    """One compact figure per currency, largest first: never a sum across currencies."""
    return [formatting.format_compact(amount, currency) for currency, amount in items or []]


@register.simple_tag
def report_table(table: Any) -> str:
    """A report table as HTML (what `reports/_table.html` used to loop over): built in
    Python because a dashboard renders hundreds of cells and the template engine spends
    most of a page's time resolving their variables."""
    if not table.rows:
        return format_html(
            '<p class="table-empty">{}</p>', table.empty or _("Nothing to show for these filters.")
        )
    drill_title = escape(_("List the records behind this number"))
    columns = table.page_columns
    head = "".join(
        ('<th scope="col" class="num">' if c.numeric else '<th scope="col">')
        + f"{escape(c.label)}</th>"
        for c in columns
    )
    body = []
    for row, cells in table.display_rows():
        classes = ("is-total " if row.is_total else "") + (
            "is-past" if row.status == "past" else ""
        )
        parts = [f'<tr class="{classes.strip()}">']
        for index, (column, cell, text) in enumerate(cells):
            parts.append(_cell(index, row, column, cell, text, drill_title))
        parts.append("</tr>")
        body.append("".join(parts))
    return mark_safe(  # noqa: S308 - every value above is escaped
        '<div class="table-scroll"><table class="table table-app table-report align-middle" '
        f'id="table-{escape(table.id)}" data-testid="table-{escape(table.id)}">'
        f'<caption class="visually-hidden">{escape(table.title)}. {escape(table.caption)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _cell(index: int, row: Any, column: Any, cell: Any, text: str, drill_title: str) -> str:
    note = escape(cell.note) if cell.note else ""
    if index == 0:
        extra = " text-body" if row.is_total else ""
        sub = f'<div class="cell-secondary fw-normal">{note}</div>' if note else ""
        return f'<th scope="row" class="cell-primary fw-semibold{extra}">{escape(text)}{sub}</th>'
    if column.kind == "status":
        if not cell.value:
            return '<td><span class="text-muted">—</span></td>'
        sub = f'<div class="cell-note">{note}</div>' if note else ""
        return f"<td>{status_badge(cell.value)}{sub}</td>"
    if column.kind == "money_list":
        lines = "".join(f"<div>{escape(line)}</div>" for line in money_lines(cell.value)) or "—"
        return f'<td class="num">{lines}</td>'
    css = "num" if column.numeric else "cell-text"
    content: str = escape(text)
    if cell.link and cell.value is not None:
        content = f'<a class="drill" href="{escape(cell.link)}" title="{drill_title}">{content}</a>'
    sub = f'<div class="cell-note">{note}</div>' if note and column.numeric else ""
    return f'<td class="{css}">{content}{sub}</td>'
