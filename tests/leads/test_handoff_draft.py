"""The hand-off form starts from what the lead already holds (leads/handoff_draft.py):
the qualification's people, pain and evidence, and the latest activities."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.handoff_draft import handoff_draft
from leads.models import Activity, Lead
from tests.factories import ActivityFactory, LeadFactory, QualificationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():
    sdr = UserFactory(sdr=True, username="maya")
    lead = LeadFactory(
        owner=sdr,
        status=Lead.Status.SQL,
        qualified_at=timezone.now(),
        company_name="Borneo Foods",
        company_domain="borneofoods.example",
        industry="Food processing",
        employee_count=420,
        first_name="Budi",
        last_name="Santoso",
        job_title="COO",
        phone="+62 812 3456 789",
        campaign="Webinar Q3",
    )
    QualificationFactory(lead=lead, confirmed=True, need_why_now="New plant opens in May.")
    for days, subject in ((3, "Intro call"), (1, "Demo of the routing")):
        ActivityFactory(
            lead=lead,
            kind=Activity.Kind.CALL,
            subject=subject,
            body="Talked about\nslow replies.",
            occurred_at=timezone.now() - datetime.timedelta(days=days),
        )
    ActivityFactory(
        lead=lead,
        kind=Activity.Kind.TASK,
        subject="Send the case study",
        occurred_at=None,
        due_at=timezone.now() + datetime.timedelta(days=1),
    )
    return lead


def test_the_form_starts_from_the_qualification_and_the_activities(client: Client, lead) -> None:
    client.force_login(lead.owner)

    response = client.get(reverse("leads:handoff", args=[lead.pk]))

    assert response.status_code == 200
    initial = response.context["form"].initial
    assert "Borneo Foods — borneofoods.example" in initial["company_background"]
    assert "420 employees" in initial["company_background"]
    assert "Budi Santoso, COO" in initial["contacts_org_chart"]
    assert "Economic buyer: VP Sales" in initial["contacts_org_chart"]
    assert "Leads go unanswered for days." in initial["pain_points"]
    assert "Why now: New plant opens in May." in initial["pain_points"]
    assert initial["qualification_notes"].startswith("Framework: BANT\nBudget (Confirmed): CFO")
    history = initial["engagement_history"].splitlines()
    assert history[0] == "Source: Inbound / Webinar Q3"
    assert "Demo of the routing — Talked about slow replies." in history[1]  # newest first
    assert "Intro call" in history[2]
    assert len(history) == 3  # the follow-up still to do is no history yet
    assert initial["recommended_next_step"] == ""  # the SDR's call: nothing recorded says it
    assert "Borneo Foods — borneofoods.example" in response.content.decode()


def test_a_lead_without_a_qualification_gets_what_the_lead_holds(lead) -> None:
    draft = handoff_draft(lead, None, [])

    assert draft["pain_points"] == ""
    assert draft["qualification_notes"] == ""
    assert draft["contacts_org_chart"].startswith("Budi Santoso, COO")
    assert set(draft) == {
        "company_background",
        "contacts_org_chart",
        "pain_points",
        "engagement_history",
        "qualification_notes",
        "recommended_next_step",
    }


def test_a_posted_package_is_kept_not_redrafted(client: Client, lead) -> None:
    client.force_login(lead.owner)

    response = client.post(
        reverse("leads:handoff", args=[lead.pk]),
        {"version": lead.version, "pain_points": "Typed by hand", "to_user": ""},
    )

    assert response.status_code == 400
    assert response.context["form"]["pain_points"].value() == "Typed by hand"
