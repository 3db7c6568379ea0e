from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"

    def ready(self) -> None:
        """Give the lead lifecycle its clocks: `leads` calls them through `leads.clocks`
        without importing `sla` (models are importable only once the registry is ready)."""
        from django.utils.translation import gettext_lazy as _

        from crm.navigation import SettingsPage, register_settings_page, with_perm
        from leads.clocks import register
        from sla.clocks import SlaClocks

        register(SlaClocks())

        register_settings_page(
            SettingsPage(
                _("SLA targets"),
                "sla:policies",
                "bi-stopwatch",
                _("Each commitment's target, calendar, warning point and escalation chain."),
                with_perm("sla.view_area"),
            )
        )
        register_settings_page(
            SettingsPage(
                _("Business calendars"),
                "sla:calendars",
                "bi-calendar-week",
                _("Working days, hours and holidays that business-time targets count in."),
                with_perm("sla.view_area"),
            )
        )
