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


def merged_leads() -> list[int]:
    """The demo's merged pair, both sides (`demo.dedupe`): the survivor holds the
    duplicate's history and clocks, dated at the duplicate's milestones, and the duplicate
    was closed by the merge, with a note rather than one of RevOps' reasons. The lifecycle
    invariants below hold for every other lead."""
    from leads.models import Lead

    pairs = Lead.objects.filter(is_demo=True, merged_into__isnull=False)
    return [pk for pair in pairs.values_list("pk", "merged_into") for pk in pair]
