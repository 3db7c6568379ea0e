"""The words of the searched names (`workspace.models.SearchWord`), for the global search's
typo pass, and the triggers that keep them complete.

Why a table of words: a misspelt name used to be looked up by `word_similarity` in every
searched field's trigram index — the posting lists of every trigram of it in a million
names, about 150 ms at a million leads. Among the distinct words of those names (a few
thousand in the demo data, tens of thousands in a real CRM) the same lookup takes a
millisecond or two; the names holding the close matches are then found by containment
through the fields' own trigram indexes, as a correctly spelt name is.

Why triggers (PostgreSQL only, like the trigram indexes of 0001): the words must follow
every write of a name, whatever makes it — a form, the API, a merge, the CSV import's
bulk insert, a data migration — and no app's service should have to remember the
search. An insert is handled once per statement, from its transition table (a bulk
insert of thousands of rows tokenises them in one set-based statement); an update only
when a searched column changed (the row trigger's WHEN clause is checked without calling
the function, so status changes and other bulk updates cost nothing). Words are added
with NOT EXISTS and no unique constraint, so concurrent writers never wait on each other
(see the model). Deleted names leave their words behind until a refresh
(`workspace.search_words.refresh_search_words`): best-effort by design — the typo pass
suggests, the containing pass stays exact.

SQLite (the embedded set-up) gets the empty table only: its search has no typo pass.
"""

from django.db import migrations, models

# The searched names whose words are kept: table -> columns (keep in step with
# workspace.search_words.WORD_SOURCES).
WORD_SOURCES = {
    "leads_lead": ("company_name", "first_name", "last_name"),
    "crm_account": ("name",),
    "crm_contact": ("first_name", "last_name"),
    "opportunities_opportunity": ("name",),
}

# Each distinct word once, then only those not kept yet. JIT off: the splitting's row
# estimate would have every bulk insert compile the statement (tens of milliseconds).
ADD_WORDS = r"""
CREATE OR REPLACE FUNCTION workspace_search_words_add(texts text[]) RETURNS void
LANGUAGE sql SET jit = off AS $$
    INSERT INTO workspace_searchword (word)
    SELECT d.w FROM (
        SELECT DISTINCT w
        FROM unnest(texts) AS t(x), regexp_split_to_table(lower(x), '[^[:alnum:]]+') AS w
    ) AS d
    WHERE length(d.w) BETWEEN 3 AND 60
      AND NOT EXISTS (SELECT 1 FROM workspace_searchword s WHERE s.word = d.w)
$$
"""

TABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM workspace_search_words_add(ARRAY(SELECT {text} FROM new_rows));
    ELSE
        PERFORM workspace_search_words_add(ARRAY[{new_text}]);
    END IF;
    RETURN NULL;
END
$$
"""


def _names(table):
    return f"{table}_search_words", f"{table}_search_words_inserted", f"{table}_search_words_renamed"


def _text(columns, prefix=""):
    return "concat_ws(' ', " + ", ".join(f"{prefix}{column}" for column in columns) + ")"


def create_words_support(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute(ADD_WORDS)
    for table, columns in WORD_SOURCES.items():
        function, inserted, renamed = _names(table)
        execute(
            TABLE_FUNCTION.format(
                function=function, text=_text(columns), new_text=_text(columns, "NEW.")
            )
        )
        execute(f"DROP TRIGGER IF EXISTS {inserted} ON {table}")
        execute(
            f"CREATE TRIGGER {inserted} AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        execute(f"DROP TRIGGER IF EXISTS {renamed} ON {table}")
        execute(
            f"CREATE TRIGGER {renamed} AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION {function}()"
        )
    # The words of the names already there (about ten seconds at a million leads).
    sources = " UNION ALL ".join(
        f"SELECT {_text(columns)} AS x FROM {table}" for table, columns in WORD_SOURCES.items()
    )
    execute(
        "INSERT INTO workspace_searchword (word) "
        f"SELECT w FROM ({sources}) AS t, regexp_split_to_table(lower(x), '[^[:alnum:]]+') AS w "
        "WHERE length(w) BETWEEN 3 AND 60 GROUP BY w"
    )
    # Built after the words are in (in bulk, not through the pending list); fastupdate off:
    # a new word is rare, a lookup is every misspelt search, and a lookup would otherwise
    # also read the pending list of recent words in full.
    execute(
        "CREATE INDEX IF NOT EXISTS searchword_word_trgm "
        "ON workspace_searchword USING gin (word gin_trgm_ops) WITH (fastupdate = off)"
    )
    execute("ANALYZE workspace_searchword")


def drop_words_support(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WORD_SOURCES:
        function, inserted, renamed = _names(table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {inserted} ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {renamed} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")
    schema_editor.execute("DROP FUNCTION IF EXISTS workspace_search_words_add(text[])")


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0001_search_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("word", models.CharField(max_length=60)),
            ],
            options={
                "indexes": [models.Index(fields=["word"], name="search_word_word")],
            },
        ),
        migrations.RunPython(create_words_support, drop_words_support, elidable=False),
    ]
