"""Two active intake keys may no longer share a name (case aside): they could not be told
apart when one is to be revoked. Keys that already share one are renamed first, the
oldest keeping the name and each later one getting " (2)", " (3)", ..., so the index can
be built; the secrets, prefixes and revoked keys are untouched."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

MAX_NAME = 100


def _rename_twins(apps, schema_editor):
    IntakeKey = apps.get_model("capture", "IntakeKey")
    active = IntakeKey.objects.filter(revoked_at__isnull=True).order_by("created_at", "id")
    taken = {name.lower() for name in active.values_list("name", flat=True)}
    seen: set[str] = set()
    for key in active:
        lower = key.name.lower()
        if lower not in seen:
            seen.add(lower)
            continue
        number = 2
        while True:
            suffix = f" ({number})"
            candidate = key.name[: MAX_NAME - len(suffix)] + suffix
            if candidate.lower() not in taken:
                break
            number += 1
        taken.add(candidate.lower())
        seen.add(candidate.lower())
        key.name = candidate
        key.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_rename_twins, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="intakekey",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                condition=models.Q(("revoked_at__isnull", True)),
                name="intakekey_active_name_unique",
            ),
        ),
    ]
