"""Reports benchmark: the manager dashboard and the conversion-by-source endpoint on
`seed_demo --leads 1000000`.

    .venv/bin/python -m bench.reports          (BENCH_DATABASE_URL, see bench/__init__)
    BENCH_LEADS=100000 .venv/bin/python -m bench.reports

Targets (issue 6):

* GET /api/v1/reports/conversion-by-source/ takes at most 1.3x the raw SQL it stands on
  (the same statement run straight on a cursor), median of several runs after a warm-up;
* GET /dashboard/ renders in at most 300 ms of server time (Django test Client, median of
  several runs after a warm-up), as a manager in Asia/Jakarta (so the period's ends are
  not UTC midnights and the partial days are read from the source tables);
* each report page and the dashboard's medians fragment in at most 300 ms (issue 14).

`main()` returns the figures as `bench.Row`s; below a million leads they are informational.

Setup, each step only when needed: seed the demo (when the database has fewer leads than
asked for), derive SLA clocks from the lead milestones (the demo has none), rebuild the
rollups (when never built or the data changed under them).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench import Row, say, setup_django, timed

FULL_SIZE = 1_000_000
LEADS = int(os.environ.get("BENCH_LEADS", str(FULL_SIZE)))
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
WARMUP = 3
DASHBOARD_BUDGET_MS = 300.0
PAGE_BUDGET_MS = 300.0
ENDPOINT_RATIO = 1.3


def main(leads: int = LEADS) -> list[Row]:
    setup_django()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm.models import User

    _ensure_demo(leads)
    _ensure_clocks()
    _ensure_rollups()

    manager = User.objects.get(username="manager")
    revops = User.objects.get(username="revops")
    results: dict[str, Any] = {}
    rows: list[Row] = []

    # --- conversion by source: the endpoint against its own SQL ---------------------
    api = Client(HTTP_HOST="localhost")
    api.force_login(revops)
    url = "/api/v1/reports/conversion-by-source/"
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    statement = max(captured.captured_queries, key=lambda q: float(q["time"]))["sql"]
    # Alternate the two, so a change in the machine's load hits both alike.
    endpoint_ms, raw_ms = _medians(lambda: api.get(url), lambda: _run_sql(statement))
    ratio = endpoint_ms / raw_ms
    results["endpoint_ms"], results["raw_sql_ms"], results["ratio"] = endpoint_ms, raw_ms, ratio
    rows.append(Row("conversion-by-source API", endpoint_ms, "ms", raw_ms, ratio,
                    f"<= {ENDPOINT_RATIO}x its SQL", ratio <= ENDPOINT_RATIO))  # fmt: skip
    say(f"conversion-by-source ({body['overall']['leads']:,} leads in the last 90 days)")
    say(f"  endpoint {endpoint_ms:8.1f} ms   raw SQL {raw_ms:8.1f} ms   ratio {ratio:.3f} "
        f"(target <= {ENDPOINT_RATIO})")  # fmt: skip

    # --- the dashboard ------------------------------------------------------------------
    for user in (manager, revops):
        browser = Client(HTTP_HOST="localhost")
        browser.force_login(user)
        with _counting() as queries:
            page = browser.get("/dashboard/")
        assert page.status_code == 200
        ms = _median(lambda b=browser: b.get("/dashboard/"))
        speed_ms = _median(lambda b=browser: b.get("/dashboard/speed/"), runs=3, warmup=1)
        results[f"dashboard_{user.username}_ms"] = ms
        rows.append(Row(f"dashboard as {user.username}", ms, "ms", None, None,
                        f"<= {DASHBOARD_BUDGET_MS:.0f} ms", ms <= DASHBOARD_BUDGET_MS))  # fmt: skip
        rows.append(Row(f"dashboard medians ({user.username})", speed_ms, "ms", None, None,
                        f"<= {PAGE_BUDGET_MS:.0f} ms", speed_ms <= PAGE_BUDGET_MS))  # fmt: skip
        say(f"dashboard as {user.username} ({user.time_zone}): {ms:8.1f} ms median, "
            f"{queries[0]} queries (target <= {DASHBOARD_BUDGET_MS:.0f} ms); "
            f"its medians fragment {speed_ms:8.1f} ms")  # fmt: skip

    # --- the report pages (issue 14: each at most 300 ms at a million leads) ----------
    pages = Client(HTTP_HOST="localhost")
    pages.force_login(manager)
    for path in ("/reports/conversion/", "/reports/funnel/", "/reports/pipeline/",
                 "/reports/quality/", "/reports/sla/"):  # fmt: skip
        ms = _median(lambda p=path: pages.get(p), runs=3, warmup=1)
        say(f"  {path:<24} {ms:8.1f} ms")
        rows.append(Row(f"page {path}", ms, "ms", None, None, f"<= {PAGE_BUDGET_MS:.0f} ms",
                        ms <= PAGE_BUDGET_MS))  # fmt: skip

    passed = ratio <= ENDPOINT_RATIO and results["dashboard_manager_ms"] <= DASHBOARD_BUDGET_MS
    if leads < FULL_SIZE:
        # The ratio compares a fixed request overhead with a query that grows with the
        # data: it is a target at a million leads, not at a few thousand.
        say(f"{'PASS' if passed else 'over target'} (informational below {FULL_SIZE:,} leads)")
        return rows
    say("PASS" if passed else "FAIL")
    return rows


def _median(call: Callable[[], Any], *, runs: int = RUNS, warmup: int = WARMUP) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _medians(*calls: Callable[[], Any], runs: int = RUNS, warmup: int = WARMUP) -> list[float]:
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


@contextmanager
def _counting() -> Iterator[list[int]]:
    """Counts the SQL statements run inside (``with _counting() as n: ...; n[0]``)."""
    from django.db import connection

    count = [0]

    def wrapper(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def _run_sql(statement: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)
        cursor.fetchall()


def _ensure_demo(leads: int) -> None:
    from demo.seed import seed_demo
    from leads.models import Lead

    have = Lead.objects.filter(is_demo=True).count()
    if have >= leads:
        say(f"demo data: {have:,} leads")
        return
    with timed(f"seed_demo --leads {leads:,}"):
        seed_demo(leads=leads, force=True, reset=have > 0, progress=None)


def _ensure_clocks() -> None:
    """The demo writes no SLA clocks: derive first-contact and accept-or-reject clocks from
    the lead milestones (met = stopped by the due time), once."""
    from django.db import connection

    from sla.models import SlaPolicy, SlaTimer

    if SlaTimer.objects.filter(lead__is_demo=True).exists():
        return
    policies = dict(SlaPolicy.objects.values_list("key", "pk"))
    table = SlaTimer._meta.db_table
    clocks = [
        # policy, due after assignment, stopped by
        ("first-contact", "24 hours", "l.first_contacted_at"),
        ("accept-reject", "7 days", "COALESCE(l.accepted_at, l.rejected_at)"),
    ]
    with timed("derive SLA clocks from milestones"), connection.cursor() as cursor:
        for key, target, stop in clocks:
            cursor.execute(
                f"""
                INSERT INTO {table} (policy_id, lead_id, responsible_id, started_at, warn_at,
                    due_at, target_value, target_unit, stopped_at, met, escalation_level)
                SELECT %s, l.id, l.owner_id, l.assigned_at,
                    l.assigned_at + (interval '{target}') * 0.75,
                    l.assigned_at + interval '{target}', 1, 'days', s.stopped,
                    CASE WHEN s.stopped IS NULL THEN NULL
                         ELSE s.stopped <= l.assigned_at + interval '{target}' END, 0
                FROM leads_lead l, LATERAL (SELECT CASE
                    WHEN {stop} IS NOT NULL THEN {stop}
                    WHEN l.status IN ('new', 'mql', 'sal', 'sql') THEN NULL
                    ELSE COALESCE(l.nurtured_at, l.disqualified_at, l.converted_at)
                    END AS stopped) s
                WHERE l.is_demo AND l.assigned_at IS NOT NULL
                """,  # noqa: S608 - constants above, no user input
                [policies[key]],
            )
        cursor.execute(f"ANALYZE {table}")
    say(f"  {SlaTimer.objects.count():,} SLA clocks")


def _ensure_rollups() -> None:
    from leads.models import Lead
    from reports.rollups.reading import rollup_state
    from reports.rollups.refresh import refresh

    state = rollup_state()
    stale = state.refreshed_at is None or state.lead_count != Lead.objects.count()
    if stale:
        with timed("rollups: full rebuild"):
            report = refresh(full=True)
        say(f"    rows: {report.rows}")
    with timed("rollups: refresh (incremental unless the data changed)"):
        report = refresh()
    say(f"    {'full rebuild' if report.full else 'incremental'}: {report.days} days rebuilt")


if __name__ == "__main__":
    figures = main(int(sys.argv[1]) if len(sys.argv) > 1 else LEADS)
    sys.exit(1 if LEADS >= FULL_SIZE and any(row.ok is False for row in figures) else 0)
