"""Fixed-window rate limits kept in the cache: one integer counter per (scope, who, window).

Cheaper than DRF's sliding history, which reads and writes back a pickled list of every
request's time in the window (6,000 floats for a busy API user at the default rate):
here a request is one `incr` of a small integer. A burst can get two windows' worth
across a boundary, never more.

The cache is Redis behind `crm.cache_guard.FailOpenRedisCache`: while Redis is down every
counter is absent, `incr` raises `ValueError`, `add` answers True, and the request is let
through (the product keeps working without its cache; what must hold regardless — the
sign-in lockout — is kept in the database).

On Redis the count is one round trip, a tiny script that increments the counter and gives
a new one its expiry (Django's `incr` is two, an `EXISTS` then the `INCR`, on every
request).

Rates are written `"<count>/<period>"` where the period is `s`, `min`, `h` or `d`, with an
optional multiplier (`"20/10min"`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

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
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        count = _redis_count(backend, key, limit.seconds + 1)
        _seen_at(key, count)
        if count is None:  # Redis did not answer: fail open
            return Verdict(allowed=True)
    else:
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
    return _verdict(count, limit, window, now)


def take_later(
    scope: str, ident: str, limit: Rate, *, now: float | None = None
) -> Verdict | Callable[[], Verdict]:
    """`take`, with its round trip to Redis overlapping the caller's own work: the count is
    sent now, and the verdict read when the returned function is called, which the caller
    must do (the Redis connection is held until then). A verdict known at once is returned
    as it is.

    The caller's work is done before it knows the verdict, so a refused request costs that
    work too. That is why the overlap is only for callers this process last saw well under
    their limit (`OVERLAP_BELOW`); near it, and without Redis, this is `take`, at once: a
    client hammering past its limit costs no more than before."""
    now = time.time() if now is None else now
    backend = caches["default"]
    window = int(now // limit.seconds)
    key = f"rate:{scope}:{ident}:{window}"
    if not isinstance(backend, RedisCache) or _seen.get(key, 0) >= limit.count * OVERLAP_BELOW:
        return take(scope, ident, limit, now=now)
    full_key = backend.make_and_validate_key(key)
    pool = _client(backend).connection_pool
    guarded: Any = getattr(backend, "_guarded", lambda call, fallback: call())

    def send() -> Any:
        connection = pool.get_connection()
        try:
            connection.send_command("EVAL", _COUNT_SCRIPT, 1, full_key, limit.seconds + 1)
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        return connection

    connection = guarded(partial(send), None)

    def read_count() -> int:
        try:
            return int(connection.read_response())
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def finish() -> Verdict:
        if connection is None:  # Redis did not answer: fail open
            return Verdict(allowed=True)
        count = guarded(partial(read_count), None)
        if count is None:
            return Verdict(allowed=True)
        _seen_at(key, count)
        return _verdict(count, limit, window, now)

    return finish


# The share of its limit under which a caller's count may overlap the request's work.
OVERLAP_BELOW = 0.9
# The last count this process saw for each window's key (a lower bound of the true count:
# other processes count too). Dropped wholesale when it grows past SEEN_KEPT keys.
_seen: dict[str, int] = {}
SEEN_KEPT = 10_000


def _seen_at(key: str, count: int | None) -> None:
    if count is None:
        return
    if len(_seen) >= SEEN_KEPT and key not in _seen:
        _seen.clear()
    _seen[key] = count


def _verdict(count: int, limit: Rate, window: int, now: float) -> Verdict:
    if count <= limit.count:
        return Verdict(allowed=True)
    retry_after = max(1, math.ceil((window + 1) * limit.seconds - now))
    return Verdict(allowed=False, retry_after=retry_after, first_refusal=count == limit.count + 1)


# INCR, and a counter just made (1) expires with its window: atomic, one round trip.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _script_count(backend: RedisCache, key: str, timeout: int) -> int:
    """The window's counter after counting one more. Stored as Django's Redis cache stores
    an int, so `cache.get(key)` reads it."""
    full_key = backend.make_and_validate_key(key)
    return int(_client(backend).eval(_COUNT_SCRIPT, 1, full_key, timeout))


# A redis-py client per connection pool. Django's `get_client` makes a new one per call,
# and a new client builds its table of ~170 reply parsers: more than the round trip costs.
_clients: dict[Any, Any] = {}


def _client(backend: RedisCache) -> Any:
    caching: Any = getattr(backend, "_cache")  # noqa: B009  # Django's client, untyped
    pool = caching._get_connection_pool(caching._get_connection_pool_index(write=True))
    client = _clients.get(pool)
    if client is None:
        client = _clients[pool] = caching._client(connection_pool=pool)
    return client


def _redis_count(backend: RedisCache, key: str, timeout: int) -> int | None:
    """The count, or None when Redis does not answer. Through the fail-open backend's
    circuit (`crm.cache_guard`) when it has one, so an outage costs no timeout per request."""
    call = partial(_script_count, backend, key, timeout)
    guarded: Any = getattr(backend, "_guarded", None)
    if guarded is not None:
        result: int | None = guarded(call, None)
        return result
    return call()
