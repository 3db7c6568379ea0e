from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """CSV import of leads: upload, column mapping, dry run, a Celery run with progress,
    an error file. Rows go in through the leads' bulk intake (`leads.services.bulk_intake`):
    the same rules, deduplication, routing and SLA clocks as a lead typed by hand."""

    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        """List the import setting on the Settings hub, and let the upload endpoint take a
        file larger than the API's usual body limit (`crm.web.api_guard`)."""
        from crm.navigation import SettingsPage, register_settings_page, with_perm
        from crm.web.api_guard import allow_large_body

        register_settings_page(
            SettingsPage(
                _("Lead import"),
                "imports:settings",
                "bi-upload",
                _("Whether SDRs may import their own leads from CSV files."),
                with_perm("imports.view_settings"),
            )
        )
        # The upload view refuses an oversized body itself (`imports.files`), naming `file`.
        allow_large_body("/api/v1/imports/", None)
