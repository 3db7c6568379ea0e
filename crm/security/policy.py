"""The sign-in policy as django-axes reads it: `AXES_FAILURE_LIMIT` and `AXES_COOLOFF_TIME`
name these functions, so the numbers RevOps sets apply from the next attempt on.

axes asks for them several times while it handles one attempt; the row is read once per
request and kept on it.
"""

from __future__ import annotations

import datetime
from typing import Any

from crm.security.models import LoginPolicy

_REQUEST_ATTRIBUTE = "_threshold_login_policy"


def current(request: Any = None) -> LoginPolicy:
    """The policy in force: the saved row, or the defaults when RevOps never edited it."""
    if request is not None:
        cached = getattr(request, _REQUEST_ATTRIBUTE, None)
        if isinstance(cached, LoginPolicy):
            return cached
    policy = LoginPolicy.objects.filter(pk=LoginPolicy.SINGLETON_ID).first()
    if policy is None:
        policy = LoginPolicy(pk=LoginPolicy.SINGLETON_ID)
    if request is not None:
        setattr(request, _REQUEST_ATTRIBUTE, policy)
    return policy


def failure_limit(request: Any, credentials: Any = None) -> int:
    """`AXES_FAILURE_LIMIT`: failed sign-ins (one account, one address) that lock it."""
    return current(request).failure_limit


def cool_off(request: Any = None) -> datetime.timedelta:
    """`AXES_COOLOFF_TIME`: failures older than this are forgotten, and a lockout lasts this
    long after the last failed attempt."""
    return datetime.timedelta(minutes=current(request).window_minutes)
