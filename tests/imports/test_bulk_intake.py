"""The set-based bulk intake writes what `lead_intake` writes, lead for lead: status and
dates, the qualification, the history (events, transitions), the owner the routing rules
give in turn, and the SLA clocks; and it finds a person's live lead the same way."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from crm.models import User
from leads import services
from leads.models import Lead, LeadEvent, LeadTransition, Qualification, RoutingRule
from leads.services.bulk_intake import Assignment, leads_bulk_intake
from leads.services.bulk_rows import BulkRow
from sla.models import SlaTimer
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = {"company_name": "PT Nusantara", "last_name": "Wijaya", "source": "inbound"}


def _data(n: int, **fields: Any) -> dict[str, Any]:
    return {**BASE, "first_name": f"Budi{n}", "email": f"p{n}@nusantara.example", **fields}


def _shape(lead: Lead) -> dict[str, Any]:
    """What a lead's intake wrote, without its ids and instants."""
    return {
        "status": lead.status,
        "owner": lead.owner_id,
        "team": lead.team_id,
        "version": lead.version,
        "assigned": lead.assigned_at is not None,
        "mql_at_creation": abs(lead.mql_at - lead.created_at) < datetime.timedelta(seconds=1),
        "qualification": Qualification.objects.filter(lead=lead).count(),
        "events": sorted(
            (e.kind, e.actor_id, e.note, tuple(e.changes))
            for e in LeadEvent.objects.filter(lead=lead)
        ),
        "transitions": sorted(
            (t.from_status, t.to_status, t.actor_id, t.reason)
            for t in LeadTransition.objects.filter(lead=lead)
        ),
        "timers": sorted(
            (t.policy.key, t.responsible_id is not None, t.stopped_at is not None, t.met)
            for t in SlaTimer.objects.filter(lead=lead).select_related("policy")
        ),
    }


@pytest.fixture
def routing() -> dict[str, Any]:
    east = TeamFactory(name="East")
    west = TeamFactory(name="West")
    people = {
        "east": [UserFactory(sdr=True, team=east) for _ in range(2)],
        "west": [UserFactory(sdr=True, team=west) for _ in range(3)],
    }
    RoutingRule.objects.create(
        name="Events east", team=east, strategy="round_robin", match_source="event", position=0
    )
    RoutingRule.objects.create(
        name="Indonesia west", team=west, strategy="territory", match_country="ID", position=1
    )
    return people


def test_bulk_writes_what_lead_intake_writes_and_routes_in_the_same_turn(routing, revops):
    rows = [
        _data(1, source="event"),
        _data(2, country="ID"),
        _data(3),
        _data(4, source="event"),
        _data(5, country="ID"),
        _data(6, country="ID"),
    ]
    # given: the per-lead path takes the rows one by one
    one_by_one = [services.lead_intake(by=revops, data=dict(r), via="import").lead for r in rows]
    expected = [_shape(lead) for lead in one_by_one]
    # when: the pointers are back where they were and the bulk path takes the same rows
    Lead.objects.all().delete()
    RoutingRule.objects.update(last_assigned=None)
    from leads.models import RoutingFallback

    RoutingFallback.objects.update(last_assigned=None)
    result = leads_bulk_intake(
        rows=[BulkRow(data=dict(r, email=r["email"].replace("p", "q", 1))) for r in rows],
        by=revops,
    )
    # then
    assert [o.outcome for o in result.outcomes] == ["created"] * 6
    bulk = [Lead.objects.get(pk=o.lead_id) for o in result.outcomes]
    assert [_shape(lead) for lead in bulk] == expected
    assert sum(result.owners.values()) == 6


def test_historical_date_dates_the_lead_but_not_the_clocks(routing):
    then = timezone.now() - datetime.timedelta(days=400)
    result = leads_bulk_intake(rows=[BulkRow(data=_data(1), at=then)], by=None)
    lead = Lead.objects.get(pk=result.outcomes[0].lead_id)
    assert lead.created_at == then and lead.mql_at == then
    assert LeadTransition.objects.get(lead=lead).created_at == then
    assert LeadEvent.objects.get(lead=lead, kind="created").created_at == then
    assigned = LeadEvent.objects.get(lead=lead, kind="assigned").created_at
    assert assigned > then + datetime.timedelta(days=399)
    assert all(t.started_at == assigned for t in SlaTimer.objects.filter(lead=lead))


def test_a_person_with_a_live_lead_is_not_created_again(routing):
    live = LeadFactory(email="Ana@Example.com", status=Lead.Status.NURTURE)
    closed = LeadFactory(email="ben@example.com", status=Lead.Status.DISQUALIFIED)
    result = leads_bulk_intake(
        rows=[
            BulkRow(data=_data(1, email=" ana@example.COM")),
            BulkRow(data=_data(2, email="ben@example.com")),
            BulkRow(data=_data(3, email="ben@example.com", phone="+62 1")),
        ],
        by=None,
        on_duplicate="fill",
    )
    outcomes = [(o.outcome, o.lead_id) for o in result.outcomes]
    assert outcomes[0] == ("skipped", live.pk)  # nothing blank on the lead to fill
    new_id = outcomes[1][1]
    assert outcomes[1][0] == "created" and new_id not in (live.pk, closed.pk)
    assert outcomes[2] == ("updated", new_id)  # the batch's second row feeds the first's lead
    new = Lead.objects.get(pk=new_id)
    assert new.previous_lead_id == closed.pk and new.phone == "+62 1"


@pytest.mark.parametrize(
    ("mode", "phone", "job_title", "outcome"),
    [
        ("skip", "", "", "skipped"),
        ("fill", "+62 2", "CEO", "updated"),
        ("overwrite", "+62 2", "CTO", "updated"),
    ],
)
def test_on_duplicate(routing, revops, mode, phone, job_title, outcome):
    lead = LeadFactory(email="ana@example.com", phone="", job_title="CEO")
    version = lead.version
    result = leads_bulk_intake(
        rows=[BulkRow(data=_data(1, email="ana@example.com", phone="+62 2", job_title="CTO"))],
        by=revops,
        on_duplicate=mode,
    )
    assert (result.outcomes[0].outcome, result.outcomes[0].lead_id) == (outcome, lead.pk)
    lead.refresh_from_db()
    assert (lead.phone, lead.job_title or "") == (phone or "", job_title or "CEO")
    if outcome == "updated":
        event = LeadEvent.objects.get(lead=lead, kind="edited")
        assert event.changes["phone"] == ["", "+62 2"]
        assert lead.version == version + 1


@pytest.mark.parametrize("mode", ["fill", "overwrite"])
def test_a_placeholder_never_replaces_a_value_and_is_filled_like_a_blank(routing, revops, mode):
    """An export's "N/A" is no answer: it does not wipe the lead's title, even when the
    importer chose to overwrite; the lead's own "TBD" is filled as a blank would be."""
    lead = LeadFactory(email="ana@example.com", job_title="CFO", industry="TBD")
    result = leads_bulk_intake(
        rows=[BulkRow(data=_data(1, email="ana@example.com", job_title="N/A", industry="Retail"))],
        by=revops,
        on_duplicate=mode,
    )
    assert result.outcomes[0].outcome == "updated"
    lead.refresh_from_db()
    assert (lead.job_title, lead.industry) == ("CFO", "Retail")
    changes = LeadEvent.objects.get(lead=lead, kind="edited").changes
    assert "job_title" not in changes and changes["industry"] == ["TBD", "Retail"]


def test_a_lead_the_importer_may_not_change_is_a_failed_row(routing, sdr):
    lead = LeadFactory(email="ana@example.com", phone="")
    result = leads_bulk_intake(
        rows=[BulkRow(data=_data(1, email="ana@example.com", phone="+62"))],
        by=sdr,
        on_duplicate="fill",
        may_update=lambda found: found.owner_id == sdr.pk,
    )
    assert result.outcomes[0].outcome == "failed"
    assert result.outcomes[0].problems[0].code == "not_yours"
    lead.refresh_from_db()
    assert lead.phone == ""


def test_invalid_rows_fail_with_the_api_codes_and_the_rest_go_in(routing):
    result = leads_bulk_intake(
        rows=[
            BulkRow(data={"company_name": "", "last_name": "X", "source": "inbound"}),
            BulkRow(data=_data(1, email="not-an-address")),
            BulkRow(data=_data(2, job_title="x" * 200)),
            BulkRow(data=_data(3)),
        ],
        by=None,
    )
    codes = [[p.code for p in o.problems] for o in result.outcomes]
    assert codes[0] == ["required", "contact_unreachable"]
    assert codes[1] == ["invalid"]
    assert codes[2] == ["max_length"]
    assert result.outcomes[3].outcome == "created"


def test_imported_statuses_and_their_clocks(routing):
    rows = [
        BulkRow(data=_data(1), status="sal", status_label="Working - Contacted"),
        BulkRow(data=_data(2), status="nurture"),
        BulkRow(data=_data(3), status="disqualified", status_label="Closed - Not Converted"),
    ]
    sal, nurture, dq = (
        Lead.objects.get(pk=o.lead_id) for o in leads_bulk_intake(rows=rows, by=None).outcomes
    )
    assert sal.status == "sal" and sal.accepted_at is not None
    timers = {t.policy.key: t for t in SlaTimer.objects.filter(lead=sal).select_related("policy")}
    assert timers["accept-reject"].met is True and timers["first-contact"].stopped_at is None
    assert nurture.status == "nurture" and not SlaTimer.objects.filter(lead=nurture).exists()
    assert dq.status == "disqualified" and "Closed - Not Converted" in dq.disqualification_note


def test_default_owner_and_team(routing, revops):
    east = routing["east"]
    owner = routing["west"][0]
    first = leads_bulk_intake(
        rows=[BulkRow(data=_data(1))], by=revops, assignment=Assignment(owner=owner)
    )
    assert Lead.objects.get(pk=first.outcomes[0].lead_id).owner == owner
    team = Assignment(team=east[0].team)
    result = leads_bulk_intake(rows=[BulkRow(data=_data(n)) for n in (2, 3, 4)], by=revops,
                               assignment=team)  # fmt: skip
    owners = [Lead.objects.get(pk=o.lead_id).owner for o in result.outcomes]
    assert owners == [east[0], east[1], east[0]]


def test_no_sdr_leaves_the_routing_clock_running(revops):
    User.objects.filter(role="sdr").update(is_active=False)
    result = leads_bulk_intake(rows=[BulkRow(data=_data(1))], by=revops)
    lead = Lead.objects.get(pk=result.outcomes[0].lead_id)
    assert lead.owner is None
    (timer,) = SlaTimer.objects.filter(lead=lead)
    assert timer.policy.key == "route-mql" and timer.stopped_at is None


def test_dry_run_writes_nothing(routing):
    result = leads_bulk_intake(rows=[BulkRow(data=_data(1))], by=None, dry_run=True)
    assert result.outcomes[0].outcome == "created"
    assert not Lead.objects.exists()
