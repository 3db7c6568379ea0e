"""Disqualifying names a reason from RevOps' list, as rejecting does.

The free text a disqualification carried so far becomes its rationale
(`disqualification_note`, kept as written); `disqualification_reason` now points at a
`DisqualificationReason`. Leads disqualified before keep no reason (null): their text
says why, and no reason is guessed for them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_default_disqualification_reasons")]

    operations = [
        migrations.RenameField(
            model_name="lead",
            old_name="disqualification_reason",
            new_name="disqualification_note",
        ),
        migrations.AlterField(
            model_name="lead",
            name="disqualification_note",
            field=models.TextField(
                blank=True, editable=False, verbose_name="disqualification rationale"
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="disqualification_reason",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="leads.disqualificationreason",
                verbose_name="disqualification reason",
            ),
        ),
    ]
