"""The demo's saved views: role defaults set by RevOps, a manager's shared team view."""

from __future__ import annotations

import pytest

from crm.saved_views import SavedView
from demo.saved_views import seed_saved_views
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_views_are_created_through_the_service():
    team = TeamFactory(name="Inbound Squad")
    users = {
        "revops": UserFactory(revops=True, username="revops"),
        "manager": UserFactory(manager=True, username="manager", team=team),
    }
    seed_saved_views(users=users)
    views = {v.name: v for v in SavedView.objects.all()}
    assert views["Overdue first"].default_for_role == "sdr"
    assert views["Closing soon"].default_for_role == "ae"
    assert views["Hot referrals"].shared and views["Hot referrals"].team == team
    assert views["Overdue clocks"].list_key == "sla_timers"
    assert views["Overdue clocks"].changes.get().action == "created"
