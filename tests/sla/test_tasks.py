"""The beat entry and the thin task around the sweep."""

from __future__ import annotations

import pytest
from django.conf import settings

from sla.models import SlaEvent, SlaTimer
from sla.tasks import timers_sweep_task

pytestmark = pytest.mark.django_db


def test_beat_sweeps_every_15_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["sla-sweep"]
    assert entry["task"] == timers_sweep_task.name == "sla.tasks.timers_sweep_task"
    assert entry["schedule"] == 15.0


def test_delivery_is_at_least_once():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


def test_the_task_sweeps_at_the_current_time(make_lead):
    from django.utils import timezone

    lead = make_lead()
    SlaTimer.objects.filter(lead=lead, policy__key="first-contact").update(
        warn_at=timezone.now(), due_at=timezone.now(), next_check_at=timezone.now()
    )

    first = timers_sweep_task.delay().get()
    again = timers_sweep_task.delay().get()

    assert first["breaches"] == 1 and again["breaches"] == 0
    assert SlaEvent.objects.filter(kind="breach").count() == 1
