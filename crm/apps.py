from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"

    def ready(self) -> None:
        """Sign-in protection's models, permissions and Settings page (`crm.security`),
        and the personal settings' page in the Settings hub."""
        from crm.security.setup import ready as security_ready

        _register_personal_settings()  # first in the Settings hub
        security_ready()


def _register_personal_settings() -> None:
    """Personal settings (`crm.preference_views`) in the Settings hub, for those who see it."""
    from django.utils.translation import gettext_lazy as _

    from crm.navigation import SettingsPage, register_settings_page
    from crm.preference_views import PAGE, shown_in_hub

    register_settings_page(
        SettingsPage(
            _("Personal settings"),
            PAGE,
            "bi-person-gear",
            _("Your time zone, language and theme, and which notifications reach you how."),
            shown_in_hub,
        )
    )
