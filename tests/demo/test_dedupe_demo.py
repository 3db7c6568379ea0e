"""The demo's duplicates (`demo.dedupe.seed_dedupe`) on a handful of demo leads."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from demo.dedupe import seed_dedupe
from leads.duplicates import find_duplicates
from leads.models import Lead, LeadAddress, LeadEvent
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_seed_dedupe_makes_touches_a_pair_to_merge_and_a_returning_person():
    manager = UserFactory(manager=True, username="manager")
    team = TeamFactory(name="Inbound Squad", manager=manager)
    sdr = UserFactory(sdr=True, team=team)
    old = LeadFactory(
        status=Lead.Status.DISQUALIFIED,
        is_demo=True,
        disqualified_at=timezone.now() - datetime.timedelta(days=30),
    )
    live = LeadFactory.create_batch(10, owner=sdr, team=team, is_demo=True, phone="")

    made = seed_dedupe(now=timezone.now())

    assert len(made.touched) == 4
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.TOUCH).count() == 4
    assert made.merge_pair is not None
    original, twin = (Lead.objects.get(pk=pk) for pk in made.merge_pair)
    assert original in live and twin in live
    assert Lead.objects.count() == 11  # nothing added: the pair is made of two demo leads
    assert original in find_duplicates(
        {
            "first_name": twin.first_name,
            "last_name": twin.last_name,
            "company_name": twin.company_name,
        }
    )
    # one pair merged already, through the service, keeping the duplicate's address
    assert made.merged is not None
    survivor, gone = (Lead.objects.get(pk=pk) for pk in made.merged)
    assert gone.merged_into == survivor and survivor.merged_into is None
    assert survivor.email == gone.email
    assert list(LeadAddress.objects.values_list("lead", flat=True)) == [survivor.pk]
    assert LeadEvent.objects.filter(lead=survivor, kind=LeadEvent.Kind.MERGED).exists()
    assert made.returning is not None
    newer = Lead.objects.get(pk=made.returning[1])
    assert (newer.previous_lead, newer.is_demo, newer.email) == (old, True, old.email)
