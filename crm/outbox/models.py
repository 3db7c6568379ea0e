"""The outbox table: one row per side effect, written in the transaction of its change."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The rows the relay still has to deliver (dead letters included: the few the health
# check counts). Delivered rows, the vast majority, stay out of the index.
UNDELIVERED = Q(delivered_at__isnull=True)


class OutboxMessageQuerySet(models.QuerySet["OutboxMessage"]):
    def pending(self) -> OutboxMessageQuerySet:
        """Waiting for delivery, or for their next attempt: not delivered, not dead."""
        return self.filter(delivered_at__isnull=True, dead_at__isnull=True)

    def dead(self) -> OutboxMessageQuerySet:
        """Given up on after `MAX_ATTEMPTS`: kept for someone to look at and retry."""
        return self.filter(delivered_at__isnull=True, dead_at__isnull=False)


class OutboxMessage(models.Model):
    """A side effect to deliver after its transaction committed, at least once.

    `kind` names the handler (a Celery task's registered name), `payload` its keyword
    arguments. `delivery_key` says which effect this is ("notification-email:42"): the
    same effect written twice is stored once, and the relay delivers each row once."""

    kind = models.CharField(_("kind"), max_length=200)
    payload = models.JSONField(_("payload"), default=dict)
    delivery_key = models.CharField(_("delivery key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    available_at = models.DateTimeField(
        _("next attempt"), default=timezone.now, help_text=_("Not tried again before then.")
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    dead_at = models.DateTimeField(
        _("given up"),
        null=True,
        blank=True,
        help_text=_("Every attempt failed; retried only when someone asks for it."),
    )
    last_error = models.TextField(_("last error"), blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        app_label = "crm"
        ordering = ["-pk"]  # the order they were written, by the primary key
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(fields=["available_at"], condition=UNDELIVERED, name="outbox_due_idx"),
            models.Index(fields=["delivered_at"], name="outbox_delivered_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.delivery_key}]"

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        return "dead" if self.dead_at is not None else "pending"
