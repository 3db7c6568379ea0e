"""The webhook's credential: an intake key in `X-Intake-Key`.

`IntakeKeyAuthentication` is named by the intake endpoint alone, so a key authenticates
nothing else: anywhere else it is just an unknown header. It signs in no user
(`request.user` stays anonymous); the key is `request.auth`. A missing key is a 401 from
`HasIntakeKey`, a wrong or revoked one a 401 from here, both in the API's error shape.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from capture import throttle
from capture.models import IntakeKey
from capture.services.keys import intake_key_check

HEADER = "X-Intake-Key"


class IntakeKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, IntakeKey] | None:
        secret = request.headers.get(HEADER, "").strip()
        if not secret:
            return None
        key = intake_key_check(secret)
        if key is None:
            raise exceptions.AuthenticationFailed(
                _("This intake key is not valid: unknown, mistyped or revoked."),
                code="invalid_intake_key",
            )
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return HEADER  # answers 401 (not 403) with WWW-Authenticate: X-Intake-Key


class HasIntakeKey(BasePermission):
    message = gettext_lazy("Send an intake key in the X-Intake-Key header.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, IntakeKey)


class IntakeKeyThrottle(BaseThrottle):
    """Requests per intake key (`CAPTURE_RATE_INTAKE_KEY`), in the cache: fails open."""

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, IntakeKey):
            return True
        self.verdict = throttle.take("key", str(key.pk), throttle.rate("CAPTURE_RATE_INTAKE_KEY"))
        return self.verdict.allowed

    def wait(self) -> float | None:
        return float(self.verdict.retry_after)


class IntakeKeyScheme(OpenApiAuthenticationExtension):
    target_class = "capture.api.auth.IntakeKeyAuthentication"
    name = "IntakeKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": "An intake key's secret (RevOps makes them: POST /api/v1/intake-keys/). "
            "It can only create leads.",
        }
