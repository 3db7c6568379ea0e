"""The sidebar's sections. `crm` draws the shell but knows nothing of the apps above it:
those apps register their sections at start-up (`AppConfig.ready`), in the order the
sidebar shows them. The Django admin, part of `crm`, is added by the shell itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

from crm.models import User


def everyone(user: User) -> bool:
    return True


def with_perm(permission: str) -> Callable[[User], bool]:
    """Show an entry to whoever its page admits: the page's own `rules` permission."""
    return lambda user: user.has_perm(permission)


@dataclass(frozen=True)
class Section:
    label: str | Promise
    url_name: str  # reversed with no arguments
    icon: str  # a Bootstrap Icons class
    shown_to: Callable[[User], bool] = everyone


_sections: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add a section at the end, or replace the one with the same URL name in place (so
    a second `ready()` call does not duplicate it)."""
    _sections[section.url_name] = section


def sections_for(user: User) -> list[Section]:
    return [section for section in _sections.values() if section.shown_to(user)]


@dataclass(frozen=True)
class SettingsPage:
    """A page where the rules of the game are edited (stages, routing, SLA targets, …).

    `shown_to` is the page's own read permission: RevOps edit, managers read, reps never
    see settings. Apps register their pages at start-up; the Settings hub lists them.
    """

    label: str | Promise
    url_name: str  # reversed with no arguments
    icon: str
    description: str | Promise
    shown_to: Callable[[User], bool]


_settings_pages: dict[str, SettingsPage] = {}


def register_settings_page(page: SettingsPage) -> None:
    _settings_pages[page.url_name] = page


def settings_pages_for(user: User) -> list[SettingsPage]:
    return [page for page in _settings_pages.values() if page.shown_to(user)]
