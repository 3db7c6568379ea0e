"""Who may see and change the capture settings. Web forms: RevOps edit, managers read (as
every settings page). Intake keys are credentials, so they are RevOps' alone; the visitor
posting a form and the system posting to the webhook are not users and need no rule."""

from __future__ import annotations

import rules

from crm.models import User


@rules.predicate
def sees_everything(user: User) -> bool:
    return user.is_authenticated and user.sees_everything


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


rules.add_perm("capture.view_forms", sees_everything | is_manager)
rules.add_perm("capture.change_forms", sees_everything)
rules.add_perm("capture.manage_intake_keys", sees_everything)
