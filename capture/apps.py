from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaptureConfig(AppConfig):
    """Leads from outside without a user: public web-to-lead forms and the inbound webhook
    with intake keys. Both call the leads intake service, so the same rules apply."""

    name = "capture"
    verbose_name = _("Capture")

    def ready(self) -> None:
        """List the capture settings on the Settings hub: web forms (RevOps edit, managers
        read) and intake keys (RevOps only: they are credentials)."""
        from crm.navigation import SettingsPage, register_settings_page, with_perm

        register_settings_page(
            SettingsPage(
                _("Web-to-lead forms"),
                "capture:forms",
                "bi-ui-checks",
                _("Forms for your web site that create routed leads; the snippet to paste."),
                with_perm("capture.view_forms"),
            )
        )
        register_settings_page(
            SettingsPage(
                _("Intake keys"),
                "capture:keys",
                "bi-key",
                _("Keys marketing automation uses to send leads to the webhook."),
                with_perm("capture.manage_intake_keys"),
            )
        )
