"""The sidebar's sections for every app, registered with `crm.navigation` at start-up.

They live here, on the top floor, because the sidebar shows every app at once (like My
work); an app may later register its own sections from its own `ready()` instead."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.navigation import Section, register_section, settings_pages_for, with_perm

SECTIONS = (
    Section(_("My work"), "home", "bi-house"),
    Section(_("Leads"), "leads:list", "bi-inbox"),
    Section(_("Opportunities"), "opportunities:list", "bi-briefcase"),
    Section(_("Pipeline"), "opportunities:board", "bi-kanban"),
    # Everyone: managers and RevOps see their scope, reps their own figures.
    Section(_("Dashboard"), "reports:dashboard", "bi-speedometer2"),
    Section(
        _("Approvals"),
        "opportunities:overrides",
        "bi-check2-square",
        with_perm("opportunities.decide_overrides"),
    ),
    Section(_("SLA"), "sla:dashboard", "bi-stopwatch", with_perm("sla.view_area")),
    Section(_("Import leads"), "imports:list", "bi-upload", with_perm("imports.import_leads")),
    Section(_("Settings"), "settings", "bi-sliders", lambda user: bool(settings_pages_for(user))),
)


def register_sections() -> None:
    for section in SECTIONS:
        register_section(section)
