"""Leads from outside, without a user: web-to-lead forms and intake keys.

A `WebForm` is a public form RevOps sets up (which lead fields a visitor fills in, the
source and campaign its leads get, what the visitor sees afterwards, which web sites may
post it). Every post to it leaves a `FormSubmission` row, so RevOps sees per form how many
leads came in, how many were duplicates, spam or refused. An `IntakeKey` lets marketing
automation post leads to the webhook; only a hash of its secret is stored. `CaptureChange`
is the audit of RevOps' edits to both (who, when, old -> new).

Rows here describe data; every change goes through `capture.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from leads.models import Source


class WebForm(models.Model):
    """A web-to-lead form: public at /f/<key>/, posted from a customer's own site."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    # Random and unguessable: knowing it is all it takes to post leads, so it is never
    # derived from the name and never reused (`capture.services.forms.new_form_key`).
    key = models.SlugField(_("form key"), max_length=40, unique=True, editable=False)
    fields = models.JSONField(
        _("fields shown"),
        default=list,
        help_text=_("Lead fields the visitor fills in, in the order shown."),
    )
    source = models.CharField(
        _("lead source"), max_length=10, choices=Source.choices, default=Source.INBOUND
    )
    campaign = models.CharField(_("campaign"), max_length=150, blank=True)
    thank_you_message = models.TextField(_("thank-you message"), max_length=2000, blank=True)
    redirect_url = models.URLField(
        _("redirect to"),
        max_length=500,
        blank=True,
        help_text=_("After a successful post the visitor is sent here instead."),
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_("Web sites (scheme://host[:port]) whose pages may post this form."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    is_demo = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="webform_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SubmissionOutcome(models.TextChoices):
    CREATED = "created", _("New lead")
    DEDUPLICATED = "deduplicated", _("Existing lead")
    INVALID = "invalid", _("Refused: invalid")
    SPAM = "spam", _("Spam (honeypot)")
    THROTTLED = "throttled", _("Refused: too many posts")
    FORBIDDEN_ORIGIN = "forbidden_origin", _("Refused: site not allowed")


class FormSubmission(models.Model):
    """One post to a web form and what became of it. The visitor's address is kept only
    as a keyed hash: enough to count repeat posters, not to identify anyone."""

    Outcome = SubmissionOutcome

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    at = models.DateTimeField(_("at"))
    ip_hash = models.CharField(_("client (hashed)"), max_length=64, blank=True)
    origin = models.CharField(_("posted from"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Which fields were refused and why (codes only: no value a visitor typed is kept).
    problems = models.JSONField(_("problems"), default=list, blank=True)
    # Not stored: the labels of `problems`' fields, set by `selectors.recent_submissions`.
    refused_fields = ""

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        indexes = [models.Index(fields=["form", "-at"], name="formsubmission_form_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=SubmissionOutcome.values),
                name="formsubmission_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M}"


class IntakeKey(models.Model):
    """A credential for the inbound webhook: it may create leads, and nothing else.

    The secret is shown once, when the key is made; only its SHA-256 is stored. A fast
    hash suffices (no PBKDF2): the secret is 256 random bits, not a password a person
    chose, so there is nothing to guess. `prefix` is public and finds the row."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    is_demo = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("intake key")
        verbose_name_plural = _("intake keys")
        constraints = [
            # Two live keys of one name cannot be told apart when one is to be revoked; a
            # revoked key's name may be used again.
            models.UniqueConstraint(
                Lower("name"),
                condition=Q(revoked_at__isnull=True),
                name="intakekey_active_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CaptureChange(models.Model):
    """Audit of RevOps' edits to forms and keys: who, when, what it was, what it became.
    Append-only; `old` is empty for a creation."""

    class Kind(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        INTAKE_KEY = "intake_key", _("Intake key")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField(_("object id"))
    object_label = models.CharField(_("name"), max_length=150)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("changed at"))
    old = models.JSONField(_("before"), default=dict, blank=True)
    new = models.JSONField(_("after"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("capture change")
        verbose_name_plural = _("capture changes")
        indexes = [
            models.Index(fields=["kind", "object_id", "-at"], name="capturechange_object_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_label} changed by {self.actor_id}"
