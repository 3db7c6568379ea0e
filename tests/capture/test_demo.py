"""The demo's capture data: two forms with posts tied to demo leads of their campaigns, a
live and a revoked intake key, all of it removed again by the demo reset."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from capture.models import CaptureChange, FormSubmission, IntakeKey, WebForm
from capture.services.keys import intake_key_check
from demo.capture import delete_demo_capture, seed_capture
from leads.models import Lead
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_leads():
    now = timezone.now()
    leads = []
    for i in range(12):
        lead = LeadFactory(campaign="Website demo request", is_demo=True)
        leads.append(lead)
        Lead.objects.filter(pk=lead.pk).update(created_at=now - datetime.timedelta(days=i * 5))
    return leads


def test_the_demo_makes_two_forms_with_posts_and_two_keys(demo_leads):
    now = timezone.now()
    revops = UserFactory(revops=True, username="revops-demo", is_demo=True)

    made = seed_capture(now=now, users={"revops": revops})

    forms = WebForm.objects.order_by("name")
    assert [f.name for f in forms] == ["Demo request – website", "Webinar sign-up"]
    assert all(f.is_demo and f.created_at < now for f in forms)
    website = forms[0]
    created = FormSubmission.objects.filter(form=website, outcome="created")
    assert created.count() == len(demo_leads)
    assert set(created.values_list("lead_id", flat=True)) == {lead.pk for lead in demo_leads}
    assert FormSubmission.objects.filter(form=website, outcome="spam").exists()
    assert made.submissions == FormSubmission.objects.count()
    keys = IntakeKey.objects.order_by("created_at")
    assert [k.is_active for k in keys] == [False, True]
    assert intake_key_check(made.key_secret) == keys[1]  # the printed secret works
    ip_hashes = list(FormSubmission.objects.order_by("id").values_list("ip_hash", flat=True))
    delete_demo_capture()
    seed_capture(now=now, users={"revops": revops})
    again = list(FormSubmission.objects.order_by("id").values_list("ip_hash", flat=True))
    assert again == ip_hashes


def test_the_demo_reset_removes_capture_rows_that_hold_demo_users_and_leads(demo_leads):
    revops = UserFactory(revops=True, username="revops-demo", is_demo=True)
    seed_capture(now=timezone.now(), users={"revops": revops})

    deleted = delete_demo_capture()

    assert deleted["web forms"] == 2 and deleted["intake keys"] == 2
    assert not WebForm.objects.exists()
    assert not IntakeKey.objects.exists()
    assert not CaptureChange.objects.exists()
    assert not FormSubmission.objects.exists()
    revops.delete()  # nothing protects the demo user any more


def test_the_demo_keys_history_tells_the_dates_their_list_does(demo_leads):
    now = timezone.now()
    revops = UserFactory(revops=True, username="revops-demo", is_demo=True)

    seed_capture(now=now, users={"revops": revops})

    for key in IntakeKey.objects.all():
        changes = CaptureChange.objects.filter(kind="intake_key", object_id=key.pk)
        made = changes.get(old={})
        assert made.at == key.created_at
        if key.is_active:
            assert changes.count() == 1
            continue
        revoked = changes.exclude(old={}).get()
        assert revoked.at == key.revoked_at < now - datetime.timedelta(days=60)
        assert revoked.new == {"revoked_at": key.revoked_at.isoformat()}
