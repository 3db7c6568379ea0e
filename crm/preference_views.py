"""Personal settings (/settings/me/): time zone, language, theme and which notifications
reach the signed-in person how; and the top bar's theme switch. Every change goes through
`crm.preferences.user_update_preferences`, as /api/v1/me/ does.

Routed from `crm/urls.py` with ``path("settings/me/", include("crm.preference_views"))``;
registered in the Settings hub from `CrmConfig.ready()` (`register_settings_page`).
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.models import TIME_ZONE_CHOICES, Notification, User
from crm.notification_views import KIND_ICONS
from crm.preferences import EMAILED_KINDS, notification_settings, user_update_preferences
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest

PAGE = "preferences:page"


def _offset(name: str, now: datetime.datetime) -> str:
    """`UTC+07:00` for Asia/Jakarta now (daylight saving as it is today)."""
    delta = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or datetime.timedelta()
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def time_zone_choices() -> list[tuple[str, Any]]:
    """The zones grouped by region, each labelled with its city and offset today."""
    now = timezone.now()
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, _label in TIME_ZONE_CHOICES:
        region, _slash, place = name.partition("/")
        label = f"{place.replace('_', ' ').replace('/', ' / ') or name} ({_offset(name, now)})"
        groups[region if place else "UTC"].append((name, label))
    return sorted(groups.items())


def language_choices() -> list[tuple[str, str]]:
    """Each language in its own name ("Bahasa Indonesia"), so anyone can find theirs."""
    choices = [("", _("Same as my browser"))]
    for code, _label in settings.LANGUAGES:
        choices.append((code, translation.get_language_info(code)["name_local"]))
    return choices


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        help_text=gettext_lazy("Dates and times are shown in this zone; they are stored in UTC."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), required=False, widget=forms.RadioSelect
    )
    theme = forms.ChoiceField(
        label=gettext_lazy("Theme"), choices=User.Theme.choices, widget=forms.RadioSelect
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        channels = notification_settings(user)
        kwargs.setdefault(
            "initial",
            {
                "time_zone": user.time_zone,
                "language": user.language,
                "theme": user.theme,
                "version": user.preferences_version,
                **{
                    f"{kind}_{channel}": on
                    for kind, kind_channels in channels.items()
                    for channel, on in kind_channels.items()
                    if on is not None
                },
            },
        )
        super().__init__(*args, **kwargs)
        for name, choices in (
            ("time_zone", time_zone_choices()),
            ("language", language_choices()),
        ):
            cast(forms.ChoiceField, self.fields[name]).choices = choices
        for kind in Notification.Kind.values:
            self.fields[f"{kind}_in_app"] = forms.BooleanField(required=False)
            if kind in EMAILED_KINDS:
                self.fields[f"{kind}_email"] = forms.BooleanField(required=False)

    def notification_rows(self) -> list[dict[str, Any]]:
        """One row per kind for the template: its name, icon and the channel fields."""
        return [
            {
                "kind": kind,
                "label": label,
                "icon": KIND_ICONS.get(Notification.Kind(kind), "bi-bell"),
                "in_app": self[f"{kind}_in_app"],
                "email": self[f"{kind}_email"] if kind in EMAILED_KINDS else None,
            }
            for kind, label in Notification.Kind.choices
        ]

    def changes(self) -> dict[str, Any]:
        """The cleaned form as the service's `changes`."""
        data = self.cleaned_data
        notifications = {
            kind: {
                "in_app": data[f"{kind}_in_app"],
                **({"email": data[f"{kind}_email"]} if kind in EMAILED_KINDS else {}),
            }
            for kind in Notification.Kind.values
        }
        return {
            "time_zone": data["time_zone"],
            "language": data["language"],
            "theme": data["theme"],
            "notifications": notifications,
        }


def shown_in_hub(user: User) -> bool:
    """The Settings hub is for those who read the rules of the game (managers, RevOps);
    everyone reaches their own settings from the top bar."""
    return user.is_manager or user.is_revops


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences_page(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method != "POST":
        return _render(request, PreferencesForm(user=user))
    form = PreferencesForm(request.POST, user=user)
    if form.is_valid() and (
        edit := submit(
            form,
            lambda: user_update_preferences(
                user=user,
                by=user,
                changes=form.changes(),
                expected_version=form.cleaned_data["version"],
            ),
        )
    ):
        if edit.change is None:
            messages.info(request, _("Nothing changed."))
        else:
            # In the language just chosen: the page the user is sent to speaks it too.
            with translation.override(edit.user.language or translation.get_language()):
                messages.success(request, _("Your settings are saved."))
        return redirect(PAGE)
    return _render(request, form, status=400)


def _render(request: AuthedHttpRequest, form: PreferencesForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "crm/preferences.html",
        {
            "form": form,
            "notification_rows": form.notification_rows(),
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
@require_POST
def theme_switch(request: AuthedHttpRequest) -> HttpResponse:
    """The top bar's switch: set the theme, then go back (or answer JSON to a script)."""
    theme = request.POST.get("theme", "")
    user_update_preferences(user=request.user, by=request.user, changes={"theme": theme})
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"theme": theme})
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(PAGE)


app_name = "preferences"

urlpatterns = [
    path("", preferences_page, name="page"),
    path("theme/", theme_switch, name="theme"),
]
