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

from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from crm.api.prepared import Slotted
from crm.preferences import LANGUAGE_CODES

# A token no client holds, findable among the lookup's compiled parameters.
_KEY_SLOT = "\x00token-slot\x00"


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
    """DRF's token authentication that also switches to the token user's language.

    The token's user is read as DRF reads it (one statement, the same errors), but by SQL
    compiled once per database (`crm.api.prepared`) and without the password hash, which
    a token request never needs: on a detail, compiling DRF's `select_related` lookup
    cost more than running it."""

    model = Token
    _lookups: dict[str, tuple[Slotted, list[str]]] = {}

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            speak_the_users_language(request, result[0])
        return result

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user_model = get_user_model()
        # The relation's manager, as `select_related("user")` reads the user.
        users = user_model._base_manager
        lookup = self._lookups.get(users.db)
        if lookup is None:
            columns = [f.attname for f in user_model._meta.concrete_fields if f.name != "password"]
            queryset = users.filter(auth_token__key=_KEY_SLOT).values(
                *columns, token_created=F("auth_token__created")
            )
            slotted = Slotted.of(queryset, _KEY_SLOT)
            assert slotted is not None
            lookup = self._lookups[users.db] = (slotted, columns)
        slotted, columns = lookup
        found = slotted.dicts(key)
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        row = found[0]
        user = user_model.from_db(users.db, columns, [row[c] for c in columns])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token.from_db(users.db, ["key", "user_id", "created"],
                              [key, user.pk, row["token_created"]])  # fmt: skip
        token.user = user
        return user, token
