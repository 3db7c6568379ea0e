"""Drop the recipient's own index on notifications: notification_recipient_idx
(recipient, -created_at) leads with the same column and serves every probe by recipient
(the bell, a user's deletion). One index fewer to write per bell row, which the SLA sweep
inserts in thousands. Dropped by name rather than by AlterField(db_index=False), which
would also drop and re-validate the foreign key."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_saved_views")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="recipient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recipient",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS crm_notification_recipient_id_7f5249a5",
                    "CREATE INDEX IF NOT EXISTS crm_notification_recipient_id_7f5249a5 "
                    "ON crm_notification (recipient_id)",
                ),
            ],
        ),
    ]
