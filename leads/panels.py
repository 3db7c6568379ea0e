"""Cards that apps above `leads` add to the lead page, registered at start-up.

The lead page shows what other apps know about the lead — the conversion readiness card
comes from `opportunities` — but `leads` may not import them. An app registers a panel
in its `AppConfig.ready()`: a template and a function building its context (None hides
the card). The lead page renders each panel in registration order, above the criteria.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from crm.models import User
    from leads.models import Lead


@dataclass(frozen=True)
class LeadPanel:
    template: str
    context: Callable[[User, Lead], dict[str, Any] | None]


_panels: list[LeadPanel] = []


def register_panel(panel: LeadPanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def render_panels(request: HttpRequest, user: User, lead: Lead) -> list[SafeString]:
    """Each registered panel that has something to show for `lead`, as HTML."""
    rendered = []
    for panel in _panels:
        context = panel.context(user, lead)
        if context is not None:
            rendered.append(SafeString(render_to_string(panel.template, context, request)))
    return rendered
