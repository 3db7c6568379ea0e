"""A starting list of rejection reasons; RevOps edits it in the admin."""

from django.db import migrations

REASONS = [
    ("not-icp", "Not our ideal customer profile"),
    ("no-intent", "No buying intent"),
    ("wrong-contact", "Wrong contact / no authority"),
    ("duplicate", "Duplicate of an existing lead or customer"),
    ("bad-data", "Incomplete or invalid contact data"),
    ("existing-customer", "Already a customer"),
    ("competitor", "Competitor or partner, not a buyer"),
    ("other", "Other (explain in the rationale)"),
]


def create(apps, schema_editor):
    # The database being migrated (tests call this with None to re-seed the defaults).
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    RejectionReason = apps.get_model("leads", "RejectionReason")
    for position, (code, label) in enumerate(REASONS):
        RejectionReason.objects.using(db).get_or_create(
            code=code, defaults=dict(label=label, position=position)
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
