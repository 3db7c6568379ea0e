"""The pipeline board's column totals, kept up to date by the database (issue 13: the
manager's board in at most 150 ms at a million leads).

The totals count and sum every deal a manager sees: 107,000 of them at a million leads,
30 to 150 ms of the board's time even from the covering index `opp_board_totals_idx`,
and growing with the pipeline. `opportunities_board_total` holds the same sums per owner,
stage, currency, pending or not, and month of expected close (a few thousand rows), so
the board adds up a few hundred rows instead (`opportunities/board.py`).

Triggers keep it exact: every INSERT, UPDATE, DELETE and TRUNCATE of
`opportunities_opportunity`, whoever runs it (services, admin, bulk updates, imports,
raw SQL), adds its change to the sums in the same transaction, so a committed deal is in
the totals the moment it is visible, and a rolled-back one never is. The triggers fire
once per statement and read its rows from the transition tables, so a bulk load costs
one grouped upsert, not one per deal. The upsert takes the rows in key order, so two
transactions moving deals between the same stages lock them in the same order.

PostgreSQL only: elsewhere (SQLite, the embedded default) the board sums the deals
themselves, which is fast at the sizes SQLite serves. Plain SQL, not a model: nothing but
these triggers writes the table and nothing but the board reads it.
"""

from django.db import migrations

KEY = "owner_id, stage_id, currency, is_pending, close_month"

# One row per deal, as the totals key it: the table's columns, in order.
DEAL_ROWS = """
    SELECT owner_id, stage_id, currency, approval = 'pending' AS is_pending,
           date_trunc('month', expected_close_date::timestamp)::date AS close_month,
           {sign} AS deal_count, {sign} * amount AS amount_total
    FROM {source}
"""


def _apply(rows: str) -> str:
    """Add the deals in `rows` (signed) to their keys' sums, in key order."""
    return f"""
        INSERT INTO opportunities_board_total AS total ({KEY}, deal_count, amount_total)
        SELECT {KEY}, sum(deal_count), sum(amount_total) FROM ({rows}) AS changed
        GROUP BY {KEY}
        HAVING sum(deal_count) <> 0 OR sum(amount_total) <> 0
        ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE
        SET deal_count = total.deal_count + EXCLUDED.deal_count,
            amount_total = total.amount_total + EXCLUDED.amount_total;
    """


ADDED = DEAL_ROWS.format(sign=1, source="board_added")
REMOVED = DEAL_ROWS.format(sign=-1, source="board_removed")

CREATE = f"""
CREATE TABLE opportunities_board_total (
    owner_id bigint NOT NULL,
    stage_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    is_pending boolean NOT NULL,
    close_month date NOT NULL,
    deal_count bigint NOT NULL,
    amount_total numeric(24, 2) NOT NULL,
    PRIMARY KEY ({KEY})
);

LOCK TABLE opportunities_opportunity IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO opportunities_board_total ({KEY}, deal_count, amount_total)
SELECT {KEY}, sum(deal_count), sum(amount_total)
FROM ({DEAL_ROWS.format(sign=1, source="opportunities_opportunity")}) AS deal
GROUP BY {KEY};

CREATE FUNCTION opportunities_board_total_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(ADDED)}
    RETURN NULL;
END $$;

CREATE FUNCTION opportunities_board_total_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(REMOVED)}
    RETURN NULL;
END $$;

CREATE FUNCTION opportunities_board_total_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(ADDED + " UNION ALL " + REMOVED)}
    RETURN NULL;
END $$;

CREATE FUNCTION opportunities_board_total_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM opportunities_board_total;
    RETURN NULL;
END $$;

CREATE TRIGGER board_total_insert AFTER INSERT ON opportunities_opportunity
    REFERENCING NEW TABLE AS board_added
    FOR EACH STATEMENT EXECUTE FUNCTION opportunities_board_total_added();
CREATE TRIGGER board_total_delete AFTER DELETE ON opportunities_opportunity
    REFERENCING OLD TABLE AS board_removed
    FOR EACH STATEMENT EXECUTE FUNCTION opportunities_board_total_removed();
CREATE TRIGGER board_total_update AFTER UPDATE ON opportunities_opportunity
    REFERENCING OLD TABLE AS board_removed NEW TABLE AS board_added
    FOR EACH STATEMENT EXECUTE FUNCTION opportunities_board_total_changed();
CREATE TRIGGER board_total_truncate AFTER TRUNCATE ON opportunities_opportunity
    FOR EACH STATEMENT EXECUTE FUNCTION opportunities_board_total_emptied();
"""

DROP = """
DROP TRIGGER IF EXISTS board_total_insert ON opportunities_opportunity;
DROP TRIGGER IF EXISTS board_total_delete ON opportunities_opportunity;
DROP TRIGGER IF EXISTS board_total_update ON opportunities_opportunity;
DROP TRIGGER IF EXISTS board_total_truncate ON opportunities_opportunity;
DROP FUNCTION IF EXISTS opportunities_board_total_added();
DROP FUNCTION IF EXISTS opportunities_board_total_removed();
DROP FUNCTION IF EXISTS opportunities_board_total_changed();
DROP FUNCTION IF EXISTS opportunities_board_total_emptied();
DROP TABLE IF EXISTS opportunities_board_total;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0008_board_totals_and_pending_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
