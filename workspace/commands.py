"""What the Ctrl+K palette can do besides finding records: go to a page, start a lead,
change the theme, show the keyboard shortcuts.

"Go to" commands are the sidebar's sections (`crm.navigation.sections_for`), so the
palette offers exactly the pages the sidebar does, under the same permissions. Commands
that act in the browser (the theme, the shortcuts) carry an `action` for
`static/js/palette.js` instead of a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.models import User
from crm.navigation import sections_for


@dataclass(frozen=True)
class Command:
    id: str
    label: str
    icon: str
    url: str = ""
    action: str = ""  # "theme:light" | "theme:dark" | "theme:system" | "shortcuts"
    keywords: str = ""
    shortcut: str = ""

    def matches(self, words: list[str]) -> bool:
        text = f"{self.label} {self.keywords}".casefold()
        return all(word in text for word in words)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "icon": self.icon,
            "url": self.url,
            "action": self.action,
            "shortcut": self.shortcut,
        }


# The sidebar sections that have a "g then <key>" shortcut (static/js/palette.js).
GO_KEYS = {
    "home": "g h",
    "leads:list": "g l",
    "opportunities:list": "g o",
    "opportunities:board": "g p",
    "reports:dashboard": "g d",
    "settings": "g s",
}


# The other words a user types for a section: "board" for the pipeline, "queue" for leads.
# English stays beside the translation, for users who learnt the product in English.
SECTION_KEYWORDS = {
    "home": gettext_noop("home start today tasks team"),
    "leads:list": gettext_noop("queue leads list inbox"),
    "opportunities:list": gettext_noop("deals table list"),
    "opportunities:board": gettext_noop("board kanban deals stages"),
    "reports:dashboard": gettext_noop("reports charts numbers"),
    "sla:dashboard": gettext_noop("clocks timers overdue"),
    "imports:list": gettext_noop("csv upload file"),
    "settings": gettext_noop("configure rules admin"),
}


def section_keywords(url_name: str) -> str:
    english = SECTION_KEYWORDS.get(url_name, "")
    translated = _(english) if english else ""
    return f"{_('open page navigate')} {translated} {english}".strip()


def commands_for(user: User) -> list[Command]:
    """Every command `user` may run, in the order the palette lists them."""
    commands = [
        Command(
            id="lead-new",
            label=_("New lead"),
            icon="bi-plus-lg",
            url=reverse("leads:new"),
            keywords=_("create add intake"),
            shortcut="n",
        )
    ]
    for section in sections_for(user):
        commands.append(
            Command(
                id=f"go-{section.url_name}",
                label=_("Go to %(page)s") % {"page": section.label},
                icon=section.icon,
                url=reverse(section.url_name),
                keywords=section_keywords(section.url_name),
                shortcut=GO_KEYS.get(section.url_name, ""),
            )
        )
    commands += [
        Command(
            id="theme-dark",
            label=_("Theme: dark"),
            icon="bi-moon-stars",
            action="theme:dark",
            keywords=_("switch appearance colours night"),
        ),
        Command(
            id="theme-light",
            label=_("Theme: light"),
            icon="bi-sun",
            action="theme:light",
            keywords=_("switch appearance colours day"),
        ),
        Command(
            id="theme-system",
            label=_("Theme: follow the device"),
            icon="bi-circle-half",
            action="theme:system",
            keywords=_("switch appearance colours system auto"),
        ),
        Command(
            id="shortcuts",
            label=_("Keyboard shortcuts"),
            icon="bi-keyboard",
            action="shortcuts",
            keywords=_("help keys"),
            shortcut="?",
        ),
    ]
    return commands


def matching_commands(user: User, text: str) -> list[Command]:
    """The commands whose label or keywords hold every word of `text` (all when empty)."""
    words = text.casefold().split()
    return [command for command in commands_for(user) if command.matches(words)]
