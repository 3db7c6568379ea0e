"""A lead event's bookkeeping keys (how a touch came in, what a merge moved) are no field
changes: the timeline's field list, which the stale-edit warning shows, leaves them out."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leads.models import LeadEvent
from leads.selectors import lead_timeline
from leads.services.merge import MOVED_ROWS
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_merge_event_lists_only_real_field_changes():
    lead = LeadFactory()
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.MERGED,
        created_at=timezone.now(),
        changes={
            "phone": [None, "+62 31 555 0101"],
            "merged_lead": [None, 11],
            "moved": [None, {"events": 2, "transitions": 1}],
            MOVED_ROWS: [None, {"events": [5, 6], "transitions": [7]}],
        },
    )
    (entry,) = [e for e in lead_timeline(lead) if e.get("kind") == LeadEvent.Kind.MERGED]
    assert [change["label"] for change in entry["changes"]] == ["Phone"]
    assert MOVED_ROWS in entry["raw_changes"]  # kept for the badges and the counts


def test_the_history_lists_no_pair_that_reads_the_same_nor_a_merges_status():
    from leads.templatetags.lead_history import field_changes

    touch = {"source": ["inbound", "inbound"], "campaign": ["X", "X"], "phone": ["", "+62 1"]}
    assert [row["label"] for row in field_changes(touch)] == ["Phone"]
    merge = {"status": ["sql", "disqualified"], "merged_into": [None, 4], "phone": ["", "+62 1"]}
    assert [row["label"] for row in field_changes(merge)] == ["Phone"]
