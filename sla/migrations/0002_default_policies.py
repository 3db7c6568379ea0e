"""DOMAIN.md's SLA table as the default policies, on a Monday-Friday calendar."""

import datetime

from django.db import migrations

POLICIES = [
    # key, name, start, stop, value, unit, chain
    (
        "route-mql",
        "Route a lead within 5 minutes of MQL",
        "mql",
        "assigned",
        5,
        "minutes",
        [{"to": "revops", "after_minutes": 15}],
    ),
    (
        "first-contact",
        "First contact within 24 hours of assignment",
        "assigned",
        "first_contact",
        24,
        "hours",
        [{"to": "manager", "after_minutes": 240}, {"to": "revops", "after_minutes": 1440}],
    ),
    (
        "accept-reject",
        "Accept or reject within 5 business days",
        "assigned",
        "decided",
        5,
        "business_days",
        [{"to": "manager", "after_minutes": 480}, {"to": "revops", "after_minutes": 2880}],
    ),
    (
        "discovery-call",
        "Discovery call within 2 business days of hand-off",
        "handoff",
        "discovery",
        2,
        "business_days",
        [{"to": "manager", "after_minutes": 480}],
    ),
    (
        "convert-after-discovery",
        "Convert within 3 days of discovery",
        "discovery",
        "converted",
        3,
        "days",
        [{"to": "manager", "after_minutes": 1440}, {"to": "revops", "after_minutes": 4320}],
    ),
]


def create(apps, schema_editor):
    # The database being migrated (tests call this with None to re-seed the defaults).
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    Calendar = apps.get_model("sla", "BusinessCalendar")
    Policy = apps.get_model("sla", "SlaPolicy")
    calendar, _ = Calendar.objects.using(db).get_or_create(
        name="Standard week (Mon–Fri 09:00–17:00 UTC)",
        defaults=dict(
            time_zone="UTC",
            working_days=[0, 1, 2, 3, 4],
            work_starts=datetime.time(9),
            work_ends=datetime.time(17),
        ),
    )
    for key, name, start, stop, value, unit, chain in POLICIES:
        Policy.objects.using(db).get_or_create(
            key=key,
            defaults=dict(
                name=name,
                start_event=start,
                stop_event=stop,
                target_value=value,
                target_unit=unit,
                warn_at_percent=75,
                calendar=calendar,
                escalation_chain=chain,
            ),
        )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
