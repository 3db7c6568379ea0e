"""What a conversion reads about its lead: the same answers as the gate, fewer queries.

`ConversionReads` takes the qualification from the locked lead's own row (one-to-one),
runs the gate's hand-off query compiled once per process, and takes the hand-off's two
people from the lead when they are its SDR and AE. These tests hold it to the gate's
definitions (`leads.gate.current_handoff`) for the cases where they could drift apart: a
recycled lead, a lead handed to someone else since, and leads read one after another
through the same compiled query."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leads import gate
from leads import services as lead_services
from leads.models import Lead
from opportunities.services.convert import ConversionReads, lock_lead_to_convert
from tests.factories import ConvertibleLeadFactory, HandoffFactory, UserFactory
from tests.leads.test_gate_leaks import PACKAGE, _recycle

pytestmark = pytest.mark.django_db


def _reads(lead: Lead) -> ConversionReads:
    """As the conversion reads it: the lead with its people and its qualification."""
    loaded = Lead.objects.select_related("owner", "ae", "team", "qualification").get(pk=lead.pk)
    return ConversionReads(loaded, loaded.ae)


def test_the_qualification_comes_with_the_locked_lead(django_assert_num_queries):
    lead = ConvertibleLeadFactory()

    with django_assert_num_queries(2):  # the bare row lock, then the lead with its parts
        locked = lock_lead_to_convert(lead.pk, by=lead.ae)
    reads = ConversionReads(locked, lead.ae)
    with django_assert_num_queries(0):
        qualification = reads.qualification

    assert qualification is not None and qualification.lead_id == lead.pk
    assert qualification.budget_status == "confirmed"


def test_a_lead_without_a_qualification_reads_none():
    lead = ConvertibleLeadFactory()
    lead.qualification.delete()

    assert _reads(lead).qualification is None
    assert ConversionReads(Lead.objects.get(pk=lead.pk)).qualification is None  # not preloaded


def test_the_hand_off_and_its_people_need_one_query(django_assert_num_queries):
    lead = ConvertibleLeadFactory()
    reads = _reads(lead)

    with django_assert_num_queries(1):
        handoff = reads.handoff
        names = (str(handoff.from_user), str(handoff.to_user)) if handoff else ()

    assert handoff == gate.current_handoff(lead)
    assert handoff is not None and handoff.to_user is reads.lead.ae
    assert handoff.from_user is reads.lead.owner
    assert names == (str(lead.owner), str(lead.ae))


def test_a_hand_off_to_someone_else_reads_its_people(django_assert_num_queries):
    # given a lead whose hand-off was between people who are no longer its SDR and AE
    lead = ConvertibleLeadFactory()
    handoff = lead.handoffs.get()
    Lead.objects.filter(pk=lead.pk).update(owner=UserFactory(), ae=UserFactory(ae=True))
    reads = _reads(lead)

    # then both are read in one more query, and they are the hand-off's people
    with django_assert_num_queries(2):
        read = reads.handoff
        assert read is not None
        assert (read.from_user.pk, read.to_user.pk) == (handoff.from_user_id, handoff.to_user_id)
    assert read == gate.current_handoff(lead)


def test_a_recycled_lead_has_no_hand_off_until_it_is_handed_off_again():
    lead = ConvertibleLeadFactory()
    lead = _recycle(lead, by=lead.owner)

    assert _reads(lead).handoff is None
    assert gate.current_handoff(lead) is None


def test_a_recycled_lead_reads_its_fresh_hand_off():
    lead = ConvertibleLeadFactory()
    lead = _recycle(lead, by=lead.owner)
    new_ae = UserFactory(ae=True)
    fresh = lead_services.lead_hand_off(
        lead_id=lead.pk,
        by=lead.owner,
        to_user=new_ae,
        package=PACKAGE,
        discovery_meeting_at=timezone.now() + datetime.timedelta(days=2),
    )

    reads = _reads(lead)

    assert reads.handoff == fresh == gate.current_handoff(lead)
    assert reads.handoff is not None and reads.handoff.to_user == new_ae


def test_each_lead_reads_its_own_hand_off_through_the_compiled_query():
    leads = [ConvertibleLeadFactory() for _ in range(3)]
    newer = HandoffFactory(lead=leads[1], from_user=leads[1].owner, to_user=leads[1].ae)

    read = [_reads(lead).handoff for lead in leads]

    assert read == [gate.current_handoff(lead) for lead in leads]
    assert read[1] == newer
    assert [h.lead_id for h in read if h is not None] == [lead.pk for lead in leads]
