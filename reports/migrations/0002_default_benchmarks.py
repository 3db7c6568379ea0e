"""DOMAIN.md's lead -> opportunity benchmark ranges; RevOps edits or adds them."""

from decimal import Decimal

from django.db import migrations

RANGES = {
    "overall": ("5", "20"),
    "inbound": ("15", "25"),
    "outbound": ("3", "10"),
    "referral": ("25", "40"),
    "event": ("8", "15"),
}


def create(apps, schema_editor):
    # The database being migrated (tests call this with None to re-seed the defaults).
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    BenchmarkRange = apps.get_model("reports", "BenchmarkRange")
    for source, (low, high) in RANGES.items():
        BenchmarkRange.objects.using(db).get_or_create(
            source=source, defaults=dict(low_percent=Decimal(low), high_percent=Decimal(high))
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
