"""The audit row every capture settings change writes, in the change's transaction."""

from __future__ import annotations

import datetime
from typing import Any

from capture.models import CaptureChange
from crm.models import User
from crm.versioning import as_jsonable


def record_change(
    kind: str,
    object_id: int,
    label: str,
    *,
    by: User,
    at: datetime.datetime,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> CaptureChange:
    return CaptureChange.objects.create(
        kind=kind,
        object_id=object_id,
        object_label=label[:150],
        actor=by,
        at=at,
        old={k: as_jsonable(v) for k, v in (old or {}).items()},
        new={k: as_jsonable(v) for k, v in (new or {}).items()},
    )
