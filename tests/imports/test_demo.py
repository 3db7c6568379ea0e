"""The demo's import: a finished Salesforce import with a few rows in its error file."""

from __future__ import annotations

import pytest
from django.utils import timezone

from demo.imports import delete_demo_imports, seed_imports
from imports.models import ImportJob, ImportRowError
from leads.models import Lead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_imports_leaves_a_finished_import_with_failed_rows(sdrs):
    revops = UserFactory(revops=True, username="demo-revops", is_demo=True)
    job = seed_imports(now=timezone.now(), users={"revops": revops})
    assert (job.status, job.total, job.created, job.failed) == ("done", 12, 9, 3)
    codes = sorted(p["code"] for e in ImportRowError.objects.filter(job=job) for p in e.problems)
    assert codes == ["invalid", "required", "status_not_importable"]
    assert Lead.objects.filter(is_demo=True).count() == 9
    assert Lead.objects.filter(status="sal").count() == 2
    assert delete_demo_imports() > 0 and not ImportJob.objects.exists()
