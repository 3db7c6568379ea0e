"""RevOps-editable benchmark ranges, thresholds and MQL targets (with their audit);
everything else in reports is computed in SQL, and the rollups below are derived from the
source tables."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from leads.models import Source


class BenchmarkRange(models.Model):
    """Typical lead -> opportunity conversion rate for a source (`overall` for all)."""

    source = models.CharField(_("source"), max_length=10, unique=True)
    low_percent = models.DecimalField(
        _("low %"), max_digits=5, decimal_places=2, validators=[MaxValueValidator(100)]
    )
    high_percent = models.DecimalField(
        _("high %"), max_digits=5, decimal_places=2, validators=[MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["source"]
        verbose_name = _("benchmark range")
        verbose_name_plural = _("benchmark ranges")
        constraints = [
            models.CheckConstraint(
                condition=Q(low_percent__lte=models.F("high_percent")),
                name="benchmark_low_le_high",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.low_percent}–{self.high_percent} %"


class ReportPolicy(models.Model):
    """RevOps' report thresholds besides the conversion benchmarks. One row (pk=1)."""

    pipeline_to_won_low = models.DecimalField(
        _("healthy pipeline-to-won ratio from"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("3"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Pipeline created ÷ value won in the same period; below this is thin."),
    )
    pipeline_to_won_high = models.DecimalField(
        _("healthy pipeline-to-won ratio up to"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Above this the pipeline is inflated with deals that were never real."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("report thresholds")
        verbose_name_plural = _("report thresholds")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="report_policy_singleton"),
            models.CheckConstraint(
                condition=Q(pipeline_to_won_low__lte=models.F("pipeline_to_won_high")),
                name="report_policy_ratio_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Report thresholds"))

    @classmethod
    def current(cls) -> ReportPolicy:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class BenchmarkChange(models.Model):
    """Audit of a RevOps edit to a benchmark range or to the report thresholds: who, when,
    old -> new (`reports.services.benchmarks_update` writes it, and nothing else)."""

    benchmark = models.ForeignKey(
        BenchmarkRange,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="changes",
        help_text=_("Empty for the report thresholds, or once the range was deleted."),
    )
    source = models.CharField(
        _("source"),
        max_length=10,
        blank=True,
        help_text=_("The range's source when it changed; empty for the report thresholds."),
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField(default=dict, blank=True)  # {} when the range was added
    new = models.JSONField(default=dict, blank=True)  # {} when the range was deleted

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("benchmark change")
        verbose_name_plural = _("benchmark changes")

    def __str__(self) -> str:
        what = self.source or "thresholds"
        return f"{what} changed by {self.actor} at {self.changed_at:%Y-%m-%d %H:%M}"

    @property
    def is_thresholds(self) -> bool:
        return not self.source


class MqlTarget(models.Model):
    """How many MQLs marketing commits to deliver from a source in a calendar month: the
    marketing side of the SLA framework. RevOps sets it (`reports.services`)."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    target = models.PositiveIntegerField(_("MQL target"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month", "source"]
        verbose_name = _("MQL target")
        verbose_name_plural = _("MQL targets")
        constraints = [
            models.UniqueConstraint(fields=["month", "source"], name="mql_target_month_source"),
            models.CheckConstraint(condition=Q(month__day=1), name="mql_target_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.source}: {self.target}"


class MqlTargetChange(models.Model):
    """Audit of a RevOps edit to an MQL target: who, when, old -> new (`{}` on the side
    where the target did not exist). `reports.services.mql_targets_update` writes it."""

    target = models.ForeignKey(
        MqlTarget, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    month = models.DateField(_("month"))
    source = models.CharField(_("source"), max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField(default=dict, blank=True)  # {} when the target was added
    new = models.JSONField(default=dict, blank=True)  # {} when the target was removed

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("MQL target change")
        verbose_name_plural = _("MQL target changes")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.source} changed by {self.actor} at {self.changed_at}"


# --- Rollups ------------------------------------------------------------------------------------
# Daily sums the dashboard reads instead of scanning millions of rows. Every table is derived
# (rebuilt from the source tables by `reports.rollups.refresh`, incrementally every half
# minute and in full every night) and may be dropped and rebuilt at any time. Field names
# follow the source models (`team`, `owner`, `ae`, `lead__team`, `responsible`, ...) so the
# source models' own `visible_to` scoping and the report filters apply to them unchanged.


class _Row(models.Model):
    """A rollup row: derived data, identified by its day and dimensions."""

    class Meta:
        abstract = True


HOUR, DAY, MONTH = "h", "d", "m"


class _DayRow(_Row):
    """An hour's figures (`grain` h: `day` and `hour`, UTC), a day's (d) or a whole
    month's (m, `day` = its 1st), summed up from the hours: a period reads a row per month
    it covers whole, per day, and per hour at its two ends (periods start at midnight in
    the reader's zone, which is rarely a UTC midnight)."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField(default=0)
    grain = models.CharField(
        max_length=1, default=HOUR, choices=[(HOUR, "hour"), (DAY, "day"), (MONTH, "month")]
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {getattr(self, 'day', '')} #{self.pk}"


# Scoping reads a lead's status only for leads without an owner (a manager sees the open
# ones, to assign them), so the rollups keep it only there: fewer rows, same scope.
UNOWNED_STATUS = "The lead's status when it has no owner; empty otherwise."


class LeadScope(models.Model):
    """The attributes of a lead that decide who may see a figure, plus its source: what
    rollups of opportunities, hand-offs and SLA clocks keep of the lead behind them."""

    key = models.CharField(max_length=80, unique=True)
    team = models.ForeignKey(
        "crm.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        "crm.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    ae = models.ForeignKey(
        "crm.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10)
    status = models.CharField(max_length=12, default="", blank=True, help_text=UNOWNED_STATUS)

    def __str__(self) -> str:
        return self.key


class _LeadRollup(_DayRow):
    source = models.CharField(max_length=10)
    campaign = models.CharField(max_length=150, default="", blank=True)
    status = models.CharField(max_length=12, default="", blank=True, help_text=UNOWNED_STATUS)
    team = models.ForeignKey(
        "crm.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        "crm.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    ae = models.ForeignKey(
        "crm.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


class LeadCreatedDay(_LeadRollup):
    """Leads created on a UTC day, by where they are now in the funnel, and what the deals
    they became were won for (`currency`: the deal's; empty for a lead not converted)."""

    currency = models.CharField(max_length=3, default="", blank=True)

    leads = models.PositiveIntegerField(default=0)
    mql = models.PositiveIntegerField(default=0)
    sal = models.PositiveIntegerField(default=0)
    sql = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    lost_to_competitor = models.PositiveIntegerField(default=0)
    score_sum = models.BigIntegerField(default=0)
    won_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        indexes = [
            models.Index(fields=["grain", "day", "hour"], name="rollup_lead_created_day_idx")
        ]


class LeadAssignedDay(_LeadRollup):
    """Leads assigned on a UTC day: contacted, accepted, and the time it took (sums)."""

    assigned = models.PositiveIntegerField(default=0)
    first_contacted = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    first_contact_seconds = models.FloatField(default=0)
    acceptance_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["grain", "day", "hour"], name="rollup_lead_assigned_day_idx")
        ]


class _OpportunityRollup(_DayRow):
    owner = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(
        LeadScope, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)

    class Meta:
        abstract = True


# Stage positions the rollup counts "reached" for; a pipeline with stages further out is
# answered from the source rows instead.
REACH_POSITIONS = 12


class OpportunityCreatedDay(_OpportunityRollup):
    """Opportunities created on a UTC day: how they fared, how far they got, their value.
    `stalled_early` is as of the refresh (deals cross the stall age as time passes, so
    the refresh rebuilds the days of the deals that crossed it since the last one)."""

    opportunities = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    lost_early = models.PositiveIntegerField(default=0)
    stalled_early = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    override = models.PositiveIntegerField(default=0)
    decision_maker = models.PositiveIntegerField(default=0)
    amount_sum = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    won_reach = models.PositiveIntegerField(
        default=0, help_text="Reached a won stage (now or in its history)."
    )
    reach_0 = models.PositiveIntegerField(default=0, help_text="Furthest stage position >= 0.")
    reach_1 = models.PositiveIntegerField(default=0)
    reach_2 = models.PositiveIntegerField(default=0)
    reach_3 = models.PositiveIntegerField(default=0)
    reach_4 = models.PositiveIntegerField(default=0)
    reach_5 = models.PositiveIntegerField(default=0)
    reach_6 = models.PositiveIntegerField(default=0)
    reach_7 = models.PositiveIntegerField(default=0)
    reach_8 = models.PositiveIntegerField(default=0)
    reach_9 = models.PositiveIntegerField(default=0)
    reach_10 = models.PositiveIntegerField(default=0)
    reach_11 = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day", "hour"], name="rollup_opp_created_day_idx")]


class OpportunityClosedDay(_OpportunityRollup):
    """Opportunities closed on a UTC day: won, lost, value won and the sales cycle."""

    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    won_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    cycle_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day", "hour"], name="rollup_opp_closed_day_idx")]


class StageMoveDay(_DayRow):
    """Deals leaving a stage on a UTC day and how long they had been in it (sum)."""

    from_stage = models.ForeignKey(
        "opportunities.Stage", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(
        LeadScope, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10)
    moves = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day", "hour"], name="rollup_stage_move_day_idx")]


class HandoffDay(_DayRow):
    lead = models.ForeignKey(LeadScope, on_delete=models.CASCADE, related_name="+")
    from_user = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    to_user = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    handoffs = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    low_rating = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    repeated = models.PositiveIntegerField(default=0)
    discovery_held = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day", "hour"], name="rollup_handoff_day_idx")]


# Scoping reads only whether a clock has stopped (a manager sees the running clocks of
# unassigned leads): the clock rollup keeps `stopped_at` as this marker, or NULL.
STOPPED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class TimerDay(_DayRow):
    """SLA clocks due on a UTC day. `running` counts clocks still running at refresh;
    `stopped_at` is `STOPPED` for the rows of stopped clocks, NULL for running ones."""

    policy = models.ForeignKey("sla.SlaPolicy", on_delete=models.CASCADE, related_name="+")
    stopped_at = models.DateTimeField(null=True, blank=True)
    responsible = models.ForeignKey(
        "crm.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(LeadScope, on_delete=models.CASCADE, related_name="+")
    timers = models.PositiveIntegerField(default=0)
    met = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    running = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "day", "hour"], name="rollup_timer_day_idx")]


class _OpenRollup(_Row):
    owner = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(
        LeadScope, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)
    count = models.PositiveIntegerField(default=0)
    amount_sum = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    weighted_sum = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class OpenPipeline(_OpenRollup):
    """The deals open as of the last refresh (`RollupState.refreshed_at`), by stage.
    `pending`: deals waiting for a manager's approval, kept apart (not pipeline)."""

    pending = models.BooleanField(default=False)

    stage = models.ForeignKey("opportunities.Stage", on_delete=models.CASCADE, related_name="+")
    age_bucket = models.CharField(max_length=12)
    age_seconds = models.FloatField(default=0)
    probability_sum = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    stalled_early = models.PositiveIntegerField(default=0)


class OpenForecast(_OpenRollup):
    """The deals in the pipeline as of the last refresh (none waiting for approval), by
    expected close month."""

    month = models.DateField(help_text="First day of the expected close month.")


class _DurationRow(_Row):
    """One source row's duration (seconds) for one median figure (`measure`), at the
    instant that puts the row in its cohort (`at`), with its `bucket`: a monotone
    quantization of the value (about 4 % wide), so an exact median counts rows per bucket
    and then sorts only the rows of the bucket holding the middle rank
    (`reports.rollups.durations`)."""

    measure = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    bucket = models.SmallIntegerField()
    value = models.FloatField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.measure} {self.at}: {self.value} s"


class LeadDuration(_DurationRow):
    """The funnel's step times (leads created at `at`) and the response times (leads
    assigned at `at`), one row per lead and figure. Who may see a row is its lead's
    `scope` (a few hundred combinations): a median filters on the visible scopes' ids,
    no join per row."""

    scope = models.ForeignKey(
        LeadScope, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        null=True, related_name="+",
    )  # fmt: skip
    campaign = models.CharField(max_length=150, default="", blank=True)

    class Meta:
        indexes = [
            # Counting per bucket over a period, and sorting one bucket of a period: each
            # one index range, index-only once VACUUM has marked the pages visible.
            models.Index(
                fields=["measure", "at"],
                include=["bucket", "value", "scope", "campaign"],
                name="rollup_lead_duration_at_idx",
            ),
            # The same range without the campaign text, for the counts of every median
            # not filtered by campaign (the dashboard's, the SLA report's): a third of the
            # width, so a 90-day count at a million leads reads a third of the pages
            # (58 -> 46 ms and 61 -> 32 ms for the dashboard's two).
            models.Index(
                fields=["measure", "at"],
                include=["bucket", "scope"],
                name="rollup_lead_duration_count_idx",
            ),
            models.Index(
                fields=["measure", "bucket", "at"],
                include=["value", "scope", "campaign"],
                name="rollup_lead_duration_pick_idx",
            ),
        ]


class StageStay(_DurationRow):
    """How long a deal sat in a stage before leaving it at `at`, one row per move; fields
    named like the stage change's deal (`owner`, `source`, `lead`) for its scoping."""

    from_stage = models.ForeignKey(
        "opportunities.Stage", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    owner = models.ForeignKey(
        "crm.User", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    source = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(
                fields=["measure", "at"],
                include=["bucket", "value", "from_stage", "owner", "lead", "source"],
                name="rollup_stage_stay_at_idx",
            ),
            models.Index(
                fields=["measure", "bucket", "at"],
                include=["value", "from_stage", "owner", "lead", "source"],
                name="rollup_stage_stay_pick_idx",
            ),
        ]


class RollupState(models.Model):
    """One row (pk=1): how far the rollups are up to date."""

    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    lead_count = models.PositiveBigIntegerField(default=0)
    lead_max_id = models.PositiveBigIntegerField(default=0)
    opportunity_count = models.PositiveBigIntegerField(default=0)
    opportunity_max_id = models.PositiveBigIntegerField(default=0)
    timer_max_id = models.PositiveBigIntegerField(default=0)
    handoff_max_id = models.PositiveBigIntegerField(default=0)
    stage_change_max_id = models.PositiveBigIntegerField(default=0)
    last_seconds = models.FloatField(default=0, help_text="How long the last refresh took.")
    durations_built_at = models.DateTimeField(
        null=True, blank=True, help_text="When the duration rows were last built in full."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="rollup_state_singleton")]

    def __str__(self) -> str:
        return f"Rollups as of {self.refreshed_at}"
