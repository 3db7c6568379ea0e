"""SLA policies (RevOps-editable targets), business calendars, timers and the events a
sweep records (warnings, breaches, escalations), each recorded exactly once."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TIME_ZONE_CHOICES
from leads.clocks import ClockEvent

if TYPE_CHECKING:
    from crm.models import User


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday..Friday (datetime.weekday())


class BusinessCalendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES)
    working_days = models.JSONField(
        _("working days"), default=default_working_days, help_text=_("0 = Monday … 6 = Sunday")
    )
    work_starts = models.TimeField(_("working day starts"), default="09:00")
    work_ends = models.TimeField(_("working day ends"), default="17:00")
    holiday_country = models.CharField(
        _("public holidays of country"), max_length=2, blank=True, help_text=_("e.g. ID, US")
    )
    holiday_subdivision = models.CharField(_("subdivision"), max_length=10, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.CheckConstraint(
                condition=Q(work_starts__lt=models.F("work_ends")), name="calendar_hours_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarHoliday(models.Model):
    """A custom non-working date on top of the country's public holidays."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_holiday_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class CalendarChange(models.Model):
    """Audit of a RevOps edit to a calendar or its holidays: who, when, old -> new."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.calendar} changed by {self.actor} at {self.changed_at:%Y-%m-%d %H:%M}"


class SlaPolicy(models.Model):
    """A commitment: from `start_event` to `stop_event` within a target, on a calendar."""

    # The lifecycle moments are the leads app's (it reports them through `leads.clocks`);
    # a policy names two of them.
    Event = ClockEvent

    class Unit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("calendar days")
        BUSINESS_HOURS = "business_hours", _("business hours")
        BUSINESS_DAYS = "business_days", _("business days")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=150)
    start_event = models.CharField(_("starts when"), max_length=16, choices=Event.choices)
    stop_event = models.CharField(_("stops when"), max_length=16, choices=Event.choices)
    target_value = models.PositiveIntegerField(_("target"), validators=[MinValueValidator(1)])
    target_unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    warn_at_percent = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("warn at % of target"),
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="policies"
    )
    applies_to_sources = models.JSONField(_("only sources"), default=list, blank=True)
    applies_to_segments = models.JSONField(_("only segments"), default=list, blank=True)
    applies_to_teams = models.ManyToManyField("crm.Team", blank=True, related_name="+")
    escalation_chain = models.JSONField(
        _("escalation chain"),
        default=list,
        help_text=_(
            'Levels after a breach, e.g. [{"to": "manager", "after_minutes": 240}, '
            '{"to": "revops", "after_minutes": 1440}]. The owner is told at breach.'
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["key"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(warn_at_percent__gte=1, warn_at_percent__lte=99),
                name="sla_policy_warn_1_99",
            ),
            models.CheckConstraint(
                condition=~Q(start_event=models.F("stop_event")),
                name="sla_policy_start_ne_stop",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def counts_business_time(self) -> bool:
        """Business units count on the calendar; elapsed units ignore it."""
        return self.target_unit in (self.Unit.BUSINESS_HOURS, self.Unit.BUSINESS_DAYS)


class SlaPolicyChange(models.Model):
    """Audit of a RevOps edit: who, when, old -> new."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.policy} changed by {self.actor} at {self.changed_at:%Y-%m-%d %H:%M}"


class SlaTimerQuerySet(models.QuerySet["SlaTimer"]):
    """Per-collection filters. Every view of "late" (badges, list filters, dashboards,
    reports and the sweep) is one of these predicates over the stored `warn_at`/`due_at`,
    so no two screens can disagree about a timer."""

    def running(self) -> SlaTimerQuerySet:
        return self.filter(stopped_at__isnull=True)

    def overdue(self, now: datetime.datetime) -> SlaTimerQuerySet:
        """The one definition of overdue: badges, filters, dashboards and the sweep use it."""
        return self.running().filter(due_at__lte=now)

    def at_risk(self, now: datetime.datetime) -> SlaTimerQuerySet:
        """Running, past the warning point, not yet due."""
        return self.running().filter(warn_at__lte=now, due_at__gt=now)

    def on_track(self, now: datetime.datetime) -> SlaTimerQuerySet:
        return self.running().filter(warn_at__gt=now)

    def due_between(self, start: datetime.datetime, end: datetime.datetime) -> SlaTimerQuerySet:
        """Running timers due in ``[start, end)``, e.g. "due today" in the user's zone."""
        return self.running().filter(due_at__gte=start, due_at__lt=end)

    def met(self) -> SlaTimerQuerySet:
        return self.filter(stopped_at__isnull=False, met=True)

    def missed(self) -> SlaTimerQuerySet:
        """Stopped after the due time (including clocks cancelled once already late)."""
        return self.filter(stopped_at__isnull=False, met=False)

    def stopped_between(self, start: datetime.datetime, end: datetime.datetime) -> SlaTimerQuerySet:
        return self.filter(stopped_at__gte=start, stopped_at__lt=end)

    def sweep_due(self, now: datetime.datetime) -> SlaTimerQuerySet:
        """What the sweep must look at: running timers whose next check has come.
        Matches the partial index `sla_timer_due_check_idx`."""
        return self.filter(stopped_at__isnull=True, next_check_at__lte=now)

    def visible_to(self, user: User) -> SlaTimerQuerySet:
        """RevOps and admins see every clock; a manager the clocks of their team (the
        lead's team, or people who report to them or sit in a team they manage) and the
        running clocks of unassigned leads (the routing clock managers act on); anyone
        else their own."""
        if not user.is_authenticated:
            return self.none()
        if user.sees_everything:
            return self
        if user.is_manager:
            return self.filter(
                Q(lead__team__manager=user)
                | Q(responsible__manager=user)
                | Q(responsible__team__manager=user)
                | Q(responsible=user)
                | Q(lead__owner__isnull=True, stopped_at__isnull=True)
            )
        return self.filter(responsible=user)


class SlaTimer(models.Model):
    """One policy running against one lead. `due_at` is computed once, at start."""

    class State(models.TextChoices):
        RUNNING = "running", _("On track")
        AT_RISK = "at_risk", _("At risk")
        OVERDUE = "overdue", _("Overdue")
        MET = "met", _("Met")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of their own on `policy`, `lead` and `calendar` (see Meta.indexes): each
    # index is written on every sweep UPDATE (next_check_at moves, so none is HOT).
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="timers", db_index=False
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="sla_timers", db_index=False
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    due_at = models.DateTimeField()
    # The target as it stood at start: later policy edits do not move running timers.
    target_value = models.PositiveIntegerField()
    target_unit = models.CharField(max_length=16)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    met = models.BooleanField(null=True, blank=True, help_text=_("Stopped on time?"))
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # Empty once nothing is left to do (warned, breached, escalated to the end of the
    # chain): such a timer drops out of the sweep's index range for good.
    next_check_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the sweep next needs to look: warn, due, or next escalation."),
    )

    objects = SlaTimerQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "lead"],
                condition=Q(stopped_at__isnull=True),
                name="sla_timer_one_running_per_policy",
            ),
        ]
        # Every index here is written on each of the sweep's UPDATEs, so only those a
        # query needs (sla migration 0006 dropped four):
        # - `policy`: the running ones are the leading column of
        #   `sla_timer_one_running_per_policy`; all of a policy's timers are a large share
        #   of the table (a scan), and policies are never deleted (admin, services);
        # - `lead`: the leading column of `sla_timer_lead_idx`;
        # - `calendar`: no query filters timers by it, calendars are never deleted;
        # - (due_at, policy): `sla_timer_sort_due_idx` leads with due_at for the reports'
        #   periods.
        indexes = [
            # The sweep reads only running rows with a next check: an idle tick is one
            # descent of this index, and a finished clock (next_check_at empty) or a
            # stopped one is not in it at all.
            models.Index(
                fields=["next_check_at"],
                condition=Q(stopped_at__isnull=True, next_check_at__isnull=False),
                name="sla_timer_due_check_idx",
            ),
            models.Index(fields=["lead", "stopped_at"], name="sla_timer_lead_idx"),
            models.Index(
                fields=["responsible", "due_at"],
                condition=Q(stopped_at__isnull=True),
                name="sla_timer_queue_idx",
            ),
            # The clocks list's sortable times (`sla.lists.TIMER_SORTS`), with the id that
            # breaks ties: a keyset page in any order walks one index. The first also
            # serves the reports' "fell due in a period".
            models.Index(fields=["due_at", "id"], name="sla_timer_sort_due_idx"),
            models.Index(fields=["started_at", "id"], name="sla_timer_sort_started_idx"),
            models.Index(fields=["stopped_at", "id"], name="sla_timer_sort_stopped_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} on lead {self.lead_id}"

    def state(self, now: datetime.datetime) -> str:
        """The timer's `State` at `now`, from the stored times (the querysets' predicates)."""
        if self.stopped_at is not None:
            if self.met is None:
                return self.State.CANCELLED
            return self.State.MET if self.met else self.State.MISSED
        if self.due_at <= now:
            return self.State.OVERDUE
        if self.warn_at <= now:
            return self.State.AT_RISK
        return self.State.RUNNING

    def is_running(self) -> bool:
        return self.stopped_at is None

    def time_left(self, now: datetime.datetime) -> datetime.timedelta:
        """Elapsed time until due (negative when overdue), measured to the stored due time."""
        return self.due_at - now


class SlaEvent(models.Model):
    """A warning, breach or escalation. Unique per timer, kind and level: recorded once."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")
        ESCALATION = "escalation", _("Escalation")

    # Indexed as the leading column of `sla_event_once`, not on its own.
    timer = models.ForeignKey(
        SlaTimer, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    # Who answered for the clock when it happened (reports group breaches by it; the
    # timer's own `responsible` may change later, on reassignment).
    # Not indexed, like `notified`: no query looks events up by person (reports group
    # the timers), and each index is written for every event a sweep records.
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # The person told: the owner (warning, breach), the manager; empty when a whole role
    # (RevOps) was told or nobody could be found. Notifications hold every recipient.
    notified = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["timer", "kind", "level"], name="sla_event_once"),
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="sla_event_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} of timer {self.timer_id}"
