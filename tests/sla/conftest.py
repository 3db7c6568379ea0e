"""Fixtures for the SLA tests: people in a team with a manager, RevOps, and leads whose
clocks were started by the lifecycle services themselves."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from crm.models import User
from leads import services as lead_services
from leads.models import Lead
from sla.models import SlaPolicy, SlaTimer
from tests.factories import TeamFactory, UserFactory

LEAD_DATA = {
    "company_name": "PT Nusantara Logistik",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "email": "budi@nusantara.example",
    "source": "inbound",
}


@pytest.fixture
def sla_defaults(transactional_db) -> None:
    """Re-create the default calendar and policies: a transactional test's flush empties
    what the data migration wrote."""
    for module in ("sla.migrations.0002_default_policies",):
        importlib.import_module(module).create(django_apps, None)


@pytest.fixture
def team(db):
    boss = UserFactory(manager=True, username="mira", first_name="Mira", last_name="Santoso")
    return TeamFactory(name="Jakarta Inbound", manager=boss)


@pytest.fixture
def boss(team) -> User:
    return team.manager


@pytest.fixture
def owner(team, boss) -> User:
    rep = UserFactory(
        sdr=True,
        username="dewi",
        first_name="Dewi",
        last_name="Lestari",
        team=team,
        time_zone="Asia/Jakarta",
    )
    return reports_to(rep, boss)


def reports_to(user: User, manager: User) -> User:
    """Set `User.manager` (the factory's `manager` keyword is the role trait)."""
    user.manager = manager
    user.save(update_fields=["manager"])
    return user


@pytest.fixture
def revops_team(db) -> list[User]:
    return [
        UserFactory(revops=True, username="rani", first_name="Rani"),
        UserFactory(revops=True, username="tono", first_name="Tono"),
    ]


@pytest.fixture
def make_lead(owner):
    """`make_lead(**data)`: a lead created through intake, assigned to `owner`, so the
    assignment clocks (first contact, accept/reject) are running."""
    counter = iter(range(1, 10_000))

    def _make(*, by: User | None = None, owner_: User | None = owner, **data) -> Lead:
        n = next(counter)
        values = {**LEAD_DATA, "email": f"person{n}@lead.example", **data}
        return lead_services.lead_create(by=by, data=values, owner=owner_)

    return _make


def timer_of(lead: Lead, key: str) -> SlaTimer:
    return SlaTimer.objects.select_related("policy").get(lead=lead, policy__key=key)


def policy(key: str) -> SlaPolicy:
    return SlaPolicy.objects.get(key=key)
