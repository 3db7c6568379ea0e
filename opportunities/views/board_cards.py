"""The board's cards as HTML, without a template include per card.

`templates/opportunities/_deal_card.html` is the card; "Load more" renders it per card.
The board renders a hundred and sixty and more at once, and there the template engine
(an include, a context push and a dozen variable lookups per card) cost more than every
query of the page. So the board builds the same markup here from the texts
`opportunities.board._decorate` already set, escaped as the template escapes them; the
badges of the few flagged cards still come from `_badges.html`. A test renders both for
every kind of card and compares the bytes, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from opportunities.models import Opportunity

_CARD = (
    '\n<article class="deal-card{pending_class}" data-id="{pk}" data-version="{version}"'
    ' data-name="{name}"\n'
    '         data-move-url="{move_url}" data-detail-url="{detail_url}"{draggable}\n'
    '         data-testid="deal-card">\n'
    '  <a class="deal-name" href="{detail_url}">{name}</a>\n'
    '  <div class="deal-account">{account}</div>\n'
    '  <div class="deal-amount num">{amount}</div>\n'
    "  {flags}\n"
    '  <footer class="deal-foot">\n'
    '    <span class="avatar avatar-sm" title="{owner}">{initials}</span>\n'
    '    <span class="deal-close" title="{close_title}"><i class="bi bi-calendar-event"'
    ' aria-hidden="true"></i> <time datetime="{close_iso}">{close_text}</time></span>\n'
    "  </footer>\n"
    "</article>\n"
)


def cards_html(cards: Iterable[Opportunity], *, can_drag: bool, indent: str) -> SafeString:
    """The cards as `{% for %}{% include "_deal_card.html" %}{% endfor %}` renders them
    at `indent` in the board's template (the loop's own line breaks included), so the page
    is the same to the byte."""
    close_title = escape(gettext("Expected close"))
    badges = None
    before, after = f"\n{indent}  ", f"\n{indent}"
    parts = []
    for card in cards:
        extra: Any = card  # the texts set by opportunities.board._decorate
        pending = card.approval == Opportunity.Approval.PENDING
        flags = ""
        if extra.flagged:
            badges = badges or get_template("opportunities/_badges.html")
            flags = f'<div class="flags">{badges.render({"opportunity": card})}</div>'
        parts.append(before)
        parts.append(
            _CARD.format(
                pending_class=" is-pending-approval" if pending else "",
                pk=card.pk,
                version=card.version,
                name=escape(card.name),
                move_url=escape(extra.move_url),
                detail_url=escape(extra.detail_url),
                draggable=" data-draggable" if can_drag and not pending else "",
                account=escape(extra.account_name),
                amount=escape(extra.amount_text),
                flags=flags,
                owner=escape(extra.owner_name),
                initials=escape(extra.owner_initials),
                close_title=close_title,
                close_iso=extra.close_iso,
                close_text=escape(extra.close_text),
            )
        )
        parts.append(after)
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
