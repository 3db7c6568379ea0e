"""A dry run counts a file as the real run would, also when a person comes back in a later
batch (the real run finds the lead an earlier batch committed; the dry run remembers it)."""

from __future__ import annotations

import pytest
from django.db import connection

from imports import run as run_module
from leads.models import Lead
from tests.imports.conftest import csv_bytes, sf_row

pytestmark = pytest.mark.django_db

# Batches of two. Ana2, new in the first batch, comes back in the second with a phone
# (and her address in capitals) and in the third with another phone; Ana3, new in the
# second batch, comes back unchanged in the third.
FILE = csv_bytes(
    [
        sf_row(1),
        sf_row(2),
        sf_row(3),
        sf_row(2, Email="ANA2@nusantara.example", Phone="+62 811 2"),
        sf_row(3),
        sf_row(2, Phone="+62 811 9"),
        sf_row(4),
    ]
)


def _counts(job) -> tuple[int, int, int, int]:
    return (job.created, job.updated, job.skipped, job.failed)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("skip", (4, 0, 3, 0)), ("fill", (4, 1, 2, 0)), ("overwrite", (4, 2, 1, 0))],
)
def test_a_dry_run_counts_returning_people_as_the_real_run(run_import, monkeypatch, mode, expected):
    # given batches of two rows
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    # when the file is rehearsed, then imported
    dry = run_import(FILE, dry_run=True, on_duplicate=mode)
    assert not Lead.objects.exists()
    real = run_import(FILE, on_duplicate=mode)
    # then both count the same: each person created once, the returns skipped or updated
    assert _counts(dry) == _counts(real) == expected
    assert Lead.objects.count() == 4


def test_a_dry_run_leaves_no_memory_behind(run_import, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    run_import(FILE, dry_run=True)
    again = run_import(FILE, dry_run=True)
    assert _counts(again) == (4, 0, 3, 0)
    tables = connection.introspection.table_names(include_views=False)
    assert "leads_bulk_rehearsal" not in tables
