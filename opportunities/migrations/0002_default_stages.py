"""DOMAIN.md's default pipeline stages and conversion policy; RevOps edits them later."""

from django.db import migrations

STAGES = [
    # name, probability, entry, early, rot_days, won, lost, exit fields
    ("Discovery", 10, True, True, 21, False, False, ["next_step", "decision_criteria"]),
    ("Qualification", 20, True, True, 30, False, False, ["competitive_landscape"]),
    ("Present/Demo", 40, False, False, 30, False, False, []),
    ("Proposal", 60, False, False, 21, False, False, ["discount_notes"]),
    ("Negotiation", 80, False, False, 14, False, False, []),
    ("Closed Won", 100, False, False, None, True, False, []),
    ("Closed Lost", 0, False, False, None, False, True, []),
    ("Post-sale", 100, False, False, None, True, False, []),
]


def create(apps, schema_editor):
    # The database being migrated (tests call this with None to re-seed the defaults).
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    Stage = apps.get_model("opportunities", "Stage")
    for position, (name, prob, entry, early, rot, won, lost, exit_fields) in enumerate(STAGES):
        Stage.objects.using(db).get_or_create(
            name=name,
            defaults=dict(
                position=position,
                default_probability=prob,
                is_entry=entry,
                counts_as_early=early,
                rot_days=rot,
                is_won=won,
                is_lost=lost,
                exit_required_fields=exit_fields,
            ),
        )
    ConversionPolicy = apps.get_model("opportunities", "ConversionPolicy")
    ConversionPolicy.objects.using(db).get_or_create(
        pk=1,
        defaults=dict(
            required_fields=[
                "product_line",
                "use_case",
                "industry_vertical",
                "decision_criteria",
                "competitive_landscape",
                "risks",
            ]
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
