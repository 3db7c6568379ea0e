"""The leads settings' own tables: the reason lists' common shape, the disqualification
reasons, the fallback routing pointer and the audit of every settings change.

Kept apart from `leads.models` (the lifecycle), which re-exports them: import them from
`leads.models`. Nothing here imports the rest of `leads`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Reason(models.Model):
    """A reason from a list RevOps keeps (`leads.services.settings`): a stable code for
    integrations and reports, a label people read, retired rather than deleted."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class DisqualificationReason(Reason):
    """Why a lead will never convert (wrong company, bad data, no fit); RevOps keeps the
    list, reports group disqualified leads by it."""

    class Meta(Reason.Meta):
        verbose_name = _("disqualification reason")
        verbose_name_plural = _("disqualification reasons")


class RoutingFallback(models.Model):
    """The round-robin pointer among all active SDRs, for leads no rule routes.

    One row (pk 1). Routing locks this row only, and only when no rule matched, so
    concurrent intake queues on the pointer it advances, never on every rule."""

    SINGLETON = 1

    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("fallback routing pointer")
        verbose_name_plural = _("fallback routing pointers")

    def __str__(self) -> str:
        return f"Fallback round robin after {self.last_assigned_id}"


class SettingChange(models.Model):
    """Audit of a RevOps edit to the leads settings (routing rules, reasons): who, when,
    what it was, what it became. Append-only; `old` is empty for a creation."""

    class Kind(models.TextChoices):
        ROUTING_RULE = "routing_rule", _("Routing rule")
        REJECTION_REASON = "rejection_reason", _("Rejection reason")
        DISQUALIFICATION_REASON = "disqualification_reason", _("Disqualification reason")

    kind = models.CharField(_("setting"), max_length=24, choices=Kind.choices)
    object_id = models.PositiveIntegerField(_("object id"))
    object_label = models.CharField(
        _("name"), max_length=150, help_text=_("The object's name when it was changed.")
    )
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
        verbose_name = _("settings change")
        verbose_name_plural = _("settings changes")
        indexes = [
            models.Index(fields=["kind", "object_id", "-at"], name="settingchange_object_idx"),
            models.Index(fields=["-at"], name="settingchange_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_label} changed by {self.actor_id}"

    @property
    def is_creation(self) -> bool:
        return not self.old
