"""Trigram indexes for the global search (`workspace/search.py`), on other apps' tables.

Why here and not in each table's app: an index belongs with its table, but the search is
the only reader of these indexes and the leads, crm and opportunities migrations are not
the search's to write. `workspace` has no models, so this migration is plain SQL: it
creates the `pg_trgm` extension and one GIN trigram index per searched field, with
`IF NOT EXISTS` so a later move of an index into its table's app (same name, same
definition) finds it there, and drops them on the way back. `SEARCH_INDEXES` in
`workspace/search.py` lists the same definitions: the selector writes its expressions the
same way so PostgreSQL matches them to these indexes, and a test checks both agree
(`tests/workspace/test_search.py`). /work/notes/search_indexes.md has them for the
tables' owners.

One index per field (not one over all fields together): a query then reads only the
posting lists of the fields its shape can match (a phone number never reads the company
names), and short fields have short lists — at a million demo leads, one index over
name + company + e-mail + phone was four to six times slower to search.

SQLite (the embedded set-up) has no trigrams: the search falls back to `icontains` and
this migration does nothing there.

The indexes are built with a plain CREATE INDEX inside the migration's transaction: on a
million leads that holds writes to the lead table for about two minutes. A large
installation that cannot pause intake creates them beforehand with CREATE INDEX
CONCURRENTLY (the definitions below); this migration then finds them and skips them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# (name, table, expression): keep in step with workspace.search.SEARCH_INDEXES.
INDEXES = [
    ("search_lead_company_trgm", "leads_lead", "company_name"),
    ("search_lead_person_trgm", "leads_lead", "(first_name || ' ' || last_name)"),
    ("search_lead_email_trgm", "leads_lead", "email"),
    ("search_lead_domain_trgm", "leads_lead", "company_domain"),
    ("search_lead_phone_trgm", "leads_lead", r"regexp_replace(phone, '\D', '', 'g')"),
    ("search_contact_person_trgm", "crm_contact", "(first_name || ' ' || last_name)"),
    ("search_contact_email_trgm", "crm_contact", "email"),
    ("search_contact_phone_trgm", "crm_contact", r"regexp_replace(phone, '\D', '', 'g')"),
    ("search_account_name_trgm", "crm_account", "name"),
    ("search_account_domain_trgm", "crm_account", "domain"),
    ("search_opportunity_name_trgm", "opportunities_opportunity", "name"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_outbox"),
        ("leads", "0007_lead_disqualification_reason"),
        ("opportunities", "0005_opportunity_events_and_policy_changes"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
