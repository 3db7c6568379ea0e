"""CI runs the short fault suite: `python -m faults --short` (what `make faults` runs in
full), with its own PostgreSQL and Redis on spare ports — never the shared servers — so it
runs beside every other test under pytest-xdist. It fails when any fault lost, duplicated
or half wrote anything, or a server error came outside a fault's outage window; its output
(the table, each fault's notes, the last lines of every process's log) says which.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faults.stack import postgres_bin_dir, redis_server_bin

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    postgres_bin_dir() is None or redis_server_bin() is None,
    reason="needs PostgreSQL's initdb/postgres and redis-server binaries (CI has them)",
)


def test_the_short_fault_suite_loses_nothing_and_duplicates_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "faults", "--short", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = f"{done.stdout}\n{done.stderr[-8000:]}"
    assert done.returncode == 0, report
    assert "| FAIL" not in done.stdout, report
