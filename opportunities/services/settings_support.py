"""Who may change the pipeline settings, and how a change is recorded: shared by the
stage and conversion-policy services (`opportunities.services.configuration`, which
re-exports what callers need)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound, Problem, ValidationFailed
from crm.models import User
from opportunities.models import PolicyChange, Stage

# Beyond ten years a number of days is a typo, not a rule.
MAX_DAYS = 3650

# --- who may ------------------------------------------------------------------------------

# read: over the API (anyone signed in: a client needs stage ids and the conversion rules);
# view: the settings pages (managers and RevOps); change: edit them (RevOps).
SettingsAction = Literal["read", "view", "change"]
SETTINGS_PERMISSIONS: dict[SettingsAction, str] = {
    "read": "opportunities.read_settings",
    "view": "opportunities.view_settings",
    "change": "opportunities.change_settings",
}


def may(user: User, to: SettingsAction) -> bool:
    """May `user` do `to` with the pipeline settings? (Buttons, read-only forms.)"""
    return user.has_perm(SETTINGS_PERMISSIONS[to])


def require_settings_permission(user: User, to: SettingsAction) -> None:
    """`NotAllowed` unless `user` may do `to`. Settings are not secret, so the refusal
    comes before any lookup: a 403, never a 404 that says more."""
    if may(user, to):
        return
    if to == "change":
        raise NotAllowed(_("Only RevOps may change the pipeline stages and conversion policy."))
    raise NotAllowed(_("The pipeline settings are for managers and RevOps."))


def stage_for(user: User, stage_id: Any, *, to: SettingsAction = "view") -> Stage:
    """The stage `stage_id`, if `user` may do `to` with the settings (`NotAllowed`,
    `NotFound`)."""
    require_settings_permission(user, to)
    try:
        return Stage.objects.get(pk=stage_id)
    except (Stage.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such stage.")) from None


# --- checks and the audit -----------------------------------------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(value: Any, low: int, high: int) -> bool:
    return is_int(value) and low <= value <= high


def refuse_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", name, _("Unknown field '%(name)s'.") % {"name": name})
                for name in unknown
            ]
        )


def full_clean(obj: Model, *, exclude: Iterable[str] = ()) -> None:
    """The model's own checks (lengths, constraints) as Problems, should ours miss one."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False)
    except DjangoValidationError as error:
        raise ValidationFailed(
            problems=[
                Problem("invalid", None if name == "__all__" else name, str(message))
                for name, messages in error.message_dict.items()
                for message in messages
            ]
        ) from error


# --- the audit ----------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def snapshot(obj: Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


@dataclass
class SettingsEdit:
    """What an edit did: the audit row, or None when nothing changed."""

    change: PolicyChange | None = None

    @property
    def changed(self) -> bool:
        return self.change is not None


def record(
    subject: str, object_id: int, *, by: User, before: dict[str, Any], after: dict[str, Any]
) -> PolicyChange | None:
    """One audit row with the settings that changed, old -> new; none if nothing did."""
    changed = [name for name in after if before.get(name, object()) != after[name]]
    if not changed and before:
        return None
    return PolicyChange.objects.create(
        model=subject,
        object_id=object_id,
        actor=by,
        at=timezone.now(),
        old={name: before[name] for name in changed if name in before},
        new={name: after[name] for name in changed},
    )


# --- reads for the settings pages and the API ---------------------------------------------


def stages_for_settings() -> QuerySet[Stage]:
    """Every stage, active or retired, in order, with the number of deals in it now."""
    return Stage.objects.annotate(deal_count=Count("opportunities")).order_by("position")


def settings_history(
    subject: str, *, object_id: int | None = None, limit: int = 20
) -> list[PolicyChange]:
    """The newest audit rows of stages or of the policy (of one stage: `object_id`)."""
    rows = PolicyChange.objects.filter(model=subject).select_related("actor")
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    return list(rows.order_by("-at", "-id")[:limit])


def stage_names(changes: Iterable[PolicyChange]) -> dict[int, str]:
    """The stage each change concerns, by id: its name now, or its name when deleted."""
    ids = {c.object_id for c in changes}
    names = dict(Stage.objects.filter(pk__in=ids).values_list("pk", "name"))
    for change in changes:
        if change.object_id not in names and change.old.get("name"):
            names[change.object_id] = str(change.old["name"])
    return names
