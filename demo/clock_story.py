"""A lead's SLA clocks, as the app would have kept them over its story: the timers its
lifecycle started and stopped (`sla.timers`), what the sweep recorded while they ran
(warnings, breaches, escalations: `sla.sweep`) and the bell messages it sent.

The lifecycle is replayed step by step with the app's rules: an event stops the clocks
that end on it, then starts the policies that begin on it (if they apply to the lead's
source, segment and team); leaving the flow (reject, nurture, disqualify, convert) stops
every clock, a late one as missed, the others cancelled. The sweep runs every 15 seconds,
so a warning, breach or escalation is recorded at the first tick after it fell due, and
only while the clock was still running. Clocks still running at `now` are left as the
sweep leaves them (warned, breached, escalated so far; `next_check_at` for what comes
next), so the first real sweep after the seed takes over without repeating anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from crm.models import Notification
from demo.references import PolicyRef
from leads.clocks import ClockEvent
from sla.models import SlaEvent, SlaTimer
from sla.sweep_fanout import Wording
from sla.timers import AE_EVENTS

if TYPE_CHECKING:
    from demo.lead_story import LeadStory

Kind = SlaEvent.Kind

# The lifecycle event each milestone of a lead's story is.
EVENT_AT: dict[str, str] = {
    "mql_at": ClockEvent.MQL,
    "assigned_at": ClockEvent.ASSIGNED,
    "first_contacted_at": ClockEvent.FIRST_CONTACT,
    "accepted_at": ClockEvent.DECIDED,
    "rejected_at": ClockEvent.DECIDED,
    "handed_off_at": ClockEvent.HANDOFF,
    "discovery": ClockEvent.DISCOVERY,
    "converted_at": ClockEvent.CONVERTED,
}
# Milestones that take the lead out of the flow: every clock stops.
LEAVES_FLOW = frozenset({"rejected_at", "nurtured_at", "disqualified_at", "converted_at"})
SWEEP_EVERY = 15  # seconds, as the beat schedule runs the sweep
# Bell messages older than this were read, most of them within a day or two.
READ_AFTER = timedelta(days=3)
# The bell keeps this much history: enough to scroll through, for a fraction of the rows a
# whole year of messages would cost the seed (the events themselves go back the year).
NOTIFIED_SINCE = timedelta(days=30)


@dataclass(slots=True)
class Clock:
    policy: PolicyRef
    responsible: int | None
    started: datetime
    warn: datetime
    due: datetime
    stopped: datetime | None = None
    met: bool | None = None


@dataclass(slots=True)
class SweepRecord:
    """What the sweep (and a late stop) recorded on one clock."""

    warned: datetime | None = None
    breached: datetime | None = None
    level: int = 0
    next_check: datetime | None = None
    # kind, level, audience ("owner", "manager", "revops"; "" when nobody was told), when
    events: list[tuple[str, int, str, datetime]] = field(default_factory=list)


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_SWEEP_STEP = timedelta(seconds=SWEEP_EVERY)


def sweep_tick(moment: datetime) -> datetime:
    """The first sweep at or after `moment` (sweeps run on the quarter minute)."""
    late = (moment - _EPOCH) % _SWEEP_STEP
    return moment + (_SWEEP_STEP - late) if late else moment


class ClockStory:
    """The clocks of one lead (after `LeadStory.write`, which settles who and when)."""

    def __init__(self, lead: LeadStory) -> None:
        self.lead = lead
        self.world = lead.world
        self._notified_since = lead.world.now - NOTIFIED_SINCE
        self._read_before = lead.world.now - READ_AFTER

    def write(self) -> None:
        for clock in self.clocks():
            self._write(clock, self.sweep(clock))

    # The lifecycle, replayed ---------------------------------------------------------------

    def clocks(self) -> list[Clock]:
        lead = self.lead
        policies_by_start = self.world.policies_by_start
        source, segment = lead.source, lead.company.segment
        running: list[Clock] = []
        done: list[Clock] = []
        owner: int | None = None
        team: int | None = None
        for name, _status, when in lead.past_steps:
            if name == "assigned_at":
                owner, team = lead.sdr, lead.team_id
            event = EVENT_AT.get(name)
            if event is not None:
                if running:
                    still = []
                    for clock in running:
                        if clock.policy.stop_event == event:
                            # `sla.timers.timers_stop`: met unless it had fallen due.
                            clock.stopped, clock.met = when, when < clock.due
                            done.append(clock)
                        else:
                            still.append(clock)
                    running = still
                # (The app also skips a policy already running; a story never repeats an
                # event, so none is.)
                for policy, working_time in policies_by_start.get(event, ()):
                    if policy.limited and not policy.applies(
                        source=source, segment=segment, team_id=team
                    ):
                        continue
                    warn, due = working_time.due_times(
                        when, policy.target_value, policy.target_unit, policy.warn_percent
                    )
                    responsible = lead.ae if event in AE_EVENTS else owner
                    running.append(Clock(policy, responsible, when, warn, due))
            if running and name in LEAVES_FLOW:
                # `sla.timers.timers_cancel`: a late clock is missed, the others cancelled.
                for clock in running:
                    clock.stopped, clock.met = when, (False if clock.due <= when else None)
                done += running
                running = []
        return done + running

    def sweep(self, clock: Clock) -> SweepRecord:
        """The sweep's record of `clock` up to when it stopped (or `now`)."""
        end = clock.stopped or self.world.now
        record = SweepRecord()
        if clock.warn >= end:  # most clocks: stopped before the warning
            record.next_check = clock.warn
            return record
        chain = clock.policy.chain
        warning = sweep_tick(clock.warn)
        if warning < end and warning < clock.due:
            record.warned = warning
            record.events.append((Kind.WARNING, 0, "owner", warning))
        breach = sweep_tick(clock.due) if clock.due < end else end
        if breach < end:
            record.breached = breach
            record.events.append((Kind.BREACH, 0, "owner", breach))
            for audience, minutes in chain:
                escalation = sweep_tick(clock.due + timedelta(minutes=minutes))
                if escalation >= end:
                    break
                record.level += 1
                record.events.append((Kind.ESCALATION, record.level, audience, escalation))
        if record.breached is not None:
            record.next_check = (
                clock.due + timedelta(minutes=chain[record.level][1])
                if record.level < len(chain)
                else None
            )
        else:
            record.next_check = clock.due if record.warned else clock.warn
            if clock.stopped is not None and clock.due <= clock.stopped:
                # Stopped late between two sweeps: the stop records the breach, and tells
                # nobody (`sla.timers._stop`).
                record.breached = clock.stopped
                record.events.append((Kind.BREACH, 0, "", clock.stopped))
        return record

    # Rows ----------------------------------------------------------------------------------

    def _write(self, clock: Clock, record: SweepRecord) -> None:
        lead, world = self.lead, self.world
        policy = clock.policy
        timer_id = world.next_id(SlaTimer)
        lead.batch.add(
            SlaTimer,
            {
                "id": timer_id,
                "policy_id": policy.id,
                "lead_id": lead.lead_id,
                "responsible_id": clock.responsible,
                "started_at": clock.started,
                "warn_at": clock.warn,
                "due_at": clock.due,
                "target_value": policy.target_value,
                "target_unit": policy.target_unit,
                "calendar_id": policy.calendar_id,
                "stopped_at": clock.stopped,
                "met": clock.met,
                "warned_at": record.warned,
                "breached_at": record.breached,
                "escalation_level": record.level,
                "next_check_at": record.next_check,
            },
        )
        for kind, level, audience, when in record.events:
            recipients = self._recipients(clock, audience)
            lead.batch.add(
                SlaEvent,
                {
                    "id": world.next_id(SlaEvent),
                    "timer_id": timer_id,
                    "kind": kind,
                    "level": level,
                    "responsible_id": clock.responsible,
                    "notified_id": recipients[0] if recipients and audience != "revops" else None,
                    "created_at": when,
                },
            )
            if when >= self._notified_since:
                for recipient in recipients:
                    self._notify(recipient, kind, level, clock, when)

    def _recipients(self, clock: Clock, audience: str) -> list[int]:
        """Who the sweep told: `sla.sweep_portable._Recipients.for_audience`."""
        references = self.world.references
        if audience == "owner":
            return [clock.responsible] if clock.responsible else []
        if audience == "manager":
            staff = references.staff.get(clock.responsible or 0)
            candidates = (
                staff.manager_id if staff else None,
                staff.team_manager_id if staff else None,
                references.team_managers.get(self.lead.team_id or 0),
            )
            manager = next((c for c in candidates if c and c != clock.responsible), None)
            return [manager] if manager else []
        if audience == "revops":
            return list(references.revops)
        return []

    def _notify(self, recipient: int, kind: str, level: int, clock: Clock, when: datetime) -> None:
        world, rng = self.world, self.lead.rng
        read = None
        if when < self._read_before or rng.random() < 0.3:
            read = min(world.now, when + timedelta(hours=rng.expovariate(1 / 10)))
        staff = world.references.staff
        zone = staff[recipient].time_zone if recipient in staff else "UTC"
        owner = staff[clock.responsible].name if clock.responsible in staff else ""
        notification_kind, message = messages().text(
            kind,
            level=level,
            policy=clock.policy.name,
            company=self.lead.company_name,
            due=clock.due,
            zone=zone,
            owner=owner,
        )
        self.lead.batch.add(
            Notification,
            {
                "id": world.next_id(Notification),
                "recipient_id": recipient,
                "kind": notification_kind,
                "message": message[:300],
                "url": lead_url(self.lead.lead_id),
                "created_at": when,
                "read_at": read,
            },
        )


class SweepMessages:
    """The sweep's bell messages in the active language: the sweep's own wording
    (`sla.sweep_fanout.Wording`), so a seeded message reads like one the sweep wrote."""

    def __init__(self) -> None:
        self.wording = Wording.of(translation.get_language() or settings.LANGUAGE_CODE)

    def text(
        self,
        kind: str,
        *,
        level: int,
        policy: str,
        company: str,
        due: datetime,
        zone: str,
        owner: str,
    ) -> tuple[str, str]:
        notification_kind, template = self.wording.templates[kind]
        return notification_kind, template % {
            "policy": policy,
            "company": company,
            "due": self.wording.when(due.astimezone(ZoneInfo(zone))),
            "level": level,
            "owner": owner or self.wording.nobody,
        }


@cache
def messages() -> SweepMessages:
    return SweepMessages()


_PLACEHOLDER = 987_654_321


@cache
def _lead_url_pattern() -> str:
    try:
        return reverse("leads:detail", args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")
    except NoReverseMatch:
        return ""


def lead_url(lead_id: int) -> str:
    return _lead_url_pattern().format(lead_id)
