"""Rate limits for the public form endpoint and the webhook, kept in the cache.

Fixed windows: one counter per (scope, who, window) that the first request of the window
adds and each request increments. Cheaper than DRF's sliding history (one round trip, one
integer), and the only thing a burst can do is get two windows' worth across a boundary.

The cache is Redis behind `crm.cache_guard.FailOpenRedisCache`: while Redis is down every
counter is absent, `incr` raises `ValueError`, and the request is let through. Losing lead
capture because the cache is down would cost more than an hour of unthrottled spam, and
the honeypot and size limits still hold.

Rates are settings, `"<count>/<period>"` where the period is `s`, `min`, `h` or `d`, with
an optional multiplier (`"20/10min"`); the defaults are below.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

DEFAULT_RATES = {
    # Posts from one client address to any form. An office behind one NAT address can
    # sign up for a webinar together; a bot cannot post at will.
    "CAPTURE_RATE_FORM_PER_IP": "20/10min",
    # Posts to one form from everyone: caps what a distributed flood can insert.
    "CAPTURE_RATE_FORM": "300/min",
    # Requests with one intake key (each up to 500 leads).
    "CAPTURE_RATE_INTAKE_KEY": "120/min",
}
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text.lower())
        if match is None or match.group(3) not in _UNITS:
            raise ValueError(f"Not a rate: {text!r} (write e.g. '20/10min' or '300/h').")
        multiplier = int(match.group(2) or 1)
        return cls(int(match.group(1)), max(1, multiplier) * _UNITS[match.group(3)])


def rate(setting: str) -> Rate:
    return Rate.parse(str(getattr(settings, setting, DEFAULT_RATES[setting])))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends (when refused)
    # The request that crossed the limit: the one refusal of the window worth recording.
    first_refusal: bool = False


def take(scope: str, ident: str, limit: Rate, *, now: float | None = None) -> Verdict:
    """Count one request of `ident` in `scope`; refuse it when the window is full."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    key = f"capture:rate:{scope}:{ident}:{window}"
    try:
        cache.add(key, 0, timeout=limit.seconds + 1)
        count = cache.incr(key)
    except ValueError:  # absent after `add`: evicted, or the cache is down (fail open)
        return Verdict(allowed=True)
    if count <= limit.count:
        return Verdict(allowed=True)
    retry_after = max(1, math.ceil((window + 1) * limit.seconds - now))
    return Verdict(allowed=False, retry_after=retry_after, first_refusal=count == limit.count + 1)
