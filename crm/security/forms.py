"""The sign-in policy form: it parses numbers; `services.policy_problems` decides what is
allowed and its problems come back on the fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.security.models import LoginPolicy


class LoginPolicyForm(forms.Form):
    failure_limit = forms.IntegerField(
        label=_("Failed sign-ins before lockout"),
        min_value=1,
        help_text=_("For one account from one address. OWASP recommends at most 100 an hour."),
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    window_minutes = forms.IntegerField(
        label=_("Window and lockout, in minutes"),
        min_value=1,
        help_text=_(
            "Failures older than this are forgotten; a lockout ends this long after the last "
            "failed attempt."
        ),
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )

    @classmethod
    def for_policy(cls, policy: LoginPolicy) -> LoginPolicyForm:
        return cls(
            initial={"failure_limit": policy.failure_limit, "window_minutes": policy.window_minutes}
        )


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=255, required=False)
    ip_address = forms.GenericIPAddressField(required=False)
