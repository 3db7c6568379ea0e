"""Indexes on other apps' tables that the reports need (named reports_*): the period
edges the daily rollups do not cover, and finding what changed since the last refresh.
They belong on the owning models; until they move there, `IF NOT EXISTS` keeps this
harmless. On a large production database create them CONCURRENTLY by hand first."""

from django.db import migrations

INDEXES = [
    ("reports_lead_assigned_idx", "leads_lead", "assigned_at"),
    ("reports_lead_updated_idx", "leads_lead", "updated_at"),
    ("reports_leadevent_created_idx", "leads_leadevent", "created_at"),
    ("reports_handoff_created_idx", "leads_handoff", "created_at"),
    ("reports_opp_closed_idx", "opportunities_opportunity", "closed_at"),
    ("reports_opp_entered_idx", "opportunities_opportunity", "stage_entered_at"),
    ("reports_opp_updated_idx", "opportunities_opportunity", "updated_at"),
    ("reports_stagechange_changed_idx", "opportunities_stagechange", "changed_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_rollups"),
        ("leads", "0004_lead_event"),
        ("opportunities", "0001_initial"),
    ]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, column in INDEXES
    ]
