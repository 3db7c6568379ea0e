"""Optimistic locking and field audits, the same for every versioned record.

A versioned record (lead, qualification, opportunity) carries a `version` that every
saved change bumps; a form or API client sends the version it saw, and a change made
from a stale page is refused rather than silently overwriting someone else's. Each
saved change is audited as `{field: [old, new]}` in a JSON column.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from crm.exceptions import StaleVersion


def check_version(current: int, expected: int | None, message: str | Promise = "") -> None:
    """Refuse a change made from a stale page; `None` means the caller did not say."""
    if expected is not None and int(expected) != current:
        raise StaleVersion(
            str(message)
            or _(
                "Someone changed this record meanwhile (your version %(yours)s, now %(now)s). "
                "Reload and try again."
            )
            % {"yours": expected, "now": current}
        )


def save_with_version_bump(instance: Any, fields: list[str]) -> None:
    """Save `fields` and bump the version, so pages opened before this change go stale."""
    instance.version += 1
    instance.save(update_fields=[*fields, "version", "updated_at"])


def as_jsonable(value: Any) -> Any:
    """A field value as an audit row keeps it: readable, and JSON."""
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Model):
        return str(value)
    return value


def apply_changes(instance: Any, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set the fields of `data` that differ on `instance`; return them as `[old, new]`."""
    changes = {
        name: [as_jsonable(getattr(instance, name)), as_jsonable(value)]
        for name, value in data.items()
        if getattr(instance, name) != value
    }
    for name in changes:
        setattr(instance, name, data[name])
    return changes
