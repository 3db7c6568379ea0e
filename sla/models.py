"""SLA policies (RevOps-editable targets), business calendars, timers and the events a
sweep records (warnings, breaches, escalations), each recorded exactly once."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TIME_ZONE_CHOICES


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


class SlaPolicy(models.Model):
    """A commitment: from `start_event` to `stop_event` within a target, on a calendar."""

    class Event(models.TextChoices):
        MQL = "mql", _("Lead became MQL")
        ASSIGNED = "assigned", _("Lead assigned to an owner")
        FIRST_CONTACT = "first_contact", _("First contact logged")
        DECIDED = "decided", _("Lead accepted or rejected")
        HANDOFF = "handoff", _("Handed off to an AE")
        DISCOVERY = "discovery", _("Discovery call held")
        CONVERTED = "converted", _("Converted to an opportunity")

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


class SlaPolicyChange(models.Model):
    """Audit of a RevOps edit: who, when, old -> new."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.policy} changed by {self.actor} at {self.changed_at:%Y-%m-%d %H:%M}"


class SlaTimerQuerySet(models.QuerySet["SlaTimer"]):
    def running(self) -> SlaTimerQuerySet:
        return self.filter(stopped_at__isnull=True)

    def overdue(self, now) -> SlaTimerQuerySet:  # noqa: ANN001
        """The one definition of overdue: badges, filters, dashboards and the sweep use it."""
        return self.running().filter(due_at__lte=now)


class SlaTimer(models.Model):
    """One policy running against one lead. `due_at` is computed once, at start."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="timers")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_timers")
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
        BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    met = models.BooleanField(null=True, blank=True, help_text=_("Stopped on time?"))
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_check_at = models.DateTimeField(
        help_text=_("When the sweep next needs to look: warn, due, or next escalation.")
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
        indexes = [
            # The sweep reads only due rows of running timers.
            models.Index(
                fields=["next_check_at"],
                condition=Q(stopped_at__isnull=True),
                name="sla_timer_sweep_idx",
            ),
            models.Index(fields=["lead", "stopped_at"], name="sla_timer_lead_idx"),
            models.Index(
                fields=["responsible", "due_at"],
                condition=Q(stopped_at__isnull=True),
                name="sla_timer_queue_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} on lead {self.lead_id}"


class SlaEvent(models.Model):
    """A warning, breach or escalation. Unique per timer, kind and level: recorded once."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")
        ESCALATION = "escalation", _("Escalation")

    timer = models.ForeignKey(SlaTimer, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    notified = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
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
