"""Seeded SLA clocks: a year of timers the lifecycle started and stopped, with the
warnings, breaches and escalations the sweep would have recorded, consistent with them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db.models import Count, F, Q

from crm.models import Notification, User
from demo.clock_story import NOTIFIED_SINCE, SWEEP_EVERY
from leads.models import Lead, LeadStatus
from sla.models import SlaEvent, SlaPolicy, SlaTimer, SlaTimerQuerySet
from sla.selectors import compliance_by
from sla.sweep import timers_sweep
from tests.demo.seeding import NOW, merged_leads, seed

Kind = SlaEvent.Kind
# Which milestone starts and stops each default policy's clock.
MILESTONES = {
    "route-mql": ("mql_at", "assigned_at"),
    "first-contact": ("assigned_at", "first_contacted_at"),
    "discovery-call": ("handed_off_at", None),
    "convert-after-discovery": (None, "converted_at"),
}


def timers() -> SlaTimerQuerySet:
    return SlaTimer.objects.filter(lead__is_demo=True)


def test_clocks_exist_in_every_state(db: None) -> None:
    seed(leads=1500)
    states = Counter(timer.state(NOW) for timer in timers())

    assert set(states) == set(SlaTimer.State.values), states
    assert states[SlaTimer.State.MET] > states[SlaTimer.State.MISSED] > 0


def test_every_policy_has_a_year_of_history(seeded: None) -> None:
    for policy in SlaPolicy.objects.filter(is_active=True):
        due = timers().filter(policy=policy).values_list("due_at", flat=True)
        months = {(moment.year, moment.month) for moment in due}
        assert len(months) >= 11, (policy.key, sorted(months))


def test_clocks_start_and_stop_with_the_lead_milestones(seeded: None) -> None:
    merged = merged_leads()  # the survivor holds the duplicate's clocks too
    for key, (start, stop) in MILESTONES.items():
        clocks = timers().filter(policy__key=key).exclude(lead__in=merged)
        if start:
            assert clocks.exclude(started_at=F(f"lead__{start}")).count() == 0, key
            started = Lead.objects.filter(is_demo=True, **{f"{start}__isnull": False})
            started = started.exclude(pk__in=merged)
            assert clocks.count() == started.count(), key
        if stop:
            stopped_by_it = clocks.filter(**{f"lead__{stop}__isnull": False})
            assert stopped_by_it.exclude(stopped_at=F(f"lead__{stop}")).count() == 0, key
    decided = timers().filter(policy__key="accept-reject").exclude(lead__in=merged)
    for milestone in ("accepted_at", "rejected_at"):
        by_it = decided.filter(**{f"lead__{milestone}__isnull": False})
        assert by_it.exclude(stopped_at=F(f"lead__{milestone}")).count() == 0
    assert timers().filter(stopped_at__gt=NOW).count() == 0
    assert (
        timers().filter(Q(warn_at__lte=F("started_at")) | Q(due_at__lte=F("warn_at"))).count() == 0
    )


def test_running_clocks_belong_to_open_leads_and_closed_leads_have_none(seeded: None) -> None:
    running = timers().running()

    assert running.exclude(lead__status__in=Lead.OPEN_STATUSES).count() == 0
    assert running.values("lead", "policy").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    assert running.filter(responsible__isnull=True).exclude(policy__key="route-mql").count() == 0
    closed = Lead.objects.filter(is_demo=True).exclude(status__in=Lead.OPEN_STATUSES)
    assert running.filter(lead__in=closed).count() == 0


def test_met_and_missed_follow_the_due_time(seeded: None) -> None:
    stopped = timers().filter(stopped_at__isnull=False)

    assert stopped.filter(met=True, stopped_at__gte=F("due_at")).count() == 0
    assert stopped.filter(met=False, stopped_at__lt=F("due_at")).count() == 0
    assert stopped.filter(met__isnull=True, stopped_at__gte=F("due_at")).count() == 0
    # Cancelled clocks are the ones a lead leaving the flow stopped in time (or a merge,
    # which moved the duplicate's cancelled clocks to the survivor).
    cancelled = stopped.filter(met__isnull=True).exclude(lead__in=merged_leads())
    assert cancelled.filter(
        lead__rejected_at=None, lead__nurtured_at=None, lead__disqualified_at=None
    ).exclude(lead__status=LeadStatus.CONVERTED).count() == 0  # fmt: skip


def test_events_agree_with_their_timers(seeded: None) -> None:
    events = SlaEvent.objects.filter(timer__lead__is_demo=True)
    kinds = Counter(events.values_list("kind", flat=True))

    assert kinds[Kind.WARNING] and kinds[Kind.BREACH] and kinds[Kind.ESCALATION]
    # warned_at / breached_at / escalation_level are what the events say
    assert timers().filter(warned_at__isnull=False).count() == kinds[Kind.WARNING]
    assert timers().filter(breached_at__isnull=False).count() == kinds[Kind.BREACH]
    assert sum(timers().values_list("escalation_level", flat=True)) == kinds[Kind.ESCALATION]
    assert events.filter(kind=Kind.WARNING).exclude(created_at=F("timer__warned_at")).count() == 0
    assert events.filter(kind=Kind.BREACH).exclude(created_at=F("timer__breached_at")).count() == 0
    # recorded while the clock ran (a late stop records its breach as it stops), never early
    assert events.filter(created_at__gt=F("timer__stopped_at")).count() == 0
    assert events.filter(created_at__gt=NOW).count() == 0
    assert events.filter(kind=Kind.WARNING, created_at__lt=F("timer__warn_at")).count() == 0
    assert events.exclude(kind=Kind.WARNING).filter(created_at__lt=F("timer__due_at")).count() == 0
    # a breach marks the clock missed once it stops
    assert timers().filter(breached_at__isnull=False, met=True).count() == 0
    assert (
        timers().filter(breached_at__isnull=True, stopped_at__isnull=False, met=False).count() == 0
    )


def test_escalations_reach_managers_and_revops(seeded: None) -> None:
    escalations = SlaEvent.objects.filter(timer__lead__is_demo=True, kind=Kind.ESCALATION)
    managers = escalations.filter(notified__role=User.Role.MANAGER)

    assert managers.exists()
    assert managers.exclude(notified=F("responsible__manager")).count() == 0
    assert escalations.filter(notified__isnull=True).exists()  # RevOps as a whole
    revops = User.objects.get(username="revops")
    assert Notification.objects.filter(recipient=revops, kind=Notification.Kind.ESCALATION).exists()


def test_recent_events_rang_the_bell(seeded: None) -> None:
    recent = SlaEvent.objects.filter(
        timer__lead__is_demo=True, created_at__gte=NOW - NOTIFIED_SINCE, notified__isnull=False
    ).exclude(timer__lead__in=merged_leads())  # moved by the merge: the bell names the other
    bell = Notification.objects.filter(recipient__is_demo=True)

    assert recent.exists()
    for event in recent.select_related("timer__lead")[:50]:
        assert bell.filter(
            recipient=event.notified,
            created_at=event.created_at,
            url__endswith=f"/{event.timer.lead_id}/",
        ).exists(), event
    assert bell.filter(read_at__isnull=True).exists()
    assert bell.filter(read_at__isnull=False).exists()
    assert bell.filter(read_at__gt=NOW).count() == 0
    assert bell.filter(created_at__lt=NOW - NOTIFIED_SINCE).count() == 0


def test_the_compliance_report_has_figures_for_every_policy(seeded: None) -> None:
    rows = compliance_by("policy", start=NOW - timedelta(days=365), end=NOW, now=NOW)

    assert {row.label for row in rows} == set(
        SlaPolicy.objects.filter(is_active=True).values_list("name", flat=True)
    )
    for row in rows:
        assert row.met > 0 and row.rate is not None and 0.6 < row.rate < 1, row


def test_the_seed_leaves_the_clocks_as_the_last_sweep_did(seeded: None) -> None:
    # The sweep runs every 15 seconds: up to then, everything due was recorded ...
    last_sweep = NOW - timedelta(seconds=SWEEP_EVERY)
    assert timers().sweep_due(last_sweep).count() == 0
    # ... and what is left for the next sweep is only what fell due since.
    pending = timers().sweep_due(NOW).count()

    result = timers_sweep(now=NOW)

    assert result.examined == pending


def test_the_sweep_takes_over_after_the_seed(seeded: None) -> None:
    later = NOW + timedelta(days=3)

    result = timers_sweep(now=later)

    assert result.breaches + result.warnings > 0
    assert SlaEvent.objects.filter(created_at=later).count() > 0
