"""Who may read and change sign-in protection: RevOps changes the policy and unlocks,
managers read the page, reps never see it."""

from __future__ import annotations

import rules

from crm.models import User


@rules.predicate
def is_revops(user: User) -> bool:
    """RevOps, admins and superusers (`User.is_revops`)."""
    return user.is_authenticated and user.is_revops


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


can_view_login_protection = is_manager | is_revops
can_change_login_protection = is_revops

rules.add_perm("crm.view_login_protection", can_view_login_protection)
rules.add_perm("crm.change_login_protection", can_change_login_protection)
