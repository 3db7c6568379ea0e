"""Reports benchmark: every report page and fragment, and the conversion-by-source
endpoint, on `seed_demo --leads 1000000`.

    .venv/bin/python -m bench.reports          (BENCH_DATABASE_URL, see bench/__init__)
    BENCH_LEADS=100000 .venv/bin/python -m bench.reports

Targets (issue 6):

* GET /api/v1/reports/conversion-by-source/ takes at most 1.3x the raw SQL it stands on
  (the same statement run straight on a cursor), median of several runs after a warm-up;
* every page and fragment of reports/urls.py (`PAGES`) renders in at most 300 ms of
  server time (Django test Client in-process, DEBUG off, median of several runs after a
  warm-up), beside its floor: the SQL statements it ran, re-run straight on a cursor. The
  dashboard and the reports are opened as a manager in Asia/Jakarta (so the period's ends
  are not UTC midnights and the partial days are read from the source tables).

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
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import Row, alternating_medians, say, setup_django, timed

FULL_SIZE = 1_000_000
LEADS = int(os.environ.get("BENCH_LEADS", str(FULL_SIZE)))
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
WARMUP = 3
PAGE_BUDGET_MS = 300.0
ENDPOINT_RATIO = 1.3


# Every page and fragment of reports/urls.py: (figure, path, who opens it). The drill-down
# lists open from the dashboard's tiles; marketing and the settings pages are RevOps'.
PAGES = (
    ("dashboard", "/dashboard/", "manager"),
    ("dashboard medians fragment", "/dashboard/speed/", "manager"),
    ("conversion", "/reports/conversion/", "manager"),
    ("conversion by campaign", "/reports/conversion/?by=campaign", "manager"),
    ("funnel", "/reports/funnel/", "manager"),
    ("quality", "/reports/quality/", "manager"),
    ("pipeline", "/reports/pipeline/", "manager"),
    ("sla", "/reports/sla/", "manager"),
    ("feedback", "/reports/feedback/", "manager"),
    ("marketing", "/reports/marketing/", "revops"),
    ("benchmarks", "/reports/benchmarks/", "revops"),
    ("benchmarks history", "/reports/benchmarks/history/", "revops"),
    ("mql targets", "/reports/mql-targets/", "revops"),
    ("mql targets history", "/reports/mql-targets/history/", "revops"),
    ("drill leads", "/reports/drill/leads/?cohort=created&measure=leads", "manager"),
    ("drill opportunities", "/reports/drill/opportunities/?cohort=open&measure=open", "manager"),
    ("drill moves", "/reports/drill/moves/?g_from_stage={stage}", "manager"),
    ("drill timers", "/reports/drill/timers/?measure=met", "manager"),
    ("drill handoffs", "/reports/drill/handoffs/?measure=rated", "manager"),
    ("drill requests", "/reports/drill/requests/", "manager"),
)  # fmt: skip
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "5"))
# The throttle's counters live in Redis as in production (and as in bench.api_reads, same
# private database), unless REDIS_URL says: the file cache of a machine without Redis
# costs a file write and rename per API request, which no deployment pays.
REDIS_URL = "redis://127.0.0.1:6379/13"


def main(leads: int = LEADS) -> list[Row]:
    os.environ.setdefault("REDIS_URL", REDIS_URL)
    setup_django()
    _debug_off()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm.models import User
    from opportunities.models import Stage

    _ensure_demo(leads)
    _ensure_clocks()
    _ensure_rollups()

    rows: list[Row] = []

    # --- conversion by source: the endpoint against its own SQL ---------------------
    api = Client(HTTP_HOST="localhost")
    api.force_login(User.objects.get(username="revops"))
    url = "/api/v1/reports/conversion-by-source/"
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    statement = max(captured.captured_queries, key=lambda q: float(q["time"]))["sql"]
    # Alternate the two, so a change in the machine's load hits both alike.
    endpoint_ms, raw_ms = _medians(lambda: api.get(url), lambda: _run_sql([statement]))
    ratio = endpoint_ms / raw_ms
    rows.append(Row("conversion-by-source API", endpoint_ms, "ms", raw_ms, ratio,
                    f"<= {ENDPOINT_RATIO}x its SQL", ratio <= ENDPOINT_RATIO))  # fmt: skip
    say(f"conversion-by-source ({body['overall']['leads']:,} leads in the last 90 days)")
    say(f"  endpoint {endpoint_ms:8.1f} ms   raw SQL {raw_ms:8.1f} ms   ratio {ratio:.3f} "
        f"(target <= {ENDPOINT_RATIO})")  # fmt: skip

    # --- every report page and fragment (issue 14: each at most 300 ms at 1M leads) ----
    # The floor: the statements the page ran, re-run straight on a cursor (its SQL alone).
    browsers: dict[str, Any] = {}
    stage = Stage.objects.filter(is_won=False, is_lost=False).order_by("position").first()
    for figure, template, username in PAGES:
        path = template.format(stage=stage.pk if stage else 0)
        browser = browsers.get(username)
        if browser is None:
            browser = browsers[username] = Client(HTTP_HOST="localhost")
            browser.force_login(User.objects.get(username=username))
        page = browser.get(path)
        assert page.status_code == 200, (path, page.status_code)
        reset_queries()  # the query log is bounded: a full one would capture nothing
        with CaptureQueriesContext(connection) as captured:
            browser.get(path)
        statements = [q["sql"] for q in captured.captured_queries]
        ms, floor = alternating_medians(
            partial(browser.get, path),
            partial(_run_sql, statements),
            runs=PAGE_RUNS,
            warmup=1,
        )
        ok = ms <= PAGE_BUDGET_MS
        rows.append(Row(f"page {figure}", ms, "ms", floor, ms / floor if floor else None,
                        f"<= {PAGE_BUDGET_MS:.0f} ms", ok))  # fmt: skip
        say(f"  {path:<56} {ms:8.1f} ms  SQL {floor:7.1f} ms  {len(statements):3} queries"
            f"{'' if ok else '  OVER'}")  # fmt: skip

    if leads < FULL_SIZE:
        say(f"(targets hold at {FULL_SIZE:,} leads; informational below)")
    return rows


def _debug_off() -> None:
    """Measure as production serves: no query log, no template debug information."""
    from django.conf import settings
    from django.template import engines

    settings.DEBUG = False
    for engine in engines.all():
        inner = getattr(engine, "engine", None)
        if inner is not None:
            inner.debug = False


def _median(call: Callable[[], Any], *, runs: int = RUNS, warmup: int = WARMUP) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _medians(*calls: Callable[[], Any]) -> list[float]:
    return alternating_medians(*calls, runs=RUNS, warmup=WARMUP)


def _run_sql(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
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
