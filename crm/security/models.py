"""The sign-in policy RevOps sets, and the audit of its changes and of every unlock.

Failures and lockouts themselves are django-axes' rows (`axes.AccessAttempt` counts the
live failures per username, address and browser; `axes.AccessFailureLog` keeps one row per
failure, `locked_out` set on those refused for the lockout).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_FAILURE_LIMIT = 10
DEFAULT_WINDOW_MINUTES = 15
MIN_FAILURE_LIMIT, MAX_FAILURE_LIMIT = 3, 100
MIN_WINDOW_MINUTES, MAX_WINDOW_MINUTES = 1, 24 * 60


class LoginPolicy(models.Model):
    """The one row: `failure_limit` failed sign-ins for one account from one address within
    `window_minutes` lock that account from that address until `window_minutes` have passed
    since the last failure. Read through `crm.security.policy`; with no row, the defaults."""

    SINGLETON_ID = 1

    failure_limit = models.PositiveSmallIntegerField(
        _("failed sign-ins before lockout"),
        default=DEFAULT_FAILURE_LIMIT,
        validators=[MinValueValidator(MIN_FAILURE_LIMIT), MaxValueValidator(MAX_FAILURE_LIMIT)],
    )
    window_minutes = models.PositiveSmallIntegerField(
        _("window and lockout, in minutes"),
        default=DEFAULT_WINDOW_MINUTES,
        validators=[MinValueValidator(MIN_WINDOW_MINUTES), MaxValueValidator(MAX_WINDOW_MINUTES)],
        help_text=_(
            "Failures older than this are forgotten; a lockout ends this long after the last "
            "failed attempt."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("sign-in policy")
        verbose_name_plural = _("sign-in policies")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="login_policy_singleton"),
            models.CheckConstraint(
                condition=Q(failure_limit__gte=MIN_FAILURE_LIMIT)
                & Q(failure_limit__lte=MAX_FAILURE_LIMIT),
                name="login_policy_failure_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(window_minutes__gte=MIN_WINDOW_MINUTES)
                & Q(window_minutes__lte=MAX_WINDOW_MINUTES),
                name="login_policy_window_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.failure_limit} failures in {self.window_minutes} min"


class LoginPolicyChange(models.Model):
    """Audit of a RevOps edit to the sign-in policy: who, when, old -> new."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"Sign-in policy changed by {self.actor} at {self.changed_at:%Y-%m-%d %H:%M}"


class LockoutRelease(models.Model):
    """Audit of an unlock: RevOps cleared the failures of `username` from `ip_address`."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(auto_now_add=True)
    username = models.CharField(_("username"), max_length=255)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("failed sign-ins cleared"))

    class Meta:
        ordering = ["-released_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} unlocked by {self.actor}"
