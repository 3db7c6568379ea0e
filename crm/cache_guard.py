"""A Redis cache that fails open: when Redis is unreachable the product keeps working.

Nothing in Threshold keeps data only in the cache. It holds throttle histories (DRF), the
worker's heartbeat (also written to a file, see `crm.health`) and the weekly-feedback
"sent" mark. So while Redis does not answer, `FailOpenRedisCache` behaves exactly like
Django's `DummyCache`: every key is absent, `add` succeeds, writes are forgotten.

- `get` / `get_many` / `has_key` miss, `set` / `set_many` / `delete` / `touch` do nothing:
  the DRF throttles (and any throttle built on them) see an empty history and allow the
  request — rate limiting is off for the outage, the API answers.
- `add` answers True, as it does for an absent key, so a once-only mark (the weekly
  feedback e-mail) sends rather than skips: at least once, never lost.
- `incr` raises `ValueError` (the key is absent), which counter code already handles by
  `add`-ing the first value.

Why a cache backend rather than throttle subclasses that catch errors: DRF's throttles,
any throttle another module defines on top of them and every other cache read share this
one code path, so one class covers them all and no caller needs a `try`. The socket
timeouts that keep a blackholed Redis from stalling requests live in the same place
(`CACHES["default"]["OPTIONS"]`).

A failure opens a circuit for `fail_open_retry_after` seconds (OPTIONS, default 5):
during it operations skip Redis entirely, so a blackholed server costs one connect
timeout per process per interval, not one per cache call. The first failure of a burst
logs one warning; the first success after it logs one line saying how many operations
went without the cache. `check()` (used by `/health/`) ignores the circuit and raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 5.0


def _errors() -> tuple[type[BaseException], ...]:
    """What "Redis did not answer" looks like: redis-py's errors and the socket's."""
    import redis

    return (redis.exceptions.RedisError, OSError)


class _Circuit:
    """Per-process state of one Redis location, shared by the backend of every thread."""

    def __init__(self, location: str, retry_after: float) -> None:
        self.location = location
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._skipped = 0

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def allows(self) -> bool:
        """False while the circuit is open: answer from nothing, do not wait on Redis."""
        if self._down_since is None or time.monotonic() >= self._retry_at:
            return True
        with self._lock:
            self._skipped += 1
        return False

    def failed(self, operation: str, error: BaseException) -> None:
        with self._lock:
            first = self._down_since is None
            now = time.monotonic()
            if first:
                self._down_since = now
                self._skipped = 0
            self._skipped += 1
            self._retry_at = now + self.retry_after
        if first:
            logger.warning(
                "Cache %s unreachable (%s on %s: %s); failing open - reads miss, writes are "
                "dropped, API throttling is off - until it answers again (retry every %.0f s)",
                self.location,
                type(error).__name__,
                operation,
                error,
                self.retry_after,
            )

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            skipped = self._skipped
            self._down_since = None
            self._skipped = 0
        logger.warning(
            "Cache %s answers again after %.1f s; %d operations went without it",
            self.location,
            outage,
            skipped,
        )


_circuits: dict[str, _Circuit] = {}
_circuits_lock = threading.Lock()


def _circuit_for(location: str, retry_after: float) -> _Circuit:
    with _circuits_lock:
        circuit = _circuits.get(location)
        if circuit is None or circuit.retry_after != retry_after:
            circuit = _circuits[location] = _Circuit(location, retry_after)
        return circuit


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, behaving as an empty cache while Redis does not answer."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        retry_after = float(options.pop("fail_open_retry_after", DEFAULT_RETRY_AFTER))
        super().__init__(server, {**params, "OPTIONS": options})
        location = server if isinstance(server, str) else ",".join(server)
        self._circuit = _circuit_for(location, retry_after)

    def _guarded(self, call: partial[Any], fallback: Any) -> Any:
        if not self._circuit.allows():
            return fallback
        try:
            result = call()
        except _errors() as error:
            self._circuit.failed(call.func.__name__, error)
            return fallback
        self._circuit.succeeded()
        return result

    @property
    def is_down(self) -> bool:
        """True from a failed operation until the next one that succeeds."""
        return self._circuit.is_down

    def check(self, key: str, value: str) -> None:
        """Round trip `value` through `key`, bypassing the circuit; raise when it fails."""
        try:
            super().set(key, value, timeout=30)
            got = super().get(key)
            super().delete(key)
        except _errors() as error:
            self._circuit.failed("check", error)
            raise
        self._circuit.succeeded()
        if got != value:
            raise LookupError("the value read back is not the value written")

    def add(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._guarded(partial(RedisCache.add, self, key, value, timeout, version), True)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded(partial(RedisCache.get, self, key, default, version), default)

    def set(
        self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._guarded(partial(RedisCache.set, self, key, value, timeout, version), None)

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guarded(partial(RedisCache.touch, self, key, timeout, version), False)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._guarded(partial(RedisCache.delete, self, key, version), False)

    def get_many(self, keys: Iterable[Any], version: Any = None) -> dict[Any, Any]:
        return self._guarded(partial(RedisCache.get_many, self, keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guarded(partial(RedisCache.has_key, self, key, version), False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        result = self._guarded(partial(RedisCache.incr, self, key, delta, version), None)
        if result is None:
            raise ValueError(f"Key '{key}' not found.")  # what an empty cache answers
        return result

    def set_many(
        self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        failed = list(data)  # BaseCache.set_many returns the keys it could not store
        return self._guarded(partial(RedisCache.set_many, self, data, timeout, version), failed)

    def delete_many(self, keys: Iterable[Any], version: Any = None) -> None:
        self._guarded(partial(RedisCache.delete_many, self, keys, version), None)

    def clear(self) -> None:
        self._guarded(partial(RedisCache.clear, self), None)
