"""Two indexes for the pipeline board (`opportunities/board.py`, issue 13: the manager's
board in at most 150 ms at a million leads).

- `opp_board_totals_idx` (owner, stage, currency, approval) INCLUDE (amount): the column
  totals count and sum every visible deal in the board's stages. With every column they
  read in one index, PostgreSQL answers them from the index alone (an index-only scan:
  about 8 MB at 143,000 deals) instead of reading each deal's whole row (137 MB), which
  took the aggregate from 370 ms to under 100 ms on a loaded two-core machine. Owner
  first: a manager's deals are a handful of owners, each a range of the index.
- `opp_pending_idx` (created_at DESC, id DESC) WHERE approval = 'pending': the deals
  waiting for approval are few, and found by scanning every deal without it (145 ms).

PostgreSQL only: SQLite has no INCLUDE, and at its sizes the existing indexes do. Plain
SQL, outside the model's `Meta.indexes`, with `IF NOT EXISTS` so an installation that
built them beforehand with CREATE INDEX CONCURRENTLY (the statements below) skips them.
"""

from django.db import migrations

INDEXES = {
    "opp_board_totals_idx": (
        "CREATE INDEX IF NOT EXISTS opp_board_totals_idx ON opportunities_opportunity "
        "(owner_id, stage_id, currency, approval) INCLUDE (amount)"
    ),
    "opp_pending_idx": (
        "CREATE INDEX IF NOT EXISTS opp_pending_idx ON opportunities_opportunity "
        "(created_at DESC, id DESC) WHERE approval = 'pending'"
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in INDEXES.values():
        schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0007_list_sort_and_board_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
