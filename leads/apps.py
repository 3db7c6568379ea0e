from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        """Word refusals about a lead (`crm.web.errors` stands below `leads` and cannot
        import it); labels stay lazy so each message is in the request's language. List
        the leads settings (routing rules, reasons) on the Settings hub."""
        from crm.navigation import SettingsPage, register_settings_page, with_perm
        from crm.web.errors import SubjectWording, register_subject
        from leads.models import Lead

        register_settings_page(
            SettingsPage(
                _("Routing rules"),
                "leads:settings_routing",
                "bi-signpost-split",
                _("Which team and SDR each new lead goes to, in order; test who would get a lead."),
                with_perm("leads.view_settings"),
            )
        )
        register_settings_page(
            SettingsPage(
                _("Rejection and disqualification reasons"),
                "leads:settings_reasons",
                "bi-list-check",
                _("The reasons sales chooses from when it rejects or disqualifies a lead."),
                with_perm("leads.view_settings"),
            )
        )

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
