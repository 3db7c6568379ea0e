"""The SLA clocks list (/sla/clocks/ and `GET /api/v1/sla/timers/`): every clock a user
may see (`SlaTimerQuerySet.visible_to`), narrowed by state and policy, in the order the
reader picks (`TIMER_SORTS`), a keyset page at a time.

States are the queryset's own predicates (`overdue(now)`, `at_risk(now)`, ...), so the
list never disagrees with the badges, the dashboard or the sweep about what is late.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.web.pagination import KeysetPage
from crm.web.sorting import Sort, SortKey, SortSpec, sorted_page
from sla.models import SlaTimer, SlaTimerQuerySet

# `state` filter values: a timer's state, or a group of them.
RUNNING, AT_RISK, OVERDUE, ON_TRACK = "running", "at_risk", "overdue", "on_track"
STOPPED, MET, MISSED, CANCELLED, ALL = "stopped", "met", "missed", "cancelled", "all"
STATE_CHOICES = [
    (RUNNING, _("Running")),
    (OVERDUE, _("Overdue")),
    (AT_RISK, _("At risk")),
    (ON_TRACK, _("On track")),
    (STOPPED, _("Stopped")),
    (MET, _("Met")),
    (MISSED, _("Missed")),
    (CANCELLED, _("Cancelled")),
    (ALL, _("All")),
]

_RESPONSIBLE = ("responsible__first_name", "responsible__last_name")

# The columns the list sorts by (`?ordering=`); soonest due first by default. The timer's
# own times have indexes (sla migration 0005); the lead's, policy's and person's names are
# read through their tables.
TIMER_SORTS = SortSpec(
    SortKey("due_at", ("due_at",)),
    SortKey("started_at", ("started_at",)),
    SortKey("stopped_at", ("stopped_at",), nullable=("stopped_at",)),
    SortKey("lead", ("lead__company_name",)),
    SortKey("policy", ("policy__name",)),
    SortKey("responsible", _RESPONSIBLE, nullable=_RESPONSIBLE),
    default="due_at",
)


@dataclass(frozen=True)
class TimerFilter:
    """What the list is narrowed to: a `state` (running by default) and a policy id."""

    state: str = RUNNING
    policy: int | None = None


def in_state(timers: SlaTimerQuerySet, state: str, *, now: datetime.datetime) -> SlaTimerQuerySet:
    """The clocks of `timers` in `state` (a `STATE_CHOICES` value; ALL or "" keeps all)."""
    if state == RUNNING:
        timers = timers.running()
    elif state == OVERDUE:
        timers = timers.overdue(now)
    elif state == AT_RISK:
        timers = timers.at_risk(now)
    elif state == ON_TRACK:
        timers = timers.on_track(now)
    elif state == STOPPED:
        timers = timers.filter(stopped_at__isnull=False)
    elif state == MET:
        timers = timers.met()
    elif state == MISSED:
        timers = timers.missed()
    elif state == CANCELLED:
        timers = timers.filter(stopped_at__isnull=False, met__isnull=True)
    return timers


def visible_timers(user: User) -> SlaTimerQuerySet:
    """The clocks `user` may see, with what a row of the list shows."""
    return SlaTimer.objects.visible_to(user).select_related(
        "policy", "lead", "lead__team", "responsible"
    )


def timer_list(user: User, filters: TimerFilter, *, now: datetime.datetime) -> QuerySet[SlaTimer]:
    """The clocks `user` may see, narrowed by `filters` (not yet ordered)."""
    timers = in_state(visible_timers(user), filters.state, now=now)
    if filters.policy is not None:
        timers = timers.filter(policy_id=filters.policy)
    return timers


def timer_page(
    user: User,
    filters: TimerFilter,
    *,
    now: datetime.datetime,
    sort: Sort,
    cursor: str | None,
    size: int,
) -> KeysetPage:
    """One page of the list after `cursor` in `sort`'s order: no COUNT, no OFFSET."""
    return sorted_page(timer_list(user, filters, now=now), sort, cursor=cursor, size=size)
