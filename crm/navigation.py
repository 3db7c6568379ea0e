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
