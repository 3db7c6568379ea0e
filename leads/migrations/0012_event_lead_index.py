"""Drop the lead's own index on lead events: leadevent_lead_idx (lead, created_at) leads
with the same column and serves every probe by lead (the timeline, cascades). One index
fewer per event row, which every intake writes. Dropped by name rather than by
AlterField(db_index=False), which would also drop and re-validate the foreign key."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("leads", "0011_lean_transition_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="leadevent",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="leads.lead",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS leads_leadevent_lead_id_426caf75",
                    "CREATE INDEX IF NOT EXISTS leads_leadevent_lead_id_426caf75 "
                    "ON leads_leadevent (lead_id)",
                ),
            ],
        ),
    ]
