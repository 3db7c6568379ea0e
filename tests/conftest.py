"""Shared fixtures. Tests run on SQLite by default, on PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import UserFactory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Row-lock tests need PostgreSQL; on SQLite they are skipped with the reason."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locks (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def sdr(db):
    return UserFactory(sdr=True, username="sdr")


@pytest.fixture
def ae(db):
    return UserFactory(ae=True, username="ae")


@pytest.fixture
def manager(db):
    return UserFactory(manager=True, username="manager")


@pytest.fixture
def revops(db):
    return UserFactory(revops=True, username="revops")


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
