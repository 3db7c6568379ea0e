"""Small, hand-countable fixtures for the report tests.

Times are pinned: `NOW` is a Wednesday noon UTC; the default period is March 2026 (UTC).
Rows get their historical timestamps with `.update()` because `created_at` fields are
`auto_now_add` (set to the real now on insert)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from crm.models import Team, User
from leads.models import Lead
from opportunities.models import Opportunity, Stage, StageChange
from reports.cohorts import ReportRequest
from reports.filters import ReportFilters
from tests.factories import LeadFactory, OpportunityFactory, TeamFactory, UserFactory

UTC = datetime.UTC
NOW = datetime.datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
START = datetime.date(2026, 3, 1)
END = datetime.date(2026, 3, 31)


def at(day: int, hour: int = 12, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=UTC)


def request_for(
    user: User,
    *,
    start: datetime.date = START,
    end: datetime.date = END,
    tz: datetime.tzinfo = UTC,
    now: datetime.datetime = NOW,
    **filters: Any,
) -> ReportRequest:
    return ReportRequest(
        user=user, filters=ReportFilters(start=start, end=end, tz=tz, **filters), now=now
    )


def lead(created: datetime.datetime, **fields: Any) -> Lead:
    """A lead created at `created`; milestone fields as given (mql_at defaults to created)."""
    fields.setdefault("mql_at", created)
    obj = LeadFactory(**{k: v for k, v in fields.items() if k != "created_at"})
    Lead.objects.filter(pk=obj.pk).update(created_at=created)
    obj.refresh_from_db()
    return obj


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def opportunity(
    created: datetime.datetime,
    *,
    stage_name: str = "Discovery",
    amount: str = "1000",
    currency: str = "USD",
    closed: datetime.datetime | None = None,
    entered: datetime.datetime | None = None,
    **fields: Any,
) -> Opportunity:
    s = stage(stage_name)
    obj = OpportunityFactory(
        stage=s,
        amount=Decimal(amount),
        currency=currency,
        probability=s.default_probability,
        closed_at=closed,
        stage_entered_at=entered or closed or created,
        **fields,
    )
    Opportunity.objects.filter(pk=obj.pk).update(created_at=created)
    obj.refresh_from_db()
    return obj


def move(
    opp: Opportunity, frm: str | None, to: str, when: datetime.datetime, *, days_in: float = 0
) -> StageChange:
    return StageChange.objects.create(
        opportunity=opp,
        from_stage=stage(frm) if frm else None,
        to_stage=stage(to),
        changed_at=when,
        time_in_previous_stage=datetime.timedelta(days=days_in) if frm else None,
    )


@pytest.fixture
def team(db) -> Team:
    return TeamFactory(name="Inbound Squad")


@pytest.fixture
def boss(team: Team) -> User:
    manager = UserFactory(manager=True, username="boss")
    team.manager = manager
    team.save()
    return manager


@pytest.fixture
def rep(team: Team, boss: User) -> User:
    # `manager=` would name the factory's manager trait (the role), not the field.
    sdr = UserFactory(sdr=True, username="rep", team=team)
    sdr.manager = boss
    sdr.save(update_fields=["manager"])
    return sdr


@pytest.fixture
def outsider(db) -> User:
    other = TeamFactory(name="Far Away")
    return UserFactory(sdr=True, username="outsider", team=other)
