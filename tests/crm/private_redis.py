"""A Redis server of a test's own, on a spare port, that the test may stop and start.

Never the shared Redis on 6379: a test that stops Redis must not stop anyone else's.
Tests using it are skipped where `redis-server` is not installed (CI has it).
"""

from __future__ import annotations

import runpy
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary (CI installs it)"
)
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "crm" / "settings.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class Blackhole:
    """A port that accepts connections and never answers: a Redis behind a dead NAT."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def production_settings(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> dict[str, Any]:
    """What `crm/settings.py` configures when REDIS_URL is `redis_url` (cache, broker and
    throttles as deployed, not as the test overlay trims them)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    return runpy.run_path(str(SETTINGS_FILE))


def use_production_redis(
    monkeypatch: pytest.MonkeyPatch, settings: Any, redis_url: str, heartbeat_file: Path
) -> dict[str, Any]:
    """Point this test's cache, broker and API throttles at `redis_url` exactly as
    production would, with the production throttle classes switched on."""
    from django.utils.module_loading import import_string
    from rest_framework.throttling import SimpleRateThrottle
    from rest_framework.views import APIView

    production = production_settings(monkeypatch, redis_url)
    settings.CACHES = production["CACHES"]
    settings.CELERY_BROKER_URL = production["CELERY_BROKER_URL"]
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = production["CELERY_BROKER_TRANSPORT_OPTIONS"]
    settings.THRESHOLD_HEARTBEAT_FILE = str(heartbeat_file)
    rest = production["REST_FRAMEWORK"]
    throttles = [import_string(path) for path in rest["DEFAULT_THROTTLE_CLASSES"]]
    assert throttles, "production settings switch API throttling on"
    # DRF binds these when it is imported, so overriding REST_FRAMEWORK would not reach them.
    monkeypatch.setattr(APIView, "throttle_classes", throttles)
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rest["DEFAULT_THROTTLE_RATES"])
    return production
