"""Benchmarks: speed figures on PostgreSQL, not timed tests.

Run them all with ``.venv/bin/python -m bench`` (or one: ``python -m bench.sla_sweep``).
Each module ``bench/<name>.py`` with a ``main()`` is one benchmark; ``main()`` returns its
figures as `Row`s, which ``python -m bench`` gathers into one table. They share a database
named by ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/threshold_bench``),
created and migrated on first use: never point it at a database holding real data.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/threshold_bench"


@dataclass(frozen=True)
class Row:
    """One figure of the bench table: its value beside its floor (the same work done the
    barest way, measured in the same run), their ratio, and the target it is held to.

    `target` is printed as given (e.g. "<= 1.3x"); `ok` is None for a figure without one."""

    figure: str
    value: float
    unit: str = ""
    floor: float | None = None
    ratio: float | None = None
    target: str | None = None
    ok: bool | None = None


def say(text: str) -> None:
    """Benchmarks report on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def ensure_database(url: str) -> None:
    """CREATE DATABASE when it does not exist yet (connecting to the server's `postgres`)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")


_ready = False


def setup_django(url: str | None = None) -> None:
    """Point Django at the bench database (or `url`), set it up and migrate it (once per
    process). A benchmark that truncates tables passes its own `url`."""
    global _ready
    if _ready:
        return
    url = url or database_url()
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    # Tasks queued after commit go to an in-process broker: measured like a real enqueue,
    # without leaving work for a development worker (or e-mail) behind.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://localhost/")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    _ready = True


def production_mode() -> None:
    """DEBUG off as production runs, set before Django starts (`setup_django`): with DEBUG
    on, every statement goes through Django's debug cursor (timed, formatted, logged),
    which is not what a worker or a web process pays. A value the caller set wins."""
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 48)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")


@contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    """``with timed("insert") as t: ...`` prints and records the wall time in seconds."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - start
    say(f"  {label:<44} {result['seconds']:8.3f} s")


def alternating_medians(*calls: Callable[[], Any], runs: int, warmup: int) -> list[float]:
    """Each call's median time in ms over `runs`, after `warmup` rounds. The calls
    alternate (a figure and its floor, say), so a change in the machine's load hits each
    alike and their ratio stays meaningful on a busy machine."""
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for index, call in enumerate(calls):
            started = time.perf_counter()
            call()
            times[index].append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times]
