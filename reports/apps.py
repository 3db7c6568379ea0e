from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        """List the benchmark ranges and the MQL targets among the settings RevOps edits."""
        from django.utils.translation import gettext_lazy as _

        from crm.navigation import SettingsPage, register_settings_page, with_perm

        register_settings_page(
            SettingsPage(
                _("Benchmarks"),
                "reports:benchmarks",
                "bi-bullseye",
                _("Typical conversion-rate ranges per source that reports compare against."),
                with_perm("reports.view_benchmarks"),
            )
        )
        register_settings_page(
            SettingsPage(
                _("MQL targets"),
                "reports:mql-targets",
                "bi-flag",
                _("MQLs marketing commits to deliver per month and source (marketing SLA)."),
                with_perm("reports.view_mql_targets"),
            )
        )
