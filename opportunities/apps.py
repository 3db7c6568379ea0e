from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "opportunities"

    def ready(self) -> None:
        """Put the conversion card on the lead page; word refusals about a deal; list the
        pipeline settings in the Settings hub."""
        from crm.navigation import SettingsPage, register_settings_page, with_perm
        from crm.web.errors import SubjectWording, register_subject
        from leads.panels import register_panel
        from opportunities.panels import CONVERSION_READINESS

        register_panel(CONVERSION_READINESS)

        register_settings_page(
            SettingsPage(
                _("Pipeline stages"),
                "opportunities:settings-stages",
                "bi-kanban",
                _(
                    "The stages deals move through: order, probability, entry stages, what "
                    "must be filled in to move on, when a deal goes stale."
                ),
                with_perm("opportunities.view_settings"),
            )
        )
        register_settings_page(
            SettingsPage(
                _("Conversion policy"),
                "opportunities:settings-conversion-policy",
                "bi-shield-check",
                _(
                    "The close-date window, large-deal thresholds per currency, approval, "
                    "required custom fields and the early-stage stall age."
                ),
                with_perm("opportunities.view_settings"),
            )
        )

        register_subject(
            "deal",
            SubjectWording(
                not_possible=_(
                    "That step is not possible while the deal is %(status)s. "
                    "The page now shows its current state."
                ),
                stale=_(
                    "Someone else changed this deal while you had it open, so nothing was "
                    "saved. Check its current state below and try again."
                ),
            ),
        )
