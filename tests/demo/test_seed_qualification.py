"""Seeded leads carry the five criteria their status implies, so each can move on."""

from __future__ import annotations

import pytest
from django.db.models import Q

from crm.models import User
from crm.placeholders import is_placeholder
from leads import gate, services
from leads.models import CriterionStatus, Lead, LeadStatus, Qualification

CONFIRMED, IN_PROGRESS = CriterionStatus.CONFIRMED, CriterionStatus.IN_PROGRESS
FIRST_THREE = ("need", "budget", "authority")


def demo_leads() -> list[Lead]:
    return list(
        Lead.objects.filter(is_demo=True)
        .select_related("qualification", "opportunity")
        .prefetch_related("handoffs")
    )


def test_every_lead_has_its_qualification_record(seeded: None) -> None:
    # Intake makes one for every lead: the criteria panel is there to fill in.
    assert Lead.objects.filter(is_demo=True, qualification__isnull=True).count() == 0


def test_no_evidence_is_a_placeholder_and_confirmed_criteria_have_some(seeded: None) -> None:
    for q in Qualification.objects.filter(lead__is_demo=True):
        for criterion in Qualification.CRITERIA:
            evidence = getattr(q, f"{criterion}_evidence")
            if q.criterion_status(criterion) == CONFIRMED:
                assert q.is_confirmed(criterion), (q.lead_id, criterion, evidence)
            assert not evidence or not is_placeholder(evidence), evidence


def test_criteria_go_as_far_as_the_lead_did(seeded: None) -> None:
    seen: set[str] = set()
    for lead in demo_leads():
        q = lead.qualification
        confirmed = {c for c in Qualification.CRITERIA if q.is_confirmed(c)}
        seen.add(lead.status)
        if lead.status == LeadStatus.CONVERTED:
            waived = {"timeline"} if lead.opportunity.is_override else set()
            assert confirmed == set(Qualification.CRITERIA) - waived, lead.pk
        elif lead.qualified_at is not None:  # SQL, or left the flow after it
            assert set(FIRST_THREE) <= confirmed, lead.pk
            held = any(h.discovery_held_at for h in lead.handoffs.all())
            assert (confirmed == set(Qualification.CRITERIA)) or not held, lead.pk
        elif lead.accepted_at is not None:  # SAL, or left the flow from it
            worked_on = {c for c in FIRST_THREE if q.criterion_status(c) != "unknown"}
            assert worked_on, lead.pk
        else:
            assert not confirmed, lead.pk
    assert {LeadStatus.SAL, LeadStatus.SQL, LeadStatus.CONVERTED} <= seen


def test_sal_leads_are_partway_and_some_are_ready_to_qualify(seeded: None) -> None:
    sal = [lead for lead in demo_leads() if lead.status == LeadStatus.SAL]
    counts = [lead.qualification.confirmed_count for lead in sal]

    assert sal
    assert max(counts) < 5
    assert any(
        lead.qualification.criterion_status(c) == IN_PROGRESS
        for lead in sal
        for c in Qualification.CRITERIA
    )


def test_an_sql_lead_after_discovery_meets_the_lead_side_of_the_gate(seeded: None) -> None:
    ready = [
        lead
        for lead in demo_leads()
        if lead.status == LeadStatus.SQL and any(h.discovery_held_at for h in lead.handoffs.all())
    ]
    others = Lead.objects.filter(is_demo=True, status=LeadStatus.SQL).exclude(
        pk__in=[lead.pk for lead in ready]
    )

    for lead in ready:
        assert gate.conversion_problems(lead, lead.qualification) == []
    for lead in others.select_related("qualification"):  # need, budget, authority hold
        criteria = [p for p in gate.sql_problems(lead, lead.qualification) if p.field != "status"]
        assert criteria == [], lead.pk


def test_a_seeded_sal_lead_moves_to_sql_through_the_services(seeded: None) -> None:
    # given an open SAL lead with criteria still to confirm
    lead = (
        Lead.objects.filter(is_demo=True, status=LeadStatus.SAL)
        .exclude(
            Q(qualification__need_status=CONFIRMED) & Q(qualification__budget_status=CONFIRMED)
        )
        .select_related("owner")
        .first()
    )
    assert lead is not None and lead.owner is not None
    problems = gate.sql_problems(lead, lead.qualification)
    assert problems

    # when its SDR confirms what is missing and qualifies it
    missing = {p.field.removesuffix("_status") for p in problems if p.field}
    data = {}
    for criterion in missing & set(FIRST_THREE):
        data[f"{criterion}_status"] = CONFIRMED
        data[f"{criterion}_evidence"] = "Confirmed with the CFO on the follow-up call."
    services.qualification_update(lead_id=lead.pk, by=lead.owner, data=data)
    services.lead_qualify(lead_id=lead.pk, by=lead.owner)

    # then it is an SQL
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SQL


@pytest.mark.parametrize("username", ["sdr", "sdr4", "sdr6"])
def test_every_sdr_has_open_leads_at_each_early_stage(seeded: None, username: str) -> None:
    owner = User.objects.get(username=username)
    statuses = set(
        Lead.objects.filter(owner=owner, status__in=Lead.OPEN_STATUSES).values_list(
            "status", flat=True
        )
    )

    assert {LeadStatus.MQL, LeadStatus.SAL} <= statuses
