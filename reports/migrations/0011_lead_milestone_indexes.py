"""Indexes on the lead milestones the weekly feedback counts by (reports.feedback): a week's
acceptances, rejections, recycles, disqualifications and conversions are then a few index
ranges (a BitmapOr) instead of a scan of every lead. Partial (the milestone is set), so a
lead adds an entry only once it reached the step. Named reports_* like those of 0005."""

from django.db import migrations

INDEXES = [
    ("reports_lead_accepted_idx", "accepted_at"),
    ("reports_lead_rejected_idx", "rejected_at"),
    ("reports_lead_nurtured_idx", "nurtured_at"),
    ("reports_lead_disqualified_idx", "disqualified_at"),
    ("reports_lead_converted_idx", "converted_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0010_drop_lead_updated_index"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON leads_lead ({column}) "
            f"WHERE {column} IS NOT NULL",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, column in INDEXES
    ]
