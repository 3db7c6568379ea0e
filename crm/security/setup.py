"""Start-up wiring, called from `CrmConfig.ready()`: the models (defined here, not in
`crm/models.py`), the permissions, and the page in the Settings hub."""

from __future__ import annotations


def ready() -> None:
    from django.utils.translation import gettext_lazy as _

    from crm.navigation import SettingsPage, register_settings_page, with_perm
    from crm.security import models, rules  # noqa: F401 - registers the models and permissions

    register_settings_page(
        SettingsPage(
            _("Sign-in protection"),
            "security:login_protection",
            "bi-shield-lock",
            _("How many failed sign-ins lock an account, for how long, and who is locked out now."),
            with_perm("crm.view_login_protection"),
        )
    )
