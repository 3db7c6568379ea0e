"""Who is calling, and how often they may: the client address trusts `X-Forwarded-For`
only as far as `NUM_PROXIES` (env, default 0) says, for DRF's throttles and for django-axes
alike (`AXES_CLIENT_IP_CALLABLE` is `client_ip`), so a forged header neither dodges a
throttle nor a lockout.

With NUM_PROXIES=0 the address is REMOTE_ADDR. Behind n proxies of our own, each appending
to X-Forwarded-For, it is the n-th address from the right: the one our outermost proxy saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from crm.rate_limits import Rate, Verdict, take, take_later

if TYPE_CHECKING:  # DRF imports this module while it builds `APIView`: no cycle at run time
    from rest_framework.request import Request
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


class _WindowCounting(SimpleRateThrottle):
    """DRF's throttle with `crm.rate_limits`' fixed-window counter in place of its sliding
    history: one small integer per caller and window instead of a pickled list of every
    request's time (read and written back on every API request). Same scopes, same rates
    (`DEFAULT_THROTTLE_RATES`), same 429 with `Retry-After`; fails open with the cache."""

    _retry_after: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        count, seconds = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None or count is None or seconds is None:
            return True  # no rate for this scope, or a caller the scope does not count
        verdict = take("throttle", key, Rate(count, seconds))
        self._retry_after = None if verdict.allowed else verdict.retry_after
        return verdict.allowed

    def begin(self, request: Request, view: APIView) -> bool | Callable[[], bool]:
        """`allow_request`, its round trip overlapping the view's own read
        (`crm.rate_limits.take_later`): the answer, or when it is not known yet a function
        giving it, which must be called."""
        count, seconds = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None or count is None or seconds is None:
            return True
        later = take_later("throttle", key, Rate(count, seconds))
        if isinstance(later, Verdict):
            return self._answer(later)
        finish = later
        return lambda: self._answer(finish())

    def _answer(self, verdict: Verdict) -> bool:
        self._retry_after = None if verdict.allowed else verdict.retry_after
        return verdict.allowed

    def wait(self) -> float | None:
        return self._retry_after


class UserWindowThrottle(_WindowCounting, UserRateThrottle):
    """Requests per signed-in user (scope `user`, env `API_THROTTLE_USER`)."""


class AnonWindowThrottle(_WindowCounting, AnonRateThrottle):
    """Requests per client address without a user (scope `anon`, env `API_THROTTLE_ANON`)."""
