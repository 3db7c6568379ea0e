"""The set-based sweep: the escalation chain's corner cases decided in SQL (PostgreSQL) as
they are row by row (SQLite) — the suite runs on both — a cost per tick that does not
grow with the due timers, and exactly-once when sweepers at different times race."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.db.models import Count

from crm.models import Notification
from leads import services as lead_services
from sla import sweep
from sla.models import SlaEvent, SlaTimer
from sla.sweep import timers_sweep
from sla.sweep_sql import chains_json
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import policy, reports_to, timer_of

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def _chain(*steps: object) -> None:
    first_contact = policy("first-contact")
    first_contact.escalation_chain = list(steps)
    first_contact.save(update_fields=["escalation_chain"])


def _levels(timer: SlaTimer) -> list[tuple[str, int, int | None]]:
    return list(
        SlaEvent.objects.filter(timer=timer)
        .order_by("level", "kind")
        .values_list("kind", "level", "notified_id")
    )


def test_a_level_waits_for_the_one_before_it_even_when_its_delay_is_shorter(
    make_lead, owner, boss, revops_team
):
    # given a chain whose second delay is shorter than its first
    _chain({"to": "manager", "after_minutes": 240}, {"to": "revops", "after_minutes": 60})
    timer = timer_of(make_lead(), "first-contact")

    # when a sweep comes two hours after the due time
    timers_sweep(now=timer.due_at + datetime.timedelta(hours=2))

    # then only the breach: the chain is climbed in order
    assert _levels(timer) == [("breach", 0, owner.pk)]
    timer.refresh_from_db()
    assert timer.next_check_at == timer.due_at + datetime.timedelta(minutes=240)

    timers_sweep(now=timer.due_at + datetime.timedelta(hours=5))
    assert [(k, lvl) for k, lvl, _ in _levels(timer)] == [
        ("breach", 0),
        ("escalation", 1),
        ("escalation", 2),
    ]
    timer.refresh_from_db()
    assert (timer.escalation_level, timer.next_check_at) == (2, None)


def test_a_chain_shortened_below_a_timers_level_adds_nothing(make_lead):
    timer = timer_of(make_lead(), "first-contact")
    SlaTimer.objects.filter(pk=timer.pk).update(
        breached_at=timer.due_at, escalation_level=2, next_check_at=timer.due_at
    )
    _chain({"to": "manager", "after_minutes": 10})

    result = timers_sweep(now=timer.due_at + datetime.timedelta(days=1))

    assert (result.examined, result.escalations, result.notifications) == (1, 0, 0)
    timer.refresh_from_db()
    assert (timer.escalation_level, timer.next_check_at) == (2, None)


def test_steps_without_an_audience_are_skipped_and_unknown_ones_tell_nobody(make_lead, boss):
    # given a step with no "to" (ignored, as `escalation_delays` reads chains) and one
    # naming an audience the sweep does not know
    _chain(
        {"after_minutes": 5},
        "not a step",
        {"to": "director", "after_minutes": "30"},
        {"to": "manager", "after_minutes": 60},
    )
    timer = timer_of(make_lead(), "first-contact")

    result = timers_sweep(now=timer.due_at + datetime.timedelta(hours=2))

    # then level 1 is the director's (recorded, nobody told), level 2 the manager's
    assert (result.breaches, result.escalations) == (1, 2)
    assert _levels(timer)[1:] == [("escalation", 1, None), ("escalation", 2, boss.pk)]
    assert Notification.objects.filter(kind="escalation").count() == 1


def test_the_manager_is_never_the_owner_themselves(make_lead):
    # given an owner who manages their own team, in a lead team managed by someone else
    rep = UserFactory(sdr=True, username="self-managed")
    rep.team = TeamFactory(name="Own", manager=rep)
    rep.save(update_fields=["team"])
    reports_to(rep, rep)
    lead_boss = UserFactory(manager=True, username="lead-boss")
    lead = make_lead(owner_=rep)
    lead.team = TeamFactory(name="Lead's", manager=lead_boss)
    lead.save(update_fields=["team"])
    timer = timer_of(lead, "first-contact")

    timers_sweep(now=timer.due_at + datetime.timedelta(hours=5))

    assert SlaEvent.objects.get(timer=timer, kind="escalation", level=1).notified == lead_boss


def test_the_chains_travel_as_the_steps_escalation_delays_reads():
    rows = chains_json(
        [(7, [{"to": "manager", "after_minutes": "15"}, {"x": 1}, {"to": "revops"}])]
    )

    assert rows == (
        '[{"p": 7, "l": 1, "a": "manager", "m": 15}, {"p": 7, "l": 2, "a": "revops", "m": 0}]'
    )


def test_a_ticks_statements_do_not_grow_with_the_due_timers(make_lead, revops_team):
    """Set-based: one due timer or thirty, the same statements per batch."""
    from django.test.utils import CaptureQueriesContext

    def statements_for(count: int) -> int:
        leads = [make_lead() for _ in range(count)]
        now = max(timer_of(lead, "first-contact").due_at for lead in leads) + 2 * MINUTE
        with CaptureQueriesContext(connection) as captured:
            result = timers_sweep(now=now)
        assert result.breaches == count
        return len(captured.captured_queries)

    one = statements_for(1)
    thirty = statements_for(30)

    assert thirty == one
    if connection.vendor == "postgresql":
        # the probe and the chains; then the batch: BEGIN, SET jit, the statement, the
        # people (names, languages, zones and choices), the bell and outbox rows, COMMIT
        assert one == 8


def test_a_backlog_that_fills_its_last_batch_ends_without_an_empty_one(make_lead, monkeypatch):
    """After a full batch the index probe, not another batch statement, finds the end."""
    leads = [make_lead() for _ in range(4)]
    now = max(timer_of(lead, "first-contact").due_at for lead in leads) + 2 * MINUTE
    limits: list[int] = []
    for name in ("sweep_batch_sql", "sweep_batch_portable"):
        real = getattr(sweep, name)

        def counted(*, real=real, **kwargs):
            limits.append(kwargs["limit"])
            return real(**kwargs)

        monkeypatch.setattr(sweep, name, counted)

    result = timers_sweep(now=now, batch_size=2)

    assert (result.batches, result.examined, result.breaches) == (2, 4, 4)
    assert limits == [2, 2]
    assert not SlaTimer.objects.sweep_due(now).exists()


# --- races (PostgreSQL) ----------------------------------------------------------------------


def _backlog(count: int) -> tuple[list, object, object, object]:
    boss = UserFactory(manager=True, username="race-boss")
    team = TeamFactory(name="Race", manager=boss)
    owner = reports_to(UserFactory(sdr=True, username="race-rep", team=team), boss)
    revops = UserFactory(revops=True, username="race-ops")
    leads = [
        lead_services.lead_create(
            by=None,
            owner=owner,
            data={
                "company_name": f"Race {i}",
                "last_name": "X",
                "email": f"race{i}@x.example",
                "source": "inbound",
            },
        )
        for i in range(count)
    ]
    return leads, owner, boss, revops


def _run_together(*jobs) -> list[Exception]:
    barrier = threading.Barrier(len(jobs))
    errors: list[Exception] = []

    def run(job) -> None:
        try:
            barrier.wait()
            job()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweepers_at_different_times_record_and_tell_each_event_once(sla_defaults):
    """Four sweepers whose clocks disagree (a late beat, a redelivery) race on the same
    backlog in small batches: each (timer, kind, level) is recorded and told once."""
    leads, owner, boss, revops = _backlog(30)
    first_due = min(t.due_at for t in SlaTimer.objects.all())
    last_due = max(t.due_at for t in SlaTimer.objects.all())
    moments = [
        first_due - MINUTE,  # warnings only
        last_due + MINUTE,  # breaches
        last_due + datetime.timedelta(hours=5),  # the manager's level
        last_due + datetime.timedelta(days=3),  # every level
    ]
    results = []

    errors = _run_together(
        *[lambda now=now: results.append(timers_sweep(now=now, batch_size=9)) for now in moments]
    )
    for now in moments:  # whatever each left, a later tick finishes
        results.append(timers_sweep(now=now))

    assert errors == []
    duplicates = (
        SlaEvent.objects.values("timer", "kind", "level").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert sum(r.warnings + r.breaches + r.escalations for r in results) == SlaEvent.objects.count()
    # 30 first-contact and 30 accept-reject clocks, each breached and escalated twice
    assert SlaEvent.objects.filter(kind="breach").count() == 60
    assert SlaEvent.objects.filter(kind="escalation").count() == 120
    assert Notification.objects.filter(recipient=boss, kind="escalation").count() == 60
    assert Notification.objects.filter(recipient=revops, kind="escalation").count() == 60
    assert (
        sum(r.notifications for r in results)
        == Notification.objects.filter(kind__in=["sla_warning", "sla_breach", "escalation"]).count()
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_racing_the_clocks_stopping_records_each_breach_once(sla_defaults):
    """Leads leave the funnel (every clock stopped, a late one's breach recorded) while a
    sweep breaches the same clocks: the unique constraint decides, once."""
    from sla.timers import timers_close

    leads, owner, _boss, _revops = _backlog(20)
    now = max(t.due_at for t in SlaTimer.objects.all()) + MINUTE

    def close_all() -> None:
        from django.db import transaction

        for lead in leads:
            with transaction.atomic():
                timers_close(lead=lead, at=now)

    results = []
    errors = _run_together(close_all, lambda: results.append(timers_sweep(now=now, batch_size=5)))

    assert errors == []
    breaches = SlaEvent.objects.filter(kind="breach")
    assert breaches.count() == 40  # two clocks per lead, each breached once
    assert not breaches.values("timer").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not SlaTimer.objects.running().filter(lead__in=leads).exists()
    # whoever recorded a breach, only the sweep's are told, each once
    told = Notification.objects.filter(recipient=owner, kind="sla_breach").count()
    assert told == sum(r.breaches for r in results)
