"""Opportunities: what a converted lead becomes, its contact roles and stage history,
the RevOps-configurable stages and the conversion policy."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from leads.models import Source

if TYPE_CHECKING:
    from crm.models import User


def field_label(model: type[models.Model], name: str) -> str:
    """A field's verbose name with a capital, as the pages show it; its own name when it
    is not a field (any more): audit rows keep the names of fields since removed."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return capfirst(str(getattr(field, "verbose_name", name)))


def max_length_of(model: type[models.Model], name: str) -> int | None:
    field = model._meta.get_field(name)
    return field.max_length if isinstance(field, models.Field) else None


class Stage(models.Model):
    """A pipeline stage. RevOps edits the list, probabilities, exit criteria and rot age."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), unique=True)
    default_probability = models.PositiveSmallIntegerField(
        _("default probability %"), validators=[MaxValueValidator(100)]
    )
    is_won = models.BooleanField(_("closed won"), default=False)
    is_lost = models.BooleanField(_("closed lost"), default=False)
    is_entry = models.BooleanField(
        _("converted leads may enter here"),
        default=False,
        help_text=_("Discovery and Qualification by default."),
    )
    counts_as_early = models.BooleanField(
        _("early stage"),
        default=False,
        help_text=_("Deals stuck here count toward premature-conversion reports."),
    )
    rot_days = models.PositiveSmallIntegerField(_("stale after (days)"), null=True, blank=True)
    exit_required_fields = models.JSONField(_("fields required to leave"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(
                condition=Q(default_probability__lte=100), name="stage_probability_0_100"
            ),
            models.CheckConstraint(
                condition=~Q(is_won=True, is_lost=True), name="stage_not_won_and_lost"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


def _people_of(manager: User) -> models.QuerySet[User]:
    """A manager's people: their direct reports, their teams' members, and themselves."""
    return get_user_model().objects.filter(
        Q(manager=manager) | Q(team__manager=manager) | Q(pk=manager.pk)
    )


class OpportunityQuerySet(models.QuerySet["Opportunity"]):
    def visible_to(self, user: User) -> OpportunityQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.sees_everything:
            return self
        if user.is_manager:
            # Their own deals and their people's, as `owner IN (their people)`: PostgreSQL
            # then reads an owner-led index one owner at a time instead of joining every
            # deal to its owner and team to test the rule (half the board totals' cost).
            return self.filter(owner__in=_people_of(user).values("pk"))
        if user.is_sdr:
            return self.filter(lead__owner=user)
        return self.filter(owner=user)

    def visible_owner_ids(self, user: User) -> list[int] | None:
        """The owners whose deals `user` sees, when the owner alone decides it, as
        `visible_to` has it: an AE's own, a manager's people's and their own (one small
        query). None when it does not: RevOps sees every deal, an SDR the deals sourced
        from her leads. A page that runs several statements over the deals (the board)
        filters by these ids, so that none of them is planned around a subquery, and
        reads sums kept per owner (the board's totals)."""
        if not user.is_authenticated:
            return []
        if user.sees_everything or user.is_sdr:
            return None
        if user.is_manager:
            return list(_people_of(user).values_list("pk", flat=True))
        return [user.pk]

    def open(self) -> OpportunityQuerySet:
        return self.filter(stage__is_won=False, stage__is_lost=False)

    def pending_approval(self) -> OpportunityQuerySet:
        """Deals waiting for a manager's approval: shown apart, not pipeline yet."""
        return self.filter(approval=Opportunity.Approval.PENDING)

    def in_pipeline(self) -> OpportunityQuerySet:
        """Every deal but those waiting for approval (DOMAIN.md: pending is not pipeline)."""
        return self.exclude(approval=Opportunity.Approval.PENDING)

    def stale(self, now: datetime.datetime) -> OpportunityQuerySet:
        """Open deals that sat in their stage past its rot age (one small query on stages)."""
        condition = Q(pk__in=[])
        for stage in Stage.objects.filter(rot_days__isnull=False, is_won=False, is_lost=False):
            cutoff = now - datetime.timedelta(days=stage.rot_days or 0)
            condition |= Q(stage=stage, stage_entered_at__lt=cutoff)
        return self.filter(condition)


class Opportunity(models.Model):
    class Approval(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Not needed")
        PENDING = "pending", _("Waiting for a manager")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    name = models.CharField(
        _("name"), max_length=250, help_text=_("Company - Product/Service - Use case")
    )
    lead = models.OneToOneField(
        "leads.Lead",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunity",
        help_text=_("The lead it was converted from; one opportunity per lead."),
    )
    account = models.ForeignKey(
        "crm.Account", on_delete=models.PROTECT, related_name="opportunities"
    )
    primary_contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, related_name="primary_opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    amount = models.DecimalField(_("estimated deal size"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    discount_notes = models.TextField(_("discount or special pricing"), blank=True)
    expected_close_date = models.DateField(_("expected close date"))
    close_date_reason = models.TextField(
        _("reason for a close date outside the window"), blank=True
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    probability = models.PositiveSmallIntegerField(
        _("probability %"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    next_step = models.CharField(_("next step"), max_length=250)
    next_step_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    next_step_due = models.DateField(_("next step due"))
    # Attribution, frozen at conversion.
    source = models.CharField(_("lead source"), max_length=10, choices=Source.choices)
    campaign = models.CharField(_("campaign"), max_length=150, blank=True)
    lead_score_at_conversion = models.PositiveSmallIntegerField(null=True, blank=True)
    qualification_framework = models.CharField(max_length=8, blank=True)
    qualification_summary = models.TextField(_("qualification summary"), blank=True)
    # Configurable required fields (ConversionPolicy.required_fields decides which).
    product_line = models.CharField(_("product line"), max_length=100, blank=True)
    use_case = models.CharField(_("use case"), max_length=200, blank=True)
    industry_vertical = models.CharField(_("industry vertical"), max_length=100, blank=True)
    decision_criteria = models.TextField(_("decision criteria"), blank=True)
    competitive_landscape = models.TextField(_("competitive landscape"), blank=True)
    risks = models.TextField(_("risks / deal blockers"), blank=True)
    # Closing
    lost_reason = models.TextField(_("lost reason"), blank=True)
    lost_to_competitor = models.CharField(_("lost to competitor"), max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Governance
    approval = models.CharField(
        max_length=12, choices=Approval.choices, default=Approval.NOT_NEEDED, editable=False
    )
    is_override = models.BooleanField(
        _("converted with a criterion unmet"), default=False, editable=False
    )
    stage_entered_at = models.DateTimeField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    is_demo = models.BooleanField(default=False, editable=False)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="opportunity_amount_positive"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="opportunity_probability_0_100"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="opportunity_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="opportunity_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "stage"], name="opp_owner_stage_idx"),
            # The board: each column's newest cards, walked from the top (`board.first_cards`).
            models.Index(fields=["stage", "-created_at", "-id"], name="opp_board_idx"),
            models.Index(fields=["stage", "expected_close_date"], name="opp_stage_close_idx"),
            models.Index(fields=["account", "product_line"], name="opp_account_product_idx"),
            models.Index(fields=["created_at", "source"], name="opp_created_source_idx"),
            # The deal list's sortable columns (`selectors.OPPORTUNITY_SORTS`), each with
            # the id that breaks ties: a keyset page in any order walks one index.
            models.Index(fields=["name", "id"], name="opp_sort_name_idx"),
            models.Index(fields=["currency", "amount", "id"], name="opp_sort_amount_idx"),
            models.Index(fields=["expected_close_date", "id"], name="opp_sort_close_idx"),
            models.Index(fields=["probability", "id"], name="opp_sort_probability_idx"),
            models.Index(fields=["source", "id"], name="opp_sort_source_idx"),
            models.Index(fields=["created_at", "id"], name="opp_sort_created_idx"),
            models.Index(fields=["updated_at", "id"], name="opp_sort_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_pending_approval(self) -> bool:
        """Waiting for a manager: out of the pipeline and unable to move stage till then."""
        return self.approval == self.Approval.PENDING

    def is_stale(self, now: datetime.datetime) -> bool:
        """Open and in its stage longer than the stage's rot age."""
        stage = self.stage
        if stage.is_closed or not stage.rot_days:
            return False
        return now - self.stage_entered_at > datetime.timedelta(days=stage.rot_days)


class OpportunityContactRole(models.Model):
    class Role(models.TextChoices):
        ECONOMIC_BUYER = "economic_buyer", _("Economic buyer")
        CHAMPION = "champion", _("Champion")
        INFLUENCER = "influencer", _("Influencer")
        TECHNICAL_EVALUATOR = "technical_evaluator", _("Technical evaluator")

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_roles"
    )
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, related_name="opportunity_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("contact role")
        verbose_name_plural = _("contact roles")
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact", "role"], name="contact_role_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} — {self.get_role_display()}"


class StageChange(models.Model):
    """An opportunity moving between stages, with how long it sat in the previous one."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    changed_at = models.DateTimeField()
    time_in_previous_stage = models.DurationField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="stagechange_opp_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class ConversionSnapshot(models.Model):
    """An immutable record of the gate as it stood when a lead converted."""

    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.PROTECT,
        related_name="conversion_snapshots",
        help_text=_("The lead's opportunity: created by it, or an existing one it joined."),
    )
    attached = models.BooleanField(
        _("attached to an existing opportunity"), default=False, editable=False
    )
    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.PROTECT, related_name="conversion_snapshot"
    )
    converted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    criteria = models.JSONField(help_text=_("Each criterion's status and evidence."))
    lead_score = models.PositiveSmallIntegerField()
    qualification_notes = models.TextField(blank=True)
    handoff = models.JSONField(default=dict)
    unmet_overridden = models.JSONField(default=list)
    override_rationale = models.TextField(blank=True)

    class Meta:
        verbose_name = _("conversion snapshot")
        verbose_name_plural = _("conversion snapshots")

    def __str__(self) -> str:
        return f"Snapshot of lead {self.lead_id}"


def default_approval_thresholds() -> dict[str, int]:
    return {"USD": 100_000, "EUR": 90_000, "GBP": 80_000, "SGD": 135_000, "IDR": 1_600_000_000}


class ConversionPolicy(models.Model):
    """RevOps' conversion rules. One row (pk=1); read with `ConversionPolicy.current()`."""

    close_window_min_days = models.PositiveSmallIntegerField(
        _("close date at least (days out)"), default=90
    )
    close_window_max_days = models.PositiveSmallIntegerField(
        _("close date at most (days out)"), default=180
    )
    approval_thresholds = models.JSONField(
        _("manager notified above (per currency)"),
        default=default_approval_thresholds,
        help_text=_(
            'Amounts by ISO currency, e.g. {"USD": 100000, "EUR": 90000}. Deals in a '
            "currency without a threshold always notify the manager."
        ),
    )
    approval_required = models.BooleanField(
        _("deals above the threshold need approval before the forecast"), default=False
    )
    required_fields = models.JSONField(
        _("required custom fields"),
        default=list,
        help_text=_(
            "Any of product_line, use_case, industry_vertical, decision_criteria, "
            "competitive_landscape, risks."
        ),
    )
    stall_age_days = models.PositiveSmallIntegerField(
        _("early-stage deal counts as stalled after (days)"), default=45
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("conversion policy")
        verbose_name_plural = _("conversion policy")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="conversion_policy_singleton"),
            models.CheckConstraint(
                condition=Q(close_window_min_days__lte=models.F("close_window_max_days")),
                name="conversion_policy_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Conversion policy"))

    def needs_manager(self, amount: Decimal, currency: str) -> bool:
        """Above the threshold for its currency (or in a currency RevOps set none for)."""
        limit = self.approval_thresholds.get(currency)
        return limit is None or amount > Decimal(str(limit))

    @classmethod
    def current(cls) -> ConversionPolicy:
        obj, _created = cls.objects.get_or_create(
            pk=1,
            defaults={
                "required_fields": [
                    "product_line",
                    "use_case",
                    "industry_vertical",
                    "decision_criteria",
                    "competitive_landscape",
                    "risks",
                ]
            },
        )
        return obj


class ConversionRequestQuerySet(models.QuerySet["ConversionRequest"]):
    def decidable_by(self, user: User) -> ConversionRequestQuerySet:
        """Requests `user` decides on: their people's, or for leads of a team they manage;
        every one for RevOps; never their own. The query form of
        `opportunities.rules.can_decide_override`."""
        if not user.is_authenticated or not (user.is_manager or user.is_revops):
            return self.none()
        others = self.exclude(requested_by=user)
        if user.sees_everything:
            return others
        return others.filter(
            Q(requested_by__manager=user)
            | Q(requested_by__team__manager=user)
            | Q(lead__team__manager=user)
            | Q(lead__owner__manager=user)
        )


class ConversionRequest(models.Model):
    """A conversion asked for with a criterion unmet: it waits for a manager's decision.
    On approval the conversion service runs with the recorded data and rationale."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for a manager")
        APPROVED = "approved", _("Approved and converted")
        DECLINED = "declined", _("Declined")

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="conversion_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(help_text=_("The wizard's input, replayed on approval."))
    unmet = models.JSONField(help_text=_("The gate's problems when it was asked."))
    rationale = models.TextField(_("why convert now"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ConversionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("conversion override request")
        verbose_name_plural = _("conversion override requests")
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(state="pending"),
                name="conversion_request_one_pending_per_lead",
            ),
        ]
        indexes = [models.Index(fields=["state", "-requested_at"], name="convreq_state_idx")]

    def __str__(self) -> str:
        return f"Override request for lead {self.lead_id}"


class OpportunityEvent(models.Model):
    """Everything that happens to a deal besides a stage move (`StageChange`): edits
    (field: old, new) and the manager's approval decision, with who, when and why.
    Append-only."""

    class Kind(models.TextChoices):
        EDITED = "edited", _("Edited")
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    changes = models.JSONField(
        default=dict, blank=True, help_text=_('{"field": ["old", "new"], ...}')
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("opportunity event")
        verbose_name_plural = _("opportunity events")
        indexes = [models.Index(fields=["opportunity", "at"], name="oppevent_opp_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on opportunity {self.opportunity_id}"


class PolicyChange(models.Model):
    """Audit of a RevOps edit to the pipeline's configuration (a stage, the conversion
    policy), wherever it was made: who, when, old -> new."""

    class Subject(models.TextChoices):
        STAGE = "stage", _("Stage")
        CONVERSION_POLICY = "conversion_policy", _("Conversion policy")

    model = models.CharField(max_length=20, choices=Subject.choices)
    object_id = models.PositiveIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    old = models.JSONField(default=dict, help_text=_("The changed fields before; {} on create."))
    new = models.JSONField(default=dict, help_text=_("The changed fields after; {} on delete."))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("pipeline configuration change")
        verbose_name_plural = _("pipeline configuration changes")
        indexes = [models.Index(fields=["model", "object_id", "at"], name="policychange_obj_idx")]

    def __str__(self) -> str:
        return f"{self.get_model_display()} {self.object_id} changed by {self.actor} at {self.at}"
