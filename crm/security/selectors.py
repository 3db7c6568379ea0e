"""Reads for the sign-in protection page and the lockout answer.

A lockout is what django-axes enforces with `AXES_LOCKOUT_PARAMETERS = [["username",
"ip_address"]]`: the failures of one username from one address (summed over browsers),
counting only attempt rows touched within the window, reaching the limit. It lasts until
the window has passed since the last failure.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from itertools import chain

from axes.models import AccessAttempt, AccessFailureLog
from django.db.models import Max, QuerySet, Sum

from crm.security.models import LockoutRelease, LoginPolicy, LoginPolicyChange

HISTORY_LIMIT = 20
RECENT_FAILURES_LIMIT = 20


@dataclass(frozen=True)
class Lockout:
    username: str | None
    ip_address: str | None
    failures: int
    last_failure: datetime.datetime
    until: datetime.datetime

    def minutes_left(self, now: datetime.datetime) -> int:
        """Whole minutes until it ends, rounded up (never 0 while it lasts)."""
        return max(1, math.ceil((self.until - now).total_seconds() / 60))


def _grouped(
    policy: LoginPolicy, now: datetime.datetime, rows: QuerySet[AccessAttempt]
) -> list[Lockout]:
    window = datetime.timedelta(minutes=policy.window_minutes)
    grouped = (
        rows.filter(attempt_time__gte=now - window)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last_failure=Max("attempt_time"))
        .filter(failures__gte=policy.failure_limit)
        .order_by("-last_failure", "username", "ip_address")
    )
    return [
        Lockout(
            username=row["username"],
            ip_address=row["ip_address"],
            failures=row["failures"],
            last_failure=row["last_failure"],
            until=row["last_failure"] + window,
        )
        for row in grouped
    ]


def lockouts(*, policy: LoginPolicy, now: datetime.datetime) -> list[Lockout]:
    """Every account locked out from an address right now, the latest first."""
    return _grouped(policy, now, AccessAttempt.objects.all())


def lockout_for(
    username: str | None, ip_address: str | None, *, policy: LoginPolicy, now: datetime.datetime
) -> Lockout | None:
    """The lockout of `username` from `ip_address`, if there is one now."""
    found = _grouped(
        policy, now, AccessAttempt.objects.filter(username=username, ip_address=ip_address)
    )
    return found[0] if found else None


def recent_failures(limit: int = RECENT_FAILURES_LIMIT) -> list[AccessFailureLog]:
    """The latest failed sign-ins, each flagged when the lockout refused it."""
    return list(AccessFailureLog.objects.order_by("-attempt_time", "-id")[:limit])


@dataclass(frozen=True)
class HistoryRow:
    at: datetime.datetime
    actor: str
    kind: str  # "policy" or "unlock"
    change: LoginPolicyChange | None = None
    release: LockoutRelease | None = None


def history(limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """Policy edits and unlocks, newest first: who, when, what."""
    changes = LoginPolicyChange.objects.select_related("actor").order_by("-changed_at", "-id")
    releases = LockoutRelease.objects.select_related("actor").order_by("-released_at", "-id")
    rows = chain(
        (HistoryRow(c.changed_at, str(c.actor), "policy", change=c) for c in changes[:limit]),
        (HistoryRow(r.released_at, str(r.actor), "unlock", release=r) for r in releases[:limit]),
    )
    return sorted(rows, key=lambda row: row.at, reverse=True)[:limit]
