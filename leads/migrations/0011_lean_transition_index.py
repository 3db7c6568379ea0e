"""The transitions' own lead index goes: transition_lead_idx (lead_id, created_at) leads
with the same column and serves every probe by lead, and each imported lead writes one
or two transitions (issue 11). Dropped by name: AlterField would also drop and re-add
(and re-validate) the foreign key."""

import django.db.models.deletion
from django.db import migrations, models

OLD_INDEX = "leads_leadtransition_lead_id_6bc300c6"


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0010_lean_lead_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="leadtransition",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transitions",
                        to="leads.lead",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{OLD_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{OLD_INDEX}" ON "leads_leadtransition" ("lead_id")',
                ),
            ],
        ),
    ]
