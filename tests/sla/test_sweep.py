"""The sweep: warnings, breaches and escalations, each recorded and notified exactly once,
whatever the redeliveries, concurrency or batch boundaries. `now` is a parameter."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from crm.models import Notification
from leads import services as lead_services
from sla.models import SlaEvent, SlaTimer
from sla.sweep import timers_sweep
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import reports_to, timer_of

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def _events(timer: SlaTimer) -> list[tuple[str, int, int | None]]:
    return list(
        SlaEvent.objects.filter(timer=timer)
        .order_by("created_at", "kind", "level")
        .values_list("kind", "level", "notified_id")
    )


def _sla_notifications(**filters) -> list[tuple[int, str]]:
    return list(
        Notification.objects.filter(kind__in=["sla_warning", "sla_breach", "escalation"], **filters)
        .order_by("pk")
        .values_list("recipient_id", "kind")
    )


# --- warnings and breaches --------------------------------------------------------------------


def test_nothing_happens_before_the_warning_point(make_lead):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    result = timers_sweep(now=timer.warn_at - MINUTE)

    assert (result.warnings, result.breaches) == (0, 0)
    assert not SlaEvent.objects.exists()


def test_the_owner_is_warned_at_the_warning_point_once(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    # 75 % of 24 hours
    assert timer.warn_at - timer.started_at == datetime.timedelta(hours=18)

    result = timers_sweep(now=timer.warn_at + MINUTE)

    assert result.warnings == 1 and result.breaches == 0
    timer.refresh_from_db()
    assert timer.warned_at == timer.warn_at + MINUTE
    assert timer.next_check_at == timer.due_at
    assert _events(timer) == [("warning", 0, owner.pk)]
    [message] = Notification.objects.filter(recipient=owner, kind="sla_warning")
    assert "First contact within 24 hours" in message.message
    assert lead.company_name in message.message
    assert message.url == f"/leads/{lead.pk}/"


def test_the_owner_is_told_at_the_breach_with_the_time_in_their_zone(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    timers_sweep(now=timer.warn_at + MINUTE)

    result = timers_sweep(now=timer.due_at + MINUTE)

    assert result.breaches == 1 and result.escalations == 0
    timer.refresh_from_db()
    assert timer.breached_at == timer.due_at + MINUTE
    assert timer.stopped_at is None  # still running: the rep can still make the call
    breach = SlaEvent.objects.get(timer=timer, kind="breach")
    assert (breach.level, breach.notified, breach.responsible) == (0, owner, owner)
    [message] = Notification.objects.filter(recipient=owner, kind="sla_breach")
    jakarta = timer.due_at.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
    assert f"{jakarta:%H:%M} WIB" in message.message


def test_a_first_sweep_after_the_due_time_skips_the_moot_warning(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    timers_sweep(now=timer.due_at + MINUTE)

    assert _events(timer) == [("breach", 0, owner.pk)]
    assert _sla_notifications() == [(owner.pk, "sla_breach")]


def test_a_breach_is_seen_within_one_sweep_interval_of_the_due_time(make_lead):
    """Beat sweeps every 15 s: whatever the phase, a breach is recorded < 30 s late."""
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    sweeps = [
        timer.due_at - datetime.timedelta(seconds=7) + i * datetime.timedelta(seconds=15)
        for i in range(3)
    ]

    for now in sweeps:
        timers_sweep(now=now)

    timer.refresh_from_db()
    assert timer.breached_at is not None
    assert timer.breached_at - timer.due_at < datetime.timedelta(seconds=30)


# --- escalation order -------------------------------------------------------------------------


def test_escalation_goes_owner_then_manager_then_revops_after_the_delays(
    make_lead, owner, boss, revops_team
):
    # given the default first-contact chain: manager after 4 h, RevOps after 24 h
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    due = timer.due_at

    # at the breach: only the owner
    timers_sweep(now=due + MINUTE)
    assert _sla_notifications() == [(owner.pk, "sla_breach")]
    # just before the manager's turn: nothing new
    timers_sweep(now=due + datetime.timedelta(minutes=239))
    assert len(_sla_notifications()) == 1
    # after 4 hours: the owner's manager
    timers_sweep(now=due + datetime.timedelta(minutes=241))
    assert _sla_notifications()[1:] == [(boss.pk, "escalation")]
    # after 24 hours: every RevOps user
    timers_sweep(now=due + datetime.timedelta(minutes=1441))
    assert sorted(_sla_notifications()[2:]) == sorted((u.pk, "escalation") for u in revops_team)

    # then the chain is done: the timer leaves the sweep's range
    timer.refresh_from_db()
    assert timer.escalation_level == 2
    assert timer.next_check_at is None
    assert [(k, lvl) for k, lvl, _who in _events(timer)] == [
        ("breach", 0),
        ("escalation", 1),
        ("escalation", 2),
    ]
    assert SlaEvent.objects.get(timer=timer, level=1).notified == boss
    assert SlaEvent.objects.get(timer=timer, level=2).notified is None  # a whole role


def test_a_late_first_sweep_catches_up_on_every_level_in_order(make_lead, owner, boss, revops_team):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    result = timers_sweep(now=timer.due_at + datetime.timedelta(days=2))

    assert (result.breaches, result.escalations) == (1, 2)
    assert [(k, lvl) for k, lvl, _ in _events(timer)] == [
        ("breach", 0),
        ("escalation", 1),
        ("escalation", 2),
    ]
    recipients = [r for r, _kind in _sla_notifications()]
    assert recipients[0] == owner.pk and recipients[1] == boss.pk
    assert sorted(recipients[2:]) == sorted(u.pk for u in revops_team)


@pytest.mark.parametrize("where", ["own_manager", "team_manager", "lead_team_manager"])
def test_manager_is_the_owners_manager_else_their_team_else_the_leads_team(where, make_lead):
    boss = UserFactory(manager=True, username="boss")
    if where == "own_manager":
        rep = reports_to(UserFactory(sdr=True, team=TeamFactory(name="Other")), boss)
    elif where == "team_manager":
        rep = UserFactory(sdr=True, team=TeamFactory(name="Bossed", manager=boss))
    else:
        rep = UserFactory(sdr=True)
    lead = make_lead(owner_=rep)
    if where == "lead_team_manager":
        lead.team = TeamFactory(name="Lead team", manager=boss)
        lead.save(update_fields=["team"])
    timer = timer_of(lead, "first-contact")

    timers_sweep(now=timer.due_at + datetime.timedelta(hours=5))

    assert SlaEvent.objects.get(timer=timer, kind="escalation", level=1).notified == boss
    assert (boss.pk, "escalation") in _sla_notifications()


def test_an_unrouted_lead_breaches_with_nobody_to_tell_then_goes_to_revops(revops_team):
    # given an MQL no routing rule matched: the routing clock has no owner
    lead = lead_services.lead_create(
        by=None,
        data={
            "company_name": "Unrouted",
            "last_name": "Doe",
            "email": "d@x.example",
            "source": "event",
        },
    )
    timer = timer_of(lead, "route-mql")
    assert timer.responsible is None

    timers_sweep(now=timer.due_at + MINUTE)
    assert _events(timer) == [("breach", 0, None)]
    assert _sla_notifications() == []

    timers_sweep(now=timer.due_at + datetime.timedelta(minutes=16))
    assert sorted(_sla_notifications()) == sorted((u.pk, "escalation") for u in revops_team)


def test_inactive_people_are_not_notified_but_the_event_is_recorded(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    result = timers_sweep(now=timer.due_at + MINUTE)

    assert result.breaches == 1 and result.notifications == 0
    assert SlaEvent.objects.filter(timer=timer, kind="breach", notified__isnull=True).exists()


# --- exactly once -------------------------------------------------------------------------------


def test_a_redelivered_sweep_for_the_same_now_records_nothing_twice(make_lead, boss, revops_team):
    leads = [make_lead() for _ in range(3)]
    now = timer_of(leads[-1], "first-contact").due_at + datetime.timedelta(days=1, minutes=1)

    first = timers_sweep(now=now)
    events, notifications = SlaEvent.objects.count(), Notification.objects.count()
    second = timers_sweep(now=now)

    assert first.breaches >= 3 and first.escalations >= 6
    assert (second.warnings, second.breaches, second.escalations, second.notifications) == (
        0,
        0,
        0,
        0,
    )
    assert SlaEvent.objects.count() == events
    assert Notification.objects.count() == notifications


def test_a_sweep_killed_after_recording_events_is_redone_without_duplicates(make_lead, owner):
    """Simulate a worker that recorded the events but whose timer updates were lost (or a
    sweeper acting on a stale read): the unique constraint is the arbiter, and nobody is
    notified twice."""
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    now = timer.due_at + MINUTE
    timers_sweep(now=now)
    SlaTimer.objects.filter(pk=timer.pk).update(
        breached_at=None, warned_at=None, escalation_level=0, next_check_at=timer.warn_at
    )

    again = timers_sweep(now=now)

    assert again.breaches == 0 and again.notifications == 0
    assert SlaEvent.objects.filter(timer=timer).count() == 1
    assert Notification.objects.filter(kind="sla_breach").count() == 1
    timer.refresh_from_db()
    assert timer.breached_at == now  # the timer still moves on


def test_a_big_backlog_is_swept_in_batches(make_lead):
    leads = [make_lead() for _ in range(5)]
    now = max(timer_of(lead, "first-contact").due_at for lead in leads) + MINUTE

    result = timers_sweep(now=now, batch_size=2)

    assert result.batches == 3 and result.examined == 5
    assert result.breaches == 5
    assert not SlaTimer.objects.sweep_due(now).exists()


def test_an_idle_tick_is_one_index_probe(make_lead, django_assert_num_queries):
    for _ in range(20):
        make_lead()
    now = timezone.now()

    with django_assert_num_queries(1) as captured:
        result = timers_sweep(now=now)

    assert result.examined == 0
    probe = captured.captured_queries[0]["sql"]
    assert "LIMIT 1" in probe and "FOR UPDATE" not in probe


# --- clocks that stop -----------------------------------------------------------------------------


def test_a_lead_contacted_between_two_sweeps_never_breaches(make_lead, owner):
    # given the owner was warned
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    timers_sweep(now=timer.warn_at + MINUTE)

    # when the first call is logged before the due time, then the next sweep runs late
    lead_services.activity_log(lead_id=lead.pk, by=owner, kind="call", subject="Intro call")
    timers_sweep(now=timer.due_at + datetime.timedelta(days=3))

    timer.refresh_from_db()
    assert timer.met is True and timer.breached_at is None
    assert not SlaEvent.objects.filter(timer=timer, kind__in=["breach", "escalation"]).exists()
    assert (
        not Notification.objects.filter(kind__in=["sla_breach", "escalation"])
        .filter(message__contains="First contact")
        .exists()
    )


def test_a_clock_stopped_late_before_any_sweep_is_recorded_as_missed_quietly(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    past = timezone.now() - datetime.timedelta(hours=1)
    SlaTimer.objects.filter(pk=timer.pk).update(due_at=past, warn_at=past - MINUTE)

    lead_services.activity_log(lead_id=lead.pk, by=owner, kind="call", subject="Late call")

    timer.refresh_from_db()
    assert timer.met is False and timer.stopped_at is not None
    assert timer.breached_at == timer.stopped_at
    assert _events(timer) == [("breach", 0, None)]
    assert not Notification.objects.filter(kind="sla_breach").exists()


def test_a_breached_clock_stopped_later_stays_missed(make_lead, owner):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    SlaTimer.objects.filter(pk=timer.pk).update(
        due_at=timezone.now() - MINUTE, warn_at=timezone.now() - 2 * MINUTE
    )
    timers_sweep(now=timezone.now())

    lead_services.activity_log(lead_id=lead.pk, by=owner, kind="call", subject="Finally")

    timer.refresh_from_db()
    assert timer.met is False
    assert SlaEvent.objects.filter(timer=timer, kind="breach").count() == 1


def test_breach_emails_go_to_the_owner_after_the_commit(
    make_lead, owner, mailoutbox, django_capture_on_commit_callbacks
):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        timers_sweep(now=timer.due_at + MINUTE)

    assert len(callbacks) == 1  # one e-mail task per batch, not one per message
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "SLA breached" in mailoutbox[0].subject
    assert f"/leads/{lead.pk}/" in mailoutbox[0].body


def test_each_bell_message_is_emailed_once_through_the_outbox(make_lead, owner):
    from crm.outbox.models import OutboxMessage

    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    timers_sweep(now=timer.due_at + MINUTE)
    timers_sweep(now=timer.due_at + MINUTE)  # redelivered: nothing new

    bell = Notification.objects.get(recipient=owner, kind="sla_breach")
    row = OutboxMessage.objects.get()
    assert row.kind == "crm.tasks.notification_email_task"
    assert row.delivery_key == f"notification-email:{bell.pk}"
    assert row.payload == {"notification_id": bell.pk}
    assert row.available_at is not None and row.attempts == 0


def test_the_recipients_choices_are_honoured(
    make_lead, owner, mailoutbox, django_capture_on_commit_callbacks
):
    from crm.outbox.models import OutboxMessage

    owner.notification_preferences = {"sla_breach": {"in_app": False, "email": True}}
    owner.save(update_fields=["notification_preferences"])
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    with django_capture_on_commit_callbacks(execute=True):
        timers_sweep(now=timer.due_at + MINUTE)

    assert _sla_notifications() == []  # no bell row: the owner turned it off in the app
    assert OutboxMessage.objects.get().kind == "crm.tasks.notification_message_email_task"
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "SLA breached" in mailoutbox[0].subject


def test_no_email_for_a_recipient_who_turned_it_off(make_lead, owner):
    from crm.outbox.models import OutboxMessage

    owner.notification_preferences = {"sla_breach": {"email": False}}
    owner.save(update_fields=["notification_preferences"])
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    timers_sweep(now=timer.due_at + MINUTE)

    assert _sla_notifications() == [(owner.pk, "sla_breach")]
    assert not OutboxMessage.objects.exists()


def test_nothing_is_emailed_when_the_sweep_rolls_back(make_lead, mailoutbox):
    from django.db import transaction

    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    def killed_mid_batch() -> None:
        with transaction.atomic():
            timers_sweep(now=timer.due_at + MINUTE)
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        killed_mid_batch()

    assert mailoutbox == []
    assert not SlaEvent.objects.exists()


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_record_each_event_once(sla_defaults):
    """Four sweepers, each on its own connection, start together on the same backlog:
    every (timer, kind, level) is recorded once and notified once."""
    # given 40 leads whose first-contact clocks are past every escalation level
    boss = UserFactory(manager=True, username="boss")
    team = TeamFactory(name="Concurrent", manager=boss)
    owner = reports_to(UserFactory(sdr=True, username="rep", team=team), boss)
    revops = UserFactory(revops=True, username="ops")
    leads = [
        lead_services.lead_create(
            by=None,
            owner=owner,
            data={
                "company_name": f"Co {i}",
                "last_name": "X",
                "email": f"c{i}@x.example",
                "source": "inbound",
            },
        )
        for i in range(40)
    ]
    now = max(t.due_at for t in SlaTimer.objects.all()) + datetime.timedelta(days=3)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(timers_sweep(now=now, batch_size=7))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    running = SlaTimer.objects.running().filter(lead__in=leads)
    # 40 first-contact and 40 accept-reject clocks, each: breach + 2 escalations
    assert running.count() == 80
    expected = 80 * 3
    assert SlaEvent.objects.count() == expected
    assert sum(r.breaches + r.escalations for r in results) == expected
    duplicates = (
        SlaEvent.objects.values("timer", "kind", "level").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert Notification.objects.filter(recipient=owner, kind="sla_breach").count() == 80
    assert Notification.objects.filter(recipient=boss, kind="escalation").count() == 80
    assert Notification.objects.filter(recipient=revops, kind="escalation").count() == 80
    assert (
        sum(r.notifications for r in results)
        == Notification.objects.filter(kind__in=["sla_breach", "escalation"]).count()
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_timers_another_transaction_holds(sla_defaults):
    """SKIP LOCKED: a sweeper does not wait for rows another holds, and leaves them to it."""
    owner = UserFactory(sdr=True, username="rep2")
    lead = lead_services.lead_create(
        by=None,
        owner=owner,
        data={
            "company_name": "Held",
            "last_name": "X",
            "email": "h@x.example",
            "source": "inbound",
        },
    )
    timer = timer_of(lead, "first-contact")
    now = timer.due_at + MINUTE
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                list(SlaTimer.objects.select_for_update().filter(pk=timer.pk))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        result = timers_sweep(now=now)
    finally:
        release.set()
        holder.join()

    assert result.examined == 0  # the held clock was skipped, not waited for
    assert not SlaEvent.objects.filter(timer=timer).exists()
    assert timers_sweep(now=now).breaches == 1  # and swept once free
