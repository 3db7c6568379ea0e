"""Fewer indexes on SLA timers, and the sweep's probe on due rows only.

Every index of `sla_slatimer` is written on each sweep UPDATE (next_check_at is indexed,
so none is HOT), and on each timer a bulk import or a lifecycle move inserts. Dropped:
the single-column foreign-key indexes on lead (the leading column of sla_timer_lead_idx),
policy (the running ones lead sla_timer_one_running_per_policy; policies are never
deleted) and calendar (no query filters by it), the (due_at, policy) index
(sla_timer_sort_due_idx leads with due_at too); on events, the timer index (the leading
column of sla_event_once) and the people's (nothing looks events up by person). The
sweep's partial index leaves out finished clocks (next_check_at empty) as well as stopped
ones. The new index is created before the old
one goes, so the sweep always has one.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The foreign keys' own indexes, as Django named them (0001), and how to put them back.
_FK_INDEXES = [
    (name, f"CREATE INDEX {name} ON {table} ({column})")
    for name, table, column in (
        ("sla_slaevent_timer_id_c17240eb", "sla_slaevent", "timer_id"),
        ("sla_slaevent_notified_id_01fa7420", "sla_slaevent", "notified_id"),
        ("sla_slaevent_responsible_id_5a856fa6", "sla_slaevent", "responsible_id"),
        ("sla_slatimer_calendar_id_b99156b6", "sla_slatimer", "calendar_id"),
        ("sla_slatimer_lead_id_67905fef", "sla_slatimer", "lead_id"),
        ("sla_slatimer_policy_id_3bdc2561", "sla_slatimer", "policy_id"),
    )
]


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0009_list_sort_and_board_indexes"),
        ("sla", "0005_timer_sort_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="slatimer",
            index=models.Index(
                condition=models.Q(("next_check_at__isnull", False), ("stopped_at__isnull", True)),
                fields=["next_check_at"],
                name="sla_timer_due_check_idx",
            ),
        ),
        migrations.RemoveIndex(model_name="slatimer", name="sla_timer_sweep_idx"),
        migrations.RemoveIndex(model_name="slatimer", name="sla_timer_due_idx"),
        # Only the indexes go: Django's AlterField would also drop and re-add each foreign
        # key, validating a million rows under lock for nothing.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f"DROP INDEX IF EXISTS {name}", reverse_sql=create)
                for name, create in _FK_INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="slaevent",
                    name="timer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="sla.slatimer",
                    ),
                ),
                migrations.AlterField(
                    model_name="slaevent",
                    name="notified",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="slaevent",
                    name="responsible",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="slatimer",
                    name="calendar",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sla.businesscalendar",
                    ),
                ),
                migrations.AlterField(
                    model_name="slatimer",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_timers",
                        to="leads.lead",
                    ),
                ),
                migrations.AlterField(
                    model_name="slatimer",
                    name="policy",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="timers",
                        to="sla.slapolicy",
                    ),
                ),
            ],
        ),
    ]
