"""API clients signed in by token read answers (error messages, display labels) in the
language their user chose, unless the request names one.

`LocaleMiddleware` picks the language from `Accept-Language` before any view runs, and
`crm.middleware.UserTimezoneMiddleware` puts a signed-in user's own choice over it, but
only for a session: DRF reads the token later, inside the view, so to the middleware a
token client is anonymous. The token's authentication class is where DRF first knows the
user, and every API view authenticates before it parses or answers anything, so the
language is switched there. An explicit `Accept-Language` is the client asking for that
language for this request, and wins. The middleware restores the thread's language after
the response is rendered.

`REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]` names `TokenAuthentication` from here
in place of DRF's (same tokens, same header, same OpenAPI scheme: drf-spectacular matches
subclasses).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import translation
from rest_framework import authentication
from rest_framework.request import Request

from crm.preferences import LANGUAGE_CODES


def asks_for_a_language(request: HttpRequest) -> bool:
    """Whether the request names a language itself: an `Accept-Language` other than
    blank or `*` (which name none)."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "").strip()
    return header not in ("", "*")


def speak_the_users_language(request: Request | HttpRequest, user: Any) -> None:
    """Answer `request` in `user`'s chosen language unless it asked for one (or they
    chose none: then the site's default, which `LocaleMiddleware` already set)."""
    django_request = getattr(request, "_request", request)
    if asks_for_a_language(django_request):
        return
    language = getattr(user, "language", "")
    if language not in LANGUAGE_CODES:
        return
    translation.activate(language)
    django_request.LANGUAGE_CODE = translation.get_language()


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication that also switches to the token user's language."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            speak_the_users_language(request, result[0])
        return result
