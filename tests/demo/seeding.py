"""What the demo tests share: a fixed `now` for the invariants, and the command."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from django.core.management import call_command

# A Monday noon: business-day clocks started late last week fall due today.
NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


def seed(*, now: datetime = NOW, **options: object) -> str:
    out = io.StringIO()
    call_command("seed_demo", now=now.isoformat(), stdout=out, verbosity=0, **options)
    return out.getvalue()
