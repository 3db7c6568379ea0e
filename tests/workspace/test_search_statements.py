"""How many statements a search costs on PostgreSQL (workspace/search.py): one statement
finds every kind's candidates; only kinds that have some are ranked. A typo's empty first
pass, or text only one kind holds, then costs one lookup instead of one per kind; the
typo pass looks the close spellings up among the name words first, and looks rows up
again only when there is a spelling to try."""

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


def _spelling_lookups(sql: list[str]) -> int:
    return sum("workspace_searchword" in s for s in sql)


def test_text_found_nowhere_and_close_to_no_word_costs_two_small_lookups() -> None:
    revops = UserFactory(revops=True, username="revops")
    LeadFactory(company_name="Nusantara Logistics")

    with CaptureQueriesContext(connection) as captured:
        results = search(revops, "qqzzxxkk")
    sql = [query["sql"] for query in captured.captured_queries]

    # the containing pass, then the spellings among the name words: none, so no more
    assert sum('"search_kind"' in s for s in sql) == 1
    assert _spelling_lookups(sql) == 1
    assert not any('"search_rank"' in s for s in sql)
    assert results.total == 0
    assert results.similar is True and results.spelt_as == []


def test_a_misspelt_name_costs_a_spelling_lookup_and_one_more_row_lookup() -> None:
    revops = UserFactory(revops=True, username="revops")
    lead = LeadFactory(company_name="Nusantara Logistics", first_name="Budi", last_name="Hartono")

    with CaptureQueriesContext(connection) as captured:
        results = search(revops, "Nusantra Logistics")
    sql = [query["sql"] for query in captured.captured_queries]

    assert _spelling_lookups(sql) == 1
    assert sum('"search_kind"' in s for s in sql) == 2
    assert results.spelt_as[0] == "nusantara logistics"
    assert [hit.id for group in results.groups for hit in group.hits] == [lead.pk]


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
    # typo pass runs; both words are names' words, so there is no other spelling to try
    assert len(lookups) == 1
    assert len(ranked) == 1
    assert results.total == 0  # type: ignore[attr-defined]
    assert results.similar is True  # type: ignore[attr-defined]
    assert results.spelt_as == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_planner_settings_cost_two_statements_and_are_put_back() -> None:
    # given: no transaction around the search (an API request: no ATOMIC_REQUESTS)
    revops = UserFactory(revops=True, username="revops")
    LeadFactory(company_name="Borneo Foods")
    assert not connection.in_atomic_block

    # when
    with CaptureQueriesContext(connection) as captured:
        results = search(revops, "Borneo")
    sql = [query["sql"] for query in captured.captured_queries]

    # then: set, lookup, rank, put back; no BEGIN, SAVEPOINT or COMMIT around them
    assert results.total == 1
    assert sum("set_config" in s for s in sql) == 2
    assert not any(s.split()[0].upper() in ("BEGIN", "SAVEPOINT", "COMMIT") for s in sql)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('jit')")
        assert cursor.fetchone()[0] == "on"
