from __future__ import annotations

import pytest

from tests.demo.seeding import seed


@pytest.fixture
def seeded(db: None) -> None:
    seed(leads=600)
