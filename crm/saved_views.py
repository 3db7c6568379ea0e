"""Saved views: a list's filters, sort and columns kept under a name, shown as tabs above
the list (leads, opportunities, accounts, contacts, SLA clocks).

A view is its owner's; shared, the owner's team reads it too; RevOps may make a view the
one a role opens a list with (`default_for_role`, one per role and list). What a view
holds is the list page's own query string (`query`), so a view shows exactly what the
page showed when it was saved, and the list validates it as it validates any URL.

Only the tables live here (imported by `crm.models`, like the outbox's), and this module
imports nothing of ours, so `crm.models` can import it without a circle. Changes go
through `crm.saved_view_services`, which writes a `SavedViewChange` for each.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

NAME_MAX = 80
QUERY_MAX = 2000


class ListKey(models.TextChoices):
    """The lists that have saved views."""

    LEADS = "leads", _("Leads")
    OPPORTUNITIES = "opportunities", _("Opportunities")
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    SLA_TIMERS = "sla_timers", _("SLA clocks")


class SavedView(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    list_key = models.CharField(_("list"), max_length=20, choices=ListKey.choices)
    name = models.CharField(_("name"), max_length=NAME_MAX)
    query = models.CharField(
        _("query"),
        max_length=QUERY_MAX,
        blank=True,
        help_text=_("The list's filters, sort and columns, as the page's URL carries them."),
    )
    shared = models.BooleanField(_("shared with my team"), default=False)
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The team a shared view is shown to: its owner's when it was shared."),
    )
    default_for_role = models.CharField(
        _("default for role"),
        max_length=10,
        blank=True,
        help_text=_("People in this role open the list with this view (RevOps sets it)."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_key", "name"], name="saved_view_owner_name_unique"
            ),
            models.UniqueConstraint(
                fields=["list_key", "default_for_role"],
                condition=~Q(default_for_role=""),
                name="saved_view_one_default_per_role",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "list_key", "position"], name="saved_view_owner_idx"),
            models.Index(
                fields=["team", "list_key"], condition=Q(shared=True), name="saved_view_team_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SavedViewChange(models.Model):
    """The audit of saved views: who created, changed or deleted which, when, old -> new."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")

    view = models.ForeignKey(
        SavedView, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    view_name = models.CharField(max_length=NAME_MAX)
    list_key = models.CharField(max_length=20, choices=ListKey.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["view", "-at"], name="saved_view_change_idx")]

    def __str__(self) -> str:
        return f"{self.view_name}: {self.action}"
