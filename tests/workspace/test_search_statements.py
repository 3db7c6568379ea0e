"""How many statements a search costs on PostgreSQL (workspace/search.py): one statement
finds every kind's candidates; only kinds that have some are ranked. A typo's empty first
pass, or text only one kind holds, then costs one lookup instead of one per kind."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ContactFactory, LeadFactory, UserFactory
from workspace.search import search

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the trigram search runs on PostgreSQL"
    ),
]


def _statements(user, text: str) -> tuple[list[str], list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        results = search(user, text)
    sql = [query["sql"] for query in captured.captured_queries]
    lookups = [s for s in sql if '"search_kind"' in s]
    ranked = [s for s in sql if '"search_rank"' in s]
    return lookups, ranked, results


def test_text_found_nowhere_costs_one_lookup_per_pass_and_no_ranking() -> None:
    revops = UserFactory(revops=True, username="revops")
    LeadFactory(company_name="Nusantara Logistics")

    lookups, ranked, results = _statements(revops, "qqzzxxkk")

    assert len(lookups) == 2  # the containing pass, then the similar pass
    assert all("UNION ALL" in statement for statement in lookups)
    assert ranked == []
    assert results.total == 0  # type: ignore[attr-defined]


def test_only_the_kinds_with_candidates_are_ranked() -> None:
    revops = UserFactory(revops=True, username="revops")
    lead = LeadFactory(company_name="Borneo Foods", email="budi@borneo.example")

    lookups, ranked, results = _statements(revops, "budi@borneo.example")

    assert len(lookups) == 1
    assert len(ranked) == 1 and 'FROM "leads_lead"' in ranked[0]
    assert [hit.id for group in results.groups for hit in group.hits] == [lead.pk]  # type: ignore[attr-defined]


def test_a_contact_found_but_not_visible_is_not_shown_and_the_typo_pass_still_runs() -> None:
    sdr = UserFactory(sdr=True, username="sdr-a")
    ContactFactory(first_name="Kartika", last_name="Sari")  # nobody's lead or deal

    lookups, ranked, results = _statements(sdr, "Kartika Sari")

    # the contact is a candidate, but the SDR may not see it: nothing was found, so the
    # similar pass runs (and finds the same invisible contact, shown to nobody)
    assert len(lookups) == 2
    assert len(ranked) == 2
    assert results.total == 0  # type: ignore[attr-defined]
    assert results.similar is True  # type: ignore[attr-defined]
