"""The two changes RevOps makes to sign-in protection, each audited (who, when, what)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.security import policy as login_policy
from crm.security.access import require
from crm.security.models import (
    MAX_FAILURE_LIMIT,
    MAX_WINDOW_MINUTES,
    MIN_FAILURE_LIMIT,
    MIN_WINDOW_MINUTES,
    LockoutRelease,
    LoginPolicy,
    LoginPolicyChange,
)
from crm.security.selectors import lockout_for

# OWASP ASVS 2.2.1: at most 100 failed attempts an hour against one account.
MAX_FAILURES_PER_HOUR = 100


def policy_problems(*, failure_limit: int, window_minutes: int) -> list[Problem]:
    """Every reason the numbers cannot be the policy; empty means they can."""
    problems = []
    if not MIN_FAILURE_LIMIT <= failure_limit <= MAX_FAILURE_LIMIT:
        problems.append(
            Problem(
                "out_of_range",
                "failure_limit",
                _("Allow between %(min)d and %(max)d failed sign-ins.")
                % {"min": MIN_FAILURE_LIMIT, "max": MAX_FAILURE_LIMIT},
            )
        )
    if not MIN_WINDOW_MINUTES <= window_minutes <= MAX_WINDOW_MINUTES:
        problems.append(
            Problem(
                "out_of_range",
                "window_minutes",
                _("The window is between %(min)d minute and %(max)d minutes (a day).")
                % {"min": MIN_WINDOW_MINUTES, "max": MAX_WINDOW_MINUTES},
            )
        )
    # A lockout ends a window after the last failure, so an attacker gets at most
    # `failure_limit` guesses per window from one address.
    if not problems and failure_limit * 60 > MAX_FAILURES_PER_HOUR * window_minutes:
        most = MAX_FAILURES_PER_HOUR * window_minutes // 60
        problems.append(
            Problem(
                "too_lenient",
                "failure_limit",
                _(
                    "That allows more than %(rate)d guesses an hour. With a %(window)d-minute "
                    "window, allow at most %(most)d failed sign-ins, or lengthen the window."
                )
                % {"rate": MAX_FAILURES_PER_HOUR, "window": window_minutes, "most": most},
            )
        )
    return problems


@dataclass(frozen=True)
class PolicyEdit:
    policy: LoginPolicy
    change: LoginPolicyChange | None  # None: the numbers were already these


@transaction.atomic
def login_policy_update(*, by: User, failure_limit: int, window_minutes: int) -> PolicyEdit:
    """Set the sign-in policy; it applies from the next sign-in attempt."""
    require(by, "edit")
    problems = policy_problems(failure_limit=failure_limit, window_minutes=window_minutes)
    if problems:
        raise ValidationFailed(problems=problems)
    policy, _created = LoginPolicy.objects.select_for_update().get_or_create(
        pk=LoginPolicy.SINGLETON_ID
    )
    old = {"failure_limit": policy.failure_limit, "window_minutes": policy.window_minutes}
    new = {"failure_limit": failure_limit, "window_minutes": window_minutes}
    if old == new:
        return PolicyEdit(policy, None)
    policy.failure_limit = failure_limit
    policy.window_minutes = window_minutes
    policy.updated_by = by
    policy.save()
    change = LoginPolicyChange.objects.create(actor=by, old=old, new=new)
    return PolicyEdit(policy, change)


@transaction.atomic
def lockout_release(
    *,
    by: User,
    username: str | None,
    ip_address: str | None,
    now: datetime.datetime | None = None,
) -> LockoutRelease:
    """Clear the failed sign-ins of `username` from `ip_address`, so they can sign in again."""
    require(by, "edit")
    now = now or timezone.now()
    lockout = lockout_for(username, ip_address, policy=login_policy.current(), now=now)
    if lockout is None:
        raise ValidationFailed(
            problems=[
                Problem(
                    "not_locked_out",
                    None,
                    _(
                        "%(username)s is not locked out from %(address)s any more: the lockout "
                        "ended or someone unlocked it."
                    )
                    % {"username": username or _("(no username)"), "address": ip_address or "?"},
                )
            ]
        )
    AccessAttempt.objects.filter(username=username, ip_address=ip_address).delete()
    return LockoutRelease.objects.create(
        actor=by, username=username or "", ip_address=ip_address, failures=lockout.failures
    )
