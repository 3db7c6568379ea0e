"""Drop reports_lead_updated_idx (0005): lead_sort_updated_idx (updated_at, id), which the
lead list's sort added since, leads with the same column and serves the rollup refresh's
"changed since" probe. One index fewer to write per lead."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_duration_scopes"),
        ("leads", "0009_list_sort_and_board_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS reports_lead_updated_idx",
            "CREATE INDEX IF NOT EXISTS reports_lead_updated_idx ON leads_lead (updated_at)",
        ),
    ]
