"""Leads and their lifecycle: NEW -> MQL -> SAL -> SQL -> CONVERTED, with off-ramps.

`Lead.status` is written only by `leads.services.lifecycle._transition`, which also writes a
`LeadTransition` row (who, when, from, to, why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from crm.placeholders import is_placeholder

# The lead's history of events lives in `leads.event_models`; import it from here.
from leads.event_models import LeadAddress as LeadAddress
from leads.event_models import LeadEvent as LeadEvent
from leads.identity import NameKey

# The settings' own tables live in `leads.settings_models`; import them from here.
from leads.settings_models import DisqualificationReason as DisqualificationReason
from leads.settings_models import Reason
from leads.settings_models import RoutingFallback as RoutingFallback
from leads.settings_models import SettingChange as SettingChange

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from crm.models import User


class Source(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event / webinar")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class Segment(models.TextChoices):
    SMB = "smb", _("SMB")
    MID_MARKET = "mid", _("Mid-market")
    ENTERPRISE = "enterprise", _("Enterprise")


class RejectionReason(Reason):
    """Why sales rejected a lead; the list is RevOps-editable and shown to marketing."""

    class Meta(Reason.Meta):
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    MQL = "mql", _("MQL")
    SAL = "sal", _("SAL")
    SQL = "sql", _("SQL")
    CONVERTED = "converted", _("Converted")
    REJECTED = "rejected", _("Rejected")
    NURTURE = "nurture", _("Nurture")
    DISQUALIFIED = "disqualified", _("Disqualified")


class LeadQuerySet(models.QuerySet["Lead"]):
    def visible_to(self, user: User) -> LeadQuerySet:
        """Rows `user` may read: everything for RevOps/admin, the team for managers,
        otherwise own leads (and for AEs the leads handed off to them).

        Managers also see every open lead that has no owner (routing found no SDR), so
        one of them can assign it: no lead waits where nobody looks."""
        if not user.is_authenticated:
            return self.none()
        if user.sees_everything:
            return self
        if user.is_manager:
            return self.filter(
                Q(team__manager=user)
                | Q(owner__manager=user)
                | Q(owner=user)
                | Q(owner__isnull=True, status__in=Lead.OPEN_STATUSES)
            )
        if user.is_ae:
            return self.filter(Q(owner=user) | Q(ae=user))
        if user.team is not None and user.team.sdrs_see_team_leads:
            return self.filter(Q(owner=user) | Q(team_id=user.team_id))
        return self.filter(owner=user)

    def owned_by(self, user: User) -> LeadQuerySet:
        return self.filter(owner=user)

    def open(self) -> LeadQuerySet:
        return self.filter(status__in=Lead.OPEN_STATUSES)

    def unassigned(self) -> LeadQuerySet:
        """Open leads waiting for an owner: the Unassigned queue."""
        return self.open().filter(owner__isnull=True)


class Lead(models.Model):
    Status = LeadStatus

    OPEN_STATUSES = (Status.NEW, Status.MQL, Status.SAL, Status.SQL)

    # Company
    company_name = models.CharField(_("company"), max_length=200)
    company_domain = models.CharField(_("company web domain"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    segment = models.CharField(_("segment"), max_length=12, choices=Segment.choices, blank=True)
    territory = models.CharField(_("territory"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # Person
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    # Attribution
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    campaign = models.CharField(_("campaign"), max_length=150, blank=True)
    score = models.PositiveSmallIntegerField(
        _("lead score"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Ownership
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (SDR)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # lead_owner_status_idx leads with owner_id
    )
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # lead_team_status_idx leads with team_id
    )
    ae = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account executive"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handed_off_leads",
        db_index=False,  # partial lead_ae_status_idx
    )
    # Lifecycle
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    mql_at = models.DateTimeField(_("became MQL"), null=True, blank=True, editable=False)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True, editable=False)
    first_contacted_at = models.DateTimeField(
        _("first contacted"), null=True, blank=True, editable=False
    )
    accepted_at = models.DateTimeField(_("accepted (SAL)"), null=True, blank=True, editable=False)
    qualified_at = models.DateTimeField(_("qualified (SQL)"), null=True, blank=True, editable=False)
    handed_off_at = models.DateTimeField(_("handed off"), null=True, blank=True, editable=False)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True, editable=False)
    nurtured_at = models.DateTimeField(_("nurtured"), null=True, blank=True, editable=False)
    disqualified_at = models.DateTimeField(_("disqualified"), null=True, blank=True, editable=False)
    rejection_reason = models.ForeignKey(
        RejectionReason,
        verbose_name=_("rejection reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,  # partial lead_rejection_reason_idx
    )
    rejection_note = models.TextField(_("rejection rationale"), blank=True, editable=False)
    # Null on leads disqualified before the reason list existed: their note says why.
    disqualification_reason = models.ForeignKey(
        DisqualificationReason,
        verbose_name=_("disqualification reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,  # partial lead_disq_reason_idx
    )
    disqualification_note = models.TextField(
        _("disqualification rationale"), blank=True, editable=False
    )
    lost_to_competitor = models.CharField(
        _("lost to competitor"),
        max_length=150,
        blank=True,
        help_text=_("Set when the lead chose a competitor before it entered the pipeline."),
    )
    # What it became (set by conversion; kept for ever so reports keep the source).
    account = models.ForeignKey(
        "crm.Account", models.PROTECT, null=True, blank=True, related_name="leads", db_index=False
    )
    contact = models.ForeignKey(
        "crm.Contact", models.PROTECT, null=True, blank=True, related_name="leads", db_index=False
    )
    # One person, one live lead (`leads.identity`): a returning person's new lead points at
    # their last closed one; a merged duplicate points at the lead it was merged into.
    previous_lead = models.ForeignKey(
        "self",
        verbose_name=_("previous lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="later_leads",
        db_index=False,  # partial lead_previous_lead_idx
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_leads",
        db_index=False,  # partial lead_merged_into_idx
    )
    # Optimistic concurrency: bumped on every write; API clients send it back (If-Match).
    version = models.PositiveIntegerField(default=1, editable=False)
    is_demo = models.BooleanField(default=False, editable=False)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=LeadStatus.values), name="lead_status_valid"
            ),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="lead_source_valid"),
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_0_100"),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False),
                name="lead_converted_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | Q(rejection_reason__isnull=False),
                name="lead_rejected_has_reason",
            ),
        ]
        indexes = [
            # The SDR queue and "My work": own open leads, newest first.
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status_idx"),
            models.Index(fields=["team", "status"], name="lead_team_status_idx"),
            # Cohort reports: leads created in a period, by source.
            models.Index(fields=["created_at", "source"], name="lead_created_source_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_created_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_created_idx"),
            # Deduplication at intake (`leads.identity`): the person's leads by e-mail, and
            # by name (then compared on the company domain), each an index probe.
            models.Index(Lower("email"), condition=~Q(email=""), name="lead_email_key_idx"),
            models.Index(
                NameKey("first_name", "last_name"),
                condition=~Q(last_name=""),
                name="lead_name_key_idx",
            ),
            # Keys NULL until a later step, indexed where set: `x = %s` (reverse relations,
            # on_delete) still probes one; a new lead, a million in an import, writes none.
            *(
                models.Index(fields=f, condition=Q(**{f"{f[0]}__isnull": False}), name=index)
                for f, index in (
                    (["ae", "status"], "lead_ae_status_idx"),
                    (["account"], "lead_account_idx"),
                    (["contact"], "lead_contact_idx"),
                    (["rejection_reason"], "lead_rejection_reason_idx"),
                    (["disqualification_reason"], "lead_disq_reason_idx"),
                    (["previous_lead"], "lead_previous_lead_idx"),
                    (["merged_into"], "lead_merged_into_idx"),
                )
            ),
            # The queue's sortable columns, each with the id that breaks ties (keyset).
            models.Index(fields=["company_name", "id"], name="lead_sort_company_idx"),
            models.Index(fields=["status", "id"], name="lead_sort_status_idx"),
            models.Index(fields=["source", "id"], name="lead_sort_source_idx"),
            models.Index(fields=["score", "id"], name="lead_sort_score_idx"),
            models.Index(fields=["created_at", "id"], name="lead_sort_created_idx"),
            models.Index(fields=["updated_at", "id"], name="lead_sort_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} — {self.full_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Lead.Status.NEW: frozenset({Lead.Status.MQL, Lead.Status.DISQUALIFIED}),
    Lead.Status.MQL: frozenset(
        {Lead.Status.SAL, Lead.Status.REJECTED, Lead.Status.NURTURE, Lead.Status.DISQUALIFIED}
    ),
    Lead.Status.SAL: frozenset({Lead.Status.SQL, Lead.Status.NURTURE, Lead.Status.DISQUALIFIED}),
    Lead.Status.SQL: frozenset(
        {Lead.Status.CONVERTED, Lead.Status.NURTURE, Lead.Status.DISQUALIFIED}
    ),
    Lead.Status.NURTURE: frozenset({Lead.Status.MQL, Lead.Status.DISQUALIFIED}),
    Lead.Status.REJECTED: frozenset({Lead.Status.MQL, Lead.Status.NURTURE}),
    Lead.Status.CONVERTED: frozenset(),
    Lead.Status.DISQUALIFIED: frozenset(),
}


class LeadTransition(models.Model):
    """One lifecycle move: who, when, from, to and why. Append-only."""

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="transitions", db_index=False)
    from_status = models.CharField(max_length=12, choices=Lead.Status.choices)
    to_status = models.CharField(max_length=12, choices=Lead.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty when the system made the move (routing, import)."),
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("lead transition")
        verbose_name_plural = _("lead transitions")
        indexes = [
            models.Index(fields=["lead", "created_at"], name="transition_lead_idx"),
            models.Index(fields=["to_status", "created_at"], name="transition_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_status} → {self.to_status}"


class CriterionStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    IN_PROGRESS = "in_progress", _("In progress")
    CONFIRMED = "confirmed", _("Confirmed")


def _criterion_status(verbose: StrOrPromise) -> models.CharField:
    return models.CharField(
        verbose, max_length=12, choices=CriterionStatus.choices, default=CriterionStatus.UNKNOWN
    )


class Qualification(models.Model):
    """The five conversion criteria of a lead, each with a status, evidence and detail."""

    class Framework(models.TextChoices):
        BANT = "bant", "BANT"
        MEDDIC = "meddic", "MEDDIC"
        CHAMP = "champ", "CHAMP"

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="qualification")
    framework = models.CharField(
        _("framework"), max_length=8, choices=Framework.choices, default=Framework.BANT
    )
    # 1. Budget confirmed, or a path to budget
    budget_status = _criterion_status(_("budget"))
    budget_evidence = models.TextField(_("budget evidence"), blank=True)
    budget_approval_process = models.TextField(_("approval process"), blank=True)
    budget_holder = models.CharField(_("budget holder"), max_length=200, blank=True)
    budget_cycle = models.CharField(_("next budget cycle"), max_length=200, blank=True)
    # 2. Authority identified
    authority_status = _criterion_status(_("authority"))
    authority_evidence = models.TextField(_("authority evidence"), blank=True)
    economic_buyer = models.CharField(_("economic buyer"), max_length=200, blank=True)
    decision_unit = models.TextField(_("decision unit"), blank=True)
    # 3. Need validated
    need_status = _criterion_status(_("need"))
    need_evidence = models.TextField(_("need evidence"), blank=True)
    need_problem = models.TextField(_("business problem"), blank=True)
    need_cost_of_inaction = models.TextField(_("cost of not solving it"), blank=True)
    need_why_now = models.TextField(_("why now"), blank=True)
    # 4. Timeline defined
    timeline_status = _criterion_status(_("timeline"))
    timeline_evidence = models.TextField(_("timeline evidence"), blank=True)
    timeline_forcing_event = models.CharField(_("forcing event"), max_length=200, blank=True)
    timeline_target_date = models.DateField(_("target date"), null=True, blank=True)
    # 5. Decision process understood
    decision_status = _criterion_status(_("decision process"))
    decision_evidence = models.TextField(_("decision process evidence"), blank=True)
    decision_people = models.TextField(_("people involved"), blank=True)
    decision_criteria = models.TextField(_("decision criteria"), blank=True)
    decision_evaluation_timeline = models.CharField(
        _("evaluation timeline"), max_length=200, blank=True
    )
    decision_other_vendors = models.TextField(_("other vendors considered"), blank=True)

    notes = models.TextField(_("qualification notes"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    CRITERIA = ("budget", "authority", "need", "timeline", "decision")

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")

    def __str__(self) -> str:
        return f"Qualification of lead {self.lead_id}"

    def criterion_status(self, criterion: str) -> str:
        return getattr(self, f"{criterion}_status")

    def is_confirmed(self, criterion: str) -> bool:
        """Confirmed, with evidence that is more than a placeholder ("TBD" is not evidence)."""
        return self.criterion_status(criterion) == CriterionStatus.CONFIRMED and not (
            is_placeholder(getattr(self, f"{criterion}_evidence"))
        )

    def has_placeholder_evidence(self, criterion: str) -> bool:
        """Marked confirmed on evidence that only pretends to be one ("TBD", "N/A", "?")."""
        evidence = getattr(self, f"{criterion}_evidence")
        return (
            self.criterion_status(criterion) == CriterionStatus.CONFIRMED
            and bool(evidence.strip())
            and is_placeholder(evidence)
        )

    @property
    def confirmed_count(self) -> int:
        return sum(self.is_confirmed(c) for c in self.CRITERIA)


class Handoff(models.Model):
    """The SDR's hand-off package to an AE (DOMAIN.md, hand-off step 1)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_given"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_received"
    )
    company_background = models.TextField(_("company background and fit"))
    contacts_org_chart = models.TextField(_("contacts and org chart"))
    pain_points = models.TextField(_("pain points and business context"))
    engagement_history = models.TextField(_("engagement history"))
    qualification_notes = models.TextField(_("qualification notes"))
    recommended_next_step = models.TextField(_("recommended next step"))
    discovery_meeting_at = models.DateTimeField(_("discovery meeting"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Hand-off quality, filled by the AE after discovery.
    ae_rating = models.PositiveSmallIntegerField(
        _("hand-off rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    ae_repeated_discovery = models.BooleanField(
        _("AE had to repeat discovery questions"), null=True, blank=True
    )
    discovery_held_at = models.DateTimeField(_("discovery held"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")
        constraints = [
            models.CheckConstraint(
                condition=Q(ae_rating__isnull=True) | Q(ae_rating__gte=1, ae_rating__lte=5),
                name="handoff_rating_1_5",
            ),
        ]
        indexes = [models.Index(fields=["to_user", "-created_at"], name="handoff_to_idx")]

    def __str__(self) -> str:
        return f"Hand-off of lead {self.lead_id} to {self.to_user}"


class ActivityQuerySet(models.QuerySet["Activity"]):
    def pending(self) -> ActivityQuerySet:
        return self.filter(completed_at__isnull=True, due_at__isnull=False)


class Activity(models.Model):
    """Something done or planned with a lead or opportunity: call, e-mail, meeting, note, task."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")
        TASK = "task", _("Follow-up task")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("happened at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    is_first_contact = models.BooleanField(_("first contact"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    is_demo = models.BooleanField(default=False, editable=False)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=False) | Q(opportunity__isnull=False),
                name="activity_has_subject_record",
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="activity_lead_idx"),
            models.Index(fields=["opportunity", "-created_at"], name="activity_opp_idx"),
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(completed_at__isnull=True, due_at__isnull=False),
                name="activity_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class RoutingRule(models.Model):
    """How new MQLs find an owner; RevOps edits these. Lowest position that matches wins."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin within the team")
        TERRITORY = "territory", _("By territory / segment")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    strategy = models.CharField(_("strategy"), max_length=12, choices=Strategy.choices)
    team = models.ForeignKey("crm.Team", on_delete=models.CASCADE, related_name="routing_rules")
    match_source = models.CharField(
        _("only source"), max_length=10, choices=Source.choices, blank=True
    )
    match_segment = models.CharField(
        _("only segment"), max_length=12, choices=Segment.choices, blank=True
    )
    match_territory = models.CharField(_("only territory"), max_length=100, blank=True)
    match_country = models.CharField(
        _("only country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. ID.")
    )
    match_campaign = models.CharField(_("only campaign"), max_length=150, blank=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("Round-robin pointer."),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name
