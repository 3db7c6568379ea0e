"""A lead posted to the webhook with an intake key: the same intake as every channel.

Each row is its own call (and its own transaction): one refused row does not undo or
stop the others. The key's name is recorded as the lead's form, so the timeline says
which integration sent it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from capture.models import IntakeKey
from leads.services.intake import IntakeResult, lead_intake


def webhook_intake(
    *, key: IntakeKey, data: Mapping[str, Any], at: datetime.datetime | None = None
) -> IntakeResult:
    """Take in one lead sent with `key`; `ValidationFailed` naming every problem."""
    return lead_intake(by=None, data=data, via="webhook", form=key.name, at=at)
