"""Sixteen clients moving one deal at the same moment: every answer is 200, 409 or 412,
never a server error, and the stage history is exactly the moves that happened.

PostgreSQL only: SQLite has no row locks (it serialises whole writes instead).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from opportunities.models import Opportunity, Stage, StageChange
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 16


@pytest.fixture
def stages(transactional_db) -> dict[str, Stage]:
    """The default stages: a transactional test's flush empties the migration's rows."""
    import importlib

    from django.apps import apps

    importlib.import_module("opportunities.migrations.0002_default_stages").create(apps, None)
    return {stage.name: stage for stage in Stage.objects.all()}


def _race(opp: Opportunity, body_of: Callable[[int], dict[str, Any]], **headers: str) -> list:
    barrier = Barrier(CLIENTS)

    def move(index: int) -> tuple[int, Any]:
        client = APIClient()
        client.force_authenticate(opp.owner)
        try:
            barrier.wait()
            response = client.post(
                f"/api/v1/opportunities/{opp.pk}/stage/",
                body_of(index),
                format="json",
                headers=headers,
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(move, range(CLIENTS)))


def _changes(opp: Opportunity) -> list[tuple[int, int]]:
    rows = StageChange.objects.filter(opportunity=opp).order_by("changed_at", "id")
    return list(rows.values_list("from_stage", "to_stage"))


def _deal(stages: dict[str, Stage]) -> Opportunity:
    return OpportunityFactory(
        stage=stages["Discovery"],
        next_step="Demo",
        decision_criteria="Price",
        competitive_landscape="HubSpot",
    )


def test_sixteen_moves_to_one_stage_make_one_change(stages):
    opp = _deal(stages)
    results = _race(opp, lambda _i: {"stage": stages["Qualification"].pk})
    assert Counter(code for code, _body in results) == {200: CLIENTS}, results
    assert all(body["stage_name"] == "Qualification" for _code, body in results)
    changes = _changes(opp)
    assert changes == [(stages["Discovery"].pk, stages["Qualification"].pk)]
    before = opp.version
    opp.refresh_from_db()
    assert opp.stage == stages["Qualification"] and opp.version == before + 1


def test_sixteen_moves_from_one_version_let_exactly_one_through(stages):
    opp = _deal(stages)
    targets = [stages["Qualification"], stages["Present/Demo"]]
    results = _race(opp, lambda i: {"stage": targets[i % 2].pk}, if_match=f'"{opp.version}"')
    codes = Counter(code for code, _body in results)
    assert codes == {200: 1, 412: CLIENTS - 1}, results
    assert all(
        body["errors"][0]["code"] == "stale_version" for code, body in results if code == 412
    )
    winner = next(body for code, body in results if code == 200)
    changes = _changes(opp)
    assert changes == [(stages["Discovery"].pk, winner["stage"])]


def test_sixteen_moves_back_and_forth_leave_an_unbroken_history(stages):
    opp = _deal(stages)
    before = opp.version
    targets = [stages["Qualification"], stages["Discovery"]]
    results = _race(opp, lambda i: {"stage": targets[i % 2].pk})
    assert Counter(code for code, _body in results) == {200: CLIENTS}, results
    opp.refresh_from_db()
    history = list(StageChange.objects.filter(opportunity=opp).order_by("changed_at", "id"))
    # Each recorded move starts where the one before it ended, and only real moves count.
    stage_id = stages["Discovery"].pk
    for change in history:
        assert change.from_stage_id == stage_id and change.to_stage_id != stage_id
        stage_id = change.to_stage_id
    assert stage_id == opp.stage_id
    assert opp.version - before == len(history) >= 1
