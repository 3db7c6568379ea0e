from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "opportunities"

    def ready(self) -> None:
        """Put the conversion card on the lead page; word refusals about a deal."""
        from crm.web.errors import SubjectWording, register_subject
        from leads.panels import register_panel
        from opportunities.panels import CONVERSION_READINESS

        register_panel(CONVERSION_READINESS)

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
