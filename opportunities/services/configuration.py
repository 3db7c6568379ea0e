"""RevOps' pipeline configuration: stages and the conversion policy.

Both are edited in the admin (the board links RevOps there). Every save and delete goes
through here so each leaves a `PolicyChange` row (who, when, old -> new), as every other
rule RevOps owns does (DOMAIN: "edited by RevOps in the product, with an audit").
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from crm.models import User
from opportunities.models import ConversionPolicy, PolicyChange, Stage

# Bookkeeping, not configuration: never part of old -> new.
_NOT_AUDITED = frozenset({"id", "updated_at", "updated_by"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _values(obj: Model) -> dict[str, Any]:
    return {
        field.attname: _jsonable(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if field.name not in _NOT_AUDITED
    }


def _save_audited(obj: Stage | ConversionPolicy, *, by: User, subject: str) -> None:
    """Save `obj` and record the fields that changed, old -> new, in one transaction."""
    with transaction.atomic():
        stored = (
            type(obj).objects.select_for_update().filter(pk=obj.pk).first()
            if obj.pk is not None
            else None
        )
        old = _values(stored) if stored is not None else {}
        obj.save()
        new = _values(obj)
        changed = [name for name in new if old.get(name, object()) != new[name]]
        if not changed:
            return
        PolicyChange.objects.create(
            model=subject,
            object_id=obj.pk,
            actor=by,
            at=timezone.now(),
            old={name: old[name] for name in changed if name in old},
            new={name: new[name] for name in changed},
        )


def stage_save(*, stage: Stage, by: User) -> Stage:
    """Create or edit a pipeline stage, with an audit row of what changed."""
    _save_audited(stage, by=by, subject=PolicyChange.Subject.STAGE)
    return stage


def stage_delete(*, stage: Stage, by: User) -> None:
    """Remove a stage no deal ever used (deals protect theirs), keeping what it was."""
    with transaction.atomic():
        old, pk = _values(stage), stage.pk
        stage.delete()
        PolicyChange.objects.create(
            model=PolicyChange.Subject.STAGE,
            object_id=pk,
            actor=by,
            at=timezone.now(),
            old=old,
            new={},
        )


def conversion_policy_save(*, policy: ConversionPolicy, by: User) -> ConversionPolicy:
    """Edit the conversion policy (thresholds, the close-date window, required fields),
    with an audit row of what changed."""
    policy.updated_by = by
    _save_audited(policy, by=by, subject=PolicyChange.Subject.CONVERSION_POLICY)
    return policy
