"""Run every benchmark (each module ``bench/<name>.py`` that defines ``main()``) and print
their figures as one table, with the machine's load average and the data size.

    .venv/bin/python -m bench                       every benchmark, BENCH_LEADS=100000
    BENCH_LEADS=1000000 .venv/bin/python -m bench   the same at a million leads
    .venv/bin/python -m bench conversion sla_sweep  only these

Each benchmark runs in a process of its own: they use different databases (the CSV import
and the SLA sweep empty their own), and Django is set up once per process. The child
hands its rows back as JSON in a file; a benchmark that fails is a MISS row in the table.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import Row, say

DEFAULT_LEADS = "100000"


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules([str(here)])
        if not info.ispkg and not info.name.startswith("_")
    )


# --- adapters: benchmarks whose main() returns a dict of figures rather than rows ----------


def _imports_rows(result: dict[str, Any]) -> list[Row]:
    from bench.imports import TARGET_ROWS_PER_SECOND, TARGET_RSS_MB

    rate, ratio, rss = result["rows_per_second"], result["ratio"], result.get("rss_mb")
    limit_mb = TARGET_RSS_MB
    rows = [
        # The floor is a bare COPY of the same file: its rate is the import's times the ratio.
        Row("CSV import (rows/s)", rate, "/s", rate * ratio, ratio,
            f">= {TARGET_ROWS_PER_SECOND:,}/s", rate >= TARGET_ROWS_PER_SECOND),
    ]  # fmt: skip
    if rss is not None:
        limit = f"<= {TARGET_RSS_MB} MB"
        rows.append(
            Row("CSV import worker peak RSS", rss, "MB", None, None, limit, rss <= limit_mb)
        )
    return rows


def _search_rows(result: dict[str, Any]) -> list[Row]:
    """The slowest query beside its floor (the bare trigram lookups of the same text, for
    information); ok when every query is within the budget."""
    from bench.search import BUDGET_MS

    worst, floor = result["worst_ms"], result.get("worst_floor_ms") or None
    label = f"search, slowest query (median): {result.get('worst_query', '')}".rstrip(": ")
    return [Row(label, worst, "ms", floor, worst / floor if floor else None,
                f"<= {BUDGET_MS:.0f} ms",
                result.get("passed", worst <= BUDGET_MS))]  # fmt: skip


ADAPTERS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "bench.imports": _imports_rows,
    "bench.search": _search_rows,
}


def run_one(name: str, out: Path) -> int:
    """In the child: run one benchmark, write its rows to `out`."""
    module = importlib.import_module(name)
    result = module.main()
    if isinstance(result, dict):
        adapter = ADAPTERS.get(name)
        rows = adapter(result) if adapter else []
    else:
        rows = list(result or [])
    out.write_text(json.dumps([dataclasses.asdict(row) for row in rows]))
    return 0


# --- the table ---------------------------------------------------------------------------------


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "x":
        return f"{value:.2f}x"
    text = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.2f}"
    return f"{text} {unit}".strip() if unit not in ("", "/s") else f"{text}{unit}"


def table(rows: list[Row]) -> str:
    header = ("figure", "value", "floor", "ratio", "target", "ok")
    lines = [
        (
            row.figure,
            _number(row.value, row.unit),
            _number(row.floor, row.unit),
            _number(row.ratio, "x"),
            row.target or "—",
            "—" if row.ok is None else ("ok" if row.ok else "MISS"),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def render(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([render(header), rule, *(render(cells) for cells in lines)])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def run(selected: list[str]) -> int:
    os.environ.setdefault("BENCH_LEADS", DEFAULT_LEADS)
    names = discover()
    if selected:
        wanted = {n if n.startswith("bench.") else f"bench.{n}" for n in selected}
        names = [n for n in names if n in wanted]
    load_before = _load()
    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(name)
        if not callable(getattr(module, "main", None)):
            continue
        say(f"== {name}")
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            out = Path(handle.name)
        try:
            child = subprocess.run(
                [sys.executable, "-m", "bench", "--one", name, str(out)], check=False
            )
            text = out.read_text() if child.returncode == 0 else ""
        finally:
            out.unlink(missing_ok=True)
        if child.returncode != 0:
            say(f"!! {name} failed (exit {child.returncode})")
            failed.append(name)
            rows.append(Row(f"{name}: failed", float("nan"), ok=False))
            continue
        rows += [Row(**fields) for fields in json.loads(text or "[]")]
    minutes = (time.perf_counter() - started) / 60
    say("")
    say(f"BENCH_LEADS={int(os.environ['BENCH_LEADS']):,}; load average {load_before} before, "
        f"{_load()} after; {minutes:.1f} min")  # fmt: skip
    say(table(rows))
    missed = [row.figure for row in rows if row.ok is False]
    if missed:
        say(f"MISS: {', '.join(missed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        sys.exit(run_one(sys.argv[2], Path(sys.argv[3])))
    sys.exit(run(sys.argv[1:]))
