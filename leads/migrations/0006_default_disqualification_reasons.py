"""A starting list of disqualification reasons, and the fallback routing pointer's one
row. RevOps edits the list in the app (Settings → Reasons)."""

from django.db import migrations

REASONS = [
    ("not-a-company", "Not a real company, spam or test entry"),
    ("personal", "Student, job seeker or personal use"),
    ("out-of-business", "Company closed or acquired"),
    ("outside-market", "Outside the markets we serve (country or industry)"),
    ("too-small", "Below our minimum company size"),
    ("competitor", "Competitor or partner, not a buyer"),
    ("unreachable", "Contact data invalid and cannot be corrected"),
    ("other", "Other (explain in the reason)"),
]


def create(apps, schema_editor):
    # The database being migrated (tests call this with None to re-seed the defaults).
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    DisqualificationReason = apps.get_model("leads", "DisqualificationReason")
    for position, (code, label) in enumerate(REASONS):
        DisqualificationReason.objects.using(db).get_or_create(
            code=code, defaults={"label": label, "position": position}
        )
    apps.get_model("leads", "RoutingFallback").objects.using(db).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_routing_fallback_settings_audit")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
