"""The demo's imports (`demo.imports.seed_imports`) on a handful of demo leads: they add
no lead, and each reads as its story says."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from demo.imports import MIGRATION_SKIPPED, MIGRATION_UPDATED, delete_demo_imports, seed_imports
from imports.models import ImportJob, ImportRowError
from leads.models import Lead, LeadEvent
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_seed_imports_tells_three_stories_without_adding_a_lead(sdrs):
    now = timezone.now()
    users = {
        "revops": UserFactory(revops=True, username="demo-revops", is_demo=True),
        "manager": UserFactory(manager=True, username="demo-manager", is_demo=True),
        "manager2": UserFactory(manager=True, username="demo-manager2", is_demo=True),
    }
    long_ago = now - datetime.timedelta(days=200)
    LeadFactory.create_batch(12, is_demo=True, owner=sdrs[0])
    Lead.objects.update(created_at=long_ago)
    before = {lead.pk: lead.updated_at for lead in Lead.objects.all()}

    made = seed_imports(now=now, users=users)

    assert {lead.pk: lead.updated_at for lead in Lead.objects.all()} == before
    assert not LeadEvent.objects.exists()
    migration = made.migration
    assert (migration.status, migration.dry_run, migration.total) == ("done", False, 15)
    assert (migration.processed, migration.failed) == (15, 3)
    assert (migration.updated, migration.skipped) == (MIGRATION_UPDATED, MIGRATION_SKIPPED)
    assert migration.created == 12 - MIGRATION_UPDATED - MIGRATION_SKIPPED
    assert migration.created_at < migration.finished_at < now - datetime.timedelta(days=30)
    codes = sorted(
        p["code"] for e in ImportRowError.objects.filter(job=migration) for p in e.problems
    )
    assert codes == ["invalid", "required", "status_not_importable"]
    dry = made.dry_run
    assert (dry.status, dry.dry_run, dry.created_by.username) == ("done", True, "demo-manager")
    assert (dry.created, dry.skipped, dry.failed) == (11, 2, 1)  # 12 leads: every 7th returns
    cancelled = made.cancelled
    assert (cancelled.status, cancelled.processed, cancelled.cancelled_by) == (
        "cancelled",
        0,
        users["manager2"],
    )
    # files let go, but the dry run's: kept so a newcomer can try "Import it for real"
    assert list(ImportJob.objects.filter(chunks__isnull=False).distinct()) == [dry]
    assert now - datetime.timedelta(hours=6) < dry.finished_at < now
    assert delete_demo_imports() > 0 and not ImportJob.objects.exists()
