"""Authorize a sign-in protection action, or raise: the pages and services call this."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed
from crm.models import User

# view: read the page (managers and RevOps); edit: change the policy, unlock (RevOps).
Action = Literal["view", "edit"]

PERMISSIONS: dict[Action, str] = {
    "view": "crm.view_login_protection",
    "edit": "crm.change_login_protection",
}


def may(user: User, to: Action) -> bool:
    return user.has_perm(PERMISSIONS[to])


def require(user: User, to: Action) -> None:
    if not may(user, to):
        if to == "edit":
            raise NotAllowed(_("Only RevOps can change sign-in protection or unlock accounts."))
        raise NotAllowed(_("Only managers and RevOps can see sign-in protection."))
