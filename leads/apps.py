from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        """Word refusals about a lead (`crm.web.errors` stands below `leads` and cannot
        import it); labels stay lazy so each message is in the request's language."""
        from crm.web.errors import SubjectWording, register_subject
        from leads.models import Lead

        register_subject(
            "lead",
            SubjectWording(
                not_possible=_(
                    "That step is not possible while the lead is %(status)s. "
                    "The page now shows its current state."
                ),
                stale=_(
                    "Someone else changed this lead while you had it open, so nothing was "
                    "saved. Check its current state below and try again."
                ),
                states=dict(Lead.Status.choices),
            ),
        )
