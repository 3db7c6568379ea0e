"""`LeadEvent`: everything that happens to a lead besides a status move.

Kept beside `leads.models` (which re-exports it) so that module stays one screen of
lifecycle; the app label and table are unchanged (`leads_leadevent`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LeadEvent(models.Model):
    """Everything that happens to a lead besides a status move: edits (field, old, new),
    assignments, first contact, qualification updates, hand-offs, touches (the person
    came in again) and merges. Append-only."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        ASSIGNED = "assigned", _("Assigned")
        FIRST_CONTACT = "first_contact", _("First contact")
        QUALIFICATION = "qualification", _("Qualification updated")
        HANDOFF = "handoff", _("Handed off")
        DISCOVERY = "discovery", _("Discovery held")
        # The person came in again (form, webhook, import, API) while this lead was live:
        # no second lead; `changes` holds the channel, source, campaign, form and time.
        TOUCH = "touch", _("Came in again")
        # Two leads of one person became one: on the survivor and on the duplicate, with
        # the fields taken over (old -> new) and what moved.
        MERGED = "merged", _("Merged")

    # No index of its own: leadevent_lead_idx (lead, created_at) leads with it.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    changes = models.JSONField(
        default=dict, blank=True, help_text=_('{"field": ["old", "new"], ...}')
    )
    note = models.TextField(blank=True)

    class Meta:
        app_label = "leads"
        ordering = ["created_at", "id"]
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [models.Index(fields=["lead", "created_at"], name="leadevent_lead_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id}"


class LeadAddress(models.Model):
    """An e-mail address a lead had before it took another one in a merge or an import's
    overwrite. The person is still known by it: intake, imports and the duplicate warnings
    find the lead by its former addresses as by its current one (`leads.duplicates`), so
    a merge that keeps the duplicate's address never lets the survivor's own address
    start a second lead. Stored normalized (`leads.identity.normalize_email`)."""

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="former_addresses"
    )
    email = models.CharField(_("e-mail"), max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "leads"
        ordering = ["created_at", "id"]
        verbose_name = _("former e-mail address")
        verbose_name_plural = _("former e-mail addresses")
        constraints = [
            # Leads with its leading column: a lookup by address is one index probe.
            models.UniqueConstraint(fields=["email", "lead"], name="leadaddress_once")
        ]

    def __str__(self) -> str:
        return self.email
