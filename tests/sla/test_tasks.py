"""The beat entry and the thin task around the sweep: what beat runs sweeps, and a sweep
delivered again (Celery is at-least-once here) records nothing twice."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from crm.celery import app
from crm.models import Notification
from sla import sweep
from sla.models import SlaEvent, SlaTimer
from sla.tasks import timers_sweep_task

pytestmark = pytest.mark.django_db


def _make_due(lead) -> SlaTimer:
    now = timezone.now()
    SlaTimer.objects.filter(lead=lead, policy__key="first-contact").update(
        warn_at=now, due_at=now, next_check_at=now
    )
    return SlaTimer.objects.get(lead=lead, policy__key="first-contact")


def test_what_beat_runs_is_the_sweep(make_lead, owner):
    entry = settings.CELERY_BEAT_SCHEDULE["sla-sweep"]
    timer = _make_due(make_lead())

    # Beat sends the name; the worker runs whatever is registered under it.
    result = app.tasks[entry["task"]].delay().get()

    assert result["breaches"] == 1
    timer.refresh_from_db()
    assert timer.breached_at is not None
    assert Notification.objects.filter(recipient=owner, kind="sla_breach").count() == 1
    # Beat's cadence bounds how late a breach is told: within a minute of the due time.
    assert entry["schedule"] <= 60


def test_the_task_sweeps_at_the_current_time(make_lead):
    _make_due(make_lead())

    first = timers_sweep_task.delay().get()
    again = timers_sweep_task.delay().get()

    assert first["breaches"] == 1 and again["breaches"] == 0
    assert SlaEvent.objects.filter(kind="breach").count() == 1


def test_a_sweep_that_dies_mid_batch_is_redone_whole_by_the_redelivery(
    make_lead, owner, monkeypatch
):
    """A worker lost after the events were inserted but before the batch committed: the
    batch rolls back, and the task delivered again records it, once."""
    timer = _make_due(make_lead())

    def worker_lost(notifications: list[Notification]) -> None:
        raise RuntimeError("worker lost")

    with monkeypatch.context() as patched:
        patched.setattr(sweep, "_write_notifications", worker_lost)
        with pytest.raises(RuntimeError):
            timers_sweep_task.delay().get()

    timer.refresh_from_db()
    assert timer.breached_at is None
    assert not SlaEvent.objects.exists()
    assert not Notification.objects.filter(kind="sla_breach").exists()

    redelivered = timers_sweep_task.delay().get()
    once_more = timers_sweep_task.delay().get()

    assert (redelivered["breaches"], once_more["breaches"]) == (1, 0)
    assert SlaEvent.objects.filter(timer=timer, kind="breach").count() == 1
    assert Notification.objects.filter(recipient=owner, kind="sla_breach").count() == 1
