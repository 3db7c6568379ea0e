"""The core every app shares: people (User, Team), companies and people we sell to
(Account, Contact), in-app notifications, and idempotency records for the API."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Region/City zones and UTC; not the tz database's pseudo-zones ("Factory", "localtime").
TIME_ZONE_CHOICES = sorted(
    (tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz or tz == "UTC"
)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        "crm.User",
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
    )
    territory = models.CharField(
        _("territory"), max_length=100, blank=True, help_text=_("Region or segment it covers.")
    )
    sdrs_see_team_leads = models.BooleanField(
        _("SDRs may read their team's leads"),
        default=False,
        help_text=_("Read-only; SDRs still work only their own leads."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. The role decides what they may see and do."""

    class Role(models.TextChoices):
        SDR = "sdr", _("SDR")
        AE = "ae", _("Account executive")
        MANAGER = "manager", _("Manager")
        REVOPS = "revops", _("RevOps")
        ADMIN = "admin", _("Administrator")

    class Theme(models.TextChoices):
        """How pages are coloured for this person: `system` follows their device."""

        SYSTEM = "system", _("Same as my device")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.SDR)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="UTC"
    )
    default_currency = models.CharField(_("default currency"), max_length=3, default="USD")
    is_demo = models.BooleanField(_("demo account"), default=False, editable=False)
    # Personal settings, each person's own (/settings/me/, /api/v1/me/). Written only by
    # `crm.preferences.user_update_preferences`, which audits them as PreferenceChange rows.
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("Blank: the language the browser asks for."),
    )
    theme = models.CharField(_("theme"), max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    notification_preferences = models.JSONField(
        _("notification preferences"),
        default=dict,
        blank=True,
        help_text=_('The channels changed from the default, e.g. {"handoff": {"email": false}}.'),
    )
    preferences_version = models.PositiveIntegerField(default=1, editable=False)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # stubs omit AbstractUser.Meta
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["sdr", "ae", "manager", "revops", "admin"]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=Q(theme__in=["system", "light", "dark"]), name="user_theme_valid"
            ),
        ]
        indexes = [models.Index(fields=["role", "team"], name="user_role_team_idx")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_sdr(self) -> bool:
        return self.role == self.Role.SDR

    @property
    def is_ae(self) -> bool:
        return self.role == self.Role.AE

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    @property
    def is_revops(self) -> bool:
        return self.role in (self.Role.REVOPS, self.Role.ADMIN) or self.is_superuser

    @property
    def sees_everything(self) -> bool:
        """RevOps and admins see every record; others are scoped to self or team."""
        return self.is_revops


class PreferenceChange(models.Model):
    """Audit of a change to someone's personal settings: whose, by whom, when, old -> new."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="preference_changes", verbose_name=_("user")
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("changed by")
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changes = models.JSONField(_("changes"), help_text=_("{field: [old, new]}"))

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("preference change")
        verbose_name_plural = _("preference changes")
        indexes = [models.Index(fields=["user", "-changed_at"], name="preference_change_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.changes)}"


def normalize_domain(value: str) -> str:
    """`https://www.Acme.com/about` -> `acme.com`; the key accounts are deduplicated on."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if "//" not in value:
        value = "//" + value
    host = urlsplit(value).hostname or ""
    return host.removeprefix("www.").rstrip(".")


_LEGAL_SUFFIXES = re.compile(
    r"\b(inc|incorporated|llc|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|bv|nv|plc|"
    r"pt|tbk|pte|sdn bhd|oy|ab|srl|spa)\b\.?"
)


def normalize_company_name(value: str) -> str:
    """`PT Acme Indonesia, Tbk.` and `acme indonesia` compare equal."""
    value = (value or "").lower()
    value = re.sub(r"[^\w\s]", " ", value)
    value = _LEGAL_SUFFIXES.sub(" ", value)
    return " ".join(value.split())


class Account(models.Model):
    """A company we sell to. Deduplicated on its normalized domain, else its normalized name."""

    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("web domain"), max_length=200, blank=True)
    normalized_domain = models.CharField(max_length=200, blank=True, editable=False)
    normalized_name = models.CharField(max_length=200, editable=False)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    owner = models.ForeignKey(
        User,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accounts",
    )
    is_strategic = models.BooleanField(_("strategic account"), default=False)
    account_plan = models.TextField(_("account plan"), blank=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_domain"],
                condition=~Q(normalized_domain=""),
                name="account_unique_domain",
            ),
            models.UniqueConstraint(
                fields=["normalized_name"],
                condition=Q(normalized_domain=""),
                name="account_unique_name_without_domain",
            ),
            models.CheckConstraint(condition=~Q(normalized_name=""), name="account_name_present"),
        ]
        indexes = [models.Index(fields=["normalized_name"], name="account_norm_name_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived keys only: no side effects beyond this row.
        self.normalized_domain = normalize_domain(self.domain)
        self.normalized_name = normalize_company_name(self.name)
        super().save(*args, **kwargs)


class Contact(models.Model):
    """A person at an account. Deduplicated on lower-cased e-mail."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    normalized_email = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    is_decision_maker = models.BooleanField(_("decision maker"), default=False)
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="direct_reports",
    )
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_email"],
                condition=~Q(normalized_email=""),
                name="contact_unique_email",
            ),
        ]
        indexes = [models.Index(fields=["account", "last_name"], name="contact_account_idx")]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized_email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def for_user(self, user: User) -> NotificationQuerySet:
        return self.filter(recipient=user)


class Notification(models.Model):
    """An in-app message (the bell): hand-offs, SLA warnings and breaches, approvals."""

    class Kind(models.TextChoices):
        ASSIGNMENT = "assignment", _("Assignment")
        HANDOFF = "handoff", _("Hand-off")
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACH = "sla_breach", _("SLA breach")
        ESCALATION = "escalation", _("Escalation")
        APPROVAL = "approval", _("Approval")
        CONVERSION = "conversion", _("Conversion")
        FEEDBACK = "feedback", _("Lead feedback")

    recipient = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        db_index=False,  # notification_recipient_idx leads with it
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
        ]

    def __str__(self) -> str:
        return self.message


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key`, replayed to retries.
    Scoped to the user; kept at least 24 hours (purged after 48 by a beat task)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100, help_text=_("The endpoint, e.g. lead-convert:42."))
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


# The outbox's table lives with its code in `crm.outbox`; imported here so Django registers
# it with the app (and `from crm.models import OutboxMessage` works like the others).
from crm.outbox.models import OutboxMessage as OutboxMessage  # noqa: E402

# Saved views of the lists live with their code in `crm.saved_views`; imported here so
# Django registers them with the app.
from crm.saved_views import SavedView as SavedView  # noqa: E402
from crm.saved_views import SavedViewChange as SavedViewChange  # noqa: E402
