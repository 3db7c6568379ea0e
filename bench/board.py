"""Pipeline board benchmark: the manager's board page and a column's "Load more" fragment on
`seed_demo --leads BENCH_LEADS`.

    .venv/bin/python -m bench board             (BENCH_DATABASE_URL, see bench/__init__)
    BENCH_LEADS=100000 .venv/bin/python -m bench.board

Target (issue 13): the manager's board in at most 150 ms of server time at 1,000,000
leads — `GET /pipeline/` and `GET /pipeline/stages/<id>/cards/?after=…` each, through the
Django test Client in this process with DEBUG off (no query logging, no template debug
information), the median of several runs after a warm-up. Below a million leads the
figures are informational.

The floor, measured in the same run and reported beside each figure: the statements the
request ran (captured once), run again straight on a cursor — what the database must do
for the page. The ratio says what Django adds: the request, the forms, building the cards
and the template.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import partial
from html import unescape
from typing import Any

from bench import Row, alternating_medians, say, setup_django

FULL_SIZE = 1_000_000
LEADS = int(os.environ.get("BENCH_LEADS", str(FULL_SIZE)))
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
WARMUP = 3
BUDGET_MS = 150.0


def _production_settings() -> None:
    """DEBUG off as in production, set before Django starts: the template engine's debug
    flag and query logging are fixed at start-up. The manifest of collected static files
    is not needed to time a page, so plain static storage stands in for it."""
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["SECURE_SSL_REDIRECT"] = "0"


def main(leads: int = LEADS) -> list[Row]:
    _production_settings()
    setup_django()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from bench.reports import _ensure_demo
    from crm.models import User

    if connection.vendor != "postgresql":
        raise SystemExit("the board benchmark needs PostgreSQL")
    _ensure_demo(leads)
    _ensure_vacuumed("opportunities_opportunity")
    _check_kept_totals()
    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    rows: list[Row] = []
    with override_settings(STORAGES=plain_static):
        manager = User.objects.get(username="manager")
        browser = Client(HTTP_HOST="localhost")
        browser.force_login(manager)
        board = browser.get("/pipeline/")
        assert board.status_code == 200, board.status_code
        html = board.content.decode()
        more_url = _fullest_more_url(html)
        cards = html.count('data-testid="deal-card"')
        say(f"board as {manager.username}: {len(board.content) / 1024:.0f} KB, "
            f"{cards} cards, target <= {BUDGET_MS:.0f} ms")  # fmt: skip
        for label, path in (("pipeline board (manager)", "/pipeline/"),
                            ("board load more (manager)", more_url)):  # fmt: skip
            with CaptureQueriesContext(connection) as captured:
                response = browser.get(path)
            assert response.status_code == 200, (path, response.status_code)
            statements = [query["sql"] for query in captured.captured_queries]
            page_ms, floor_ms = _medians(partial(browser.get, path), partial(_run_sql, statements))
            ratio = page_ms / floor_ms if floor_ms else None
            rows.append(Row(label, page_ms, "ms", floor_ms, ratio, f"<= {BUDGET_MS:.0f} ms",
                            page_ms <= BUDGET_MS))  # fmt: skip
            say(f"  {label:<28} {page_ms:8.1f} ms   its SQL {floor_ms:7.1f} ms "
                f"({len(statements)} statements)   ratio {ratio or 0:.2f}")  # fmt: skip
    if leads < FULL_SIZE:
        say(f"(informational below {FULL_SIZE:,} leads)")
    return rows


def _ensure_vacuumed(table: str) -> None:
    """VACUUM the table when most of its pages are not marked all-visible: the demo is
    bulk-loaded, and with autovacuum off (as on the bench machine) nothing marks them, so
    an index-only scan (the board's totals) would read every row anyway. In production
    autovacuum does this after any large load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [table]
        )
        pages, visible = cursor.fetchone() or (0, 0)
        if pages and visible < pages // 2:
            say(f"VACUUM (ANALYZE) {table}: {visible:,} of {pages:,} pages all-visible")
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def _check_kept_totals() -> None:
    """The board's totals come from sums the database keeps by trigger (migration 0009 of
    opportunities); a demo loaded with the triggers off would time a board showing wrong
    totals. So the manager's kept totals are checked against the sums of the deals first."""
    from crm.models import User
    from opportunities import board

    scope = board.board_for(User.objects.get(username="manager"))
    kept = sorted(tuple(row) for row in board._kept_totals(scope))
    summed = sorted(tuple(row) for row in board._summed_totals(scope.deals))
    if kept != summed:
        raise SystemExit("opportunities_board_total differs from the deals: rebuild it")
    say(f"kept board totals match the deals ({len(kept)} stage-currency rows)")


def _fullest_more_url(html: str) -> str:
    """The "Load more" link of the column with the most deals, read from the page (the test
    Client records no template context outside a test run)."""
    counts = {
        stage: int(count)
        for stage, count in re.findall(
            r'<section[^>]*data-stage="(\d+)".*?data-count[^>]*>(\d+)<', html, re.S
        )
    }
    links = {
        stage: unescape(url)
        for url, stage in re.findall(r'hx-get="([^"]+)" hx-target="[^"]*data-stage=.(\d+).', html)
    }
    if not links:
        raise RuntimeError("no board column has more cards than it shows: seed more leads")
    return links[max(links, key=lambda stage: counts.get(stage, 0))]


_SERVER_SIDE = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH(OUT)? HOLD FOR ')


def _run_sql(statements: list[str]) -> None:
    """The request's statements, straight on a cursor (as logged: parameters inlined; a
    server-side cursor's query read at once)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(_SERVER_SIDE.sub("", sql))
            if cursor.description:
                cursor.fetchall()


def _medians(*calls: Callable[[], Any]) -> list[float]:
    return alternating_medians(*calls, runs=RUNS, warmup=WARMUP)


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else LEADS):
        say(f"{row.figure}: {row.value:.1f} {row.unit} (floor {row.floor or 0:.1f})")
