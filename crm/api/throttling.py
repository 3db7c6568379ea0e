"""Who is calling, and how often they may: the client address trusts `X-Forwarded-For`
only as far as `NUM_PROXIES` (env, default 0) says, for DRF's throttles and for django-axes
alike (`AXES_CLIENT_IP_CALLABLE` is `client_ip`), so a forged header neither dodges a
throttle nor a lockout.

With NUM_PROXIES=0 the address is REMOTE_ADDR. Behind n proxies of our own, each appending
to X-Forwarded-For, it is the n-th address from the right: the one our outermost proxy saw.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView


def client_ip(request: Any) -> str | None:
    """The caller's address by DRF's rule (`NUM_PROXIES`); any request with META works."""
    return BaseThrottle().get_ident(request)


class AuthTokenRateThrottle(SimpleRateThrottle):
    """Token requests per client address (scope `auth-token`, env `API_THROTTLE_AUTH_TOKEN`).
    Its history is in the cache, so it fails open with the cache (Redis down); the lockout,
    kept in the database, still holds then."""

    scope = "auth-token"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
