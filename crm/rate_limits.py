"""Fixed-window rate limits kept in the cache: one integer counter per (scope, who, window).

Cheaper than DRF's sliding history, which reads and writes back a pickled list of every
request's time in the window (6,000 floats for a busy API user at the default rate):
here a request is one `incr` of a small integer. A burst can get two windows' worth
across a boundary, never more.

The cache is Redis behind `crm.cache_guard.FailOpenRedisCache`: while Redis is down every
counter is absent, `incr` raises `ValueError`, `add` answers True, and the request is let
through (the product keeps working without its cache; what must hold regardless — the
sign-in lockout — is kept in the database).

Rates are written `"<count>/<period>"` where the period is `s`, `min`, `h` or `d`, with an
optional multiplier (`"20/10min"`).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.core.cache import cache

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
    key = f"rate:{scope}:{ident}:{window}"
    try:
        count = cache.incr(key)  # the usual case: the window's counter exists
    except ValueError:  # the window's first request (or the cache is down: fail open)
        if cache.add(key, 1, timeout=limit.seconds + 1):
            count = 1
        else:  # another request added it meanwhile
            try:
                count = cache.incr(key)
            except ValueError:
                return Verdict(allowed=True)
    if count <= limit.count:
        return Verdict(allowed=True)
    retry_after = max(1, math.ceil((window + 1) * limit.seconds - now))
    return Verdict(allowed=False, retry_after=retry_after, first_refusal=count == limit.count + 1)
