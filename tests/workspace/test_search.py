"""The global search (workspace/search.py): what it finds, grouped by kind; what each role
may find; typo tolerance on PostgreSQL; the page, the palette's JSON and the API."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import User
from leads.models import Lead
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContactRoleFactory,
    LeadFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)
from workspace.search import CANDIDATES, SEARCH_INDEXES, search
from workspace.search_query import Shape, parse

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram search needs PostgreSQL (pg_trgm)"
)


def titles(results, kind: str) -> list[str]:
    return [hit.title for group in results.groups if group.kind == kind for hit in group.hits]


@pytest.fixture
def teams():
    """Two teams, each with a manager, an SDR and an AE; and RevOps."""
    people = {}
    for name in ("north", "south"):
        manager = UserFactory(manager=True, username=f"{name}-manager")
        team = TeamFactory(name=name.title(), manager=manager)
        # (not `manager=`: that is the factory's trait for the role)
        people[name] = {
            "team": team,
            "manager": manager,
            "sdr": UserFactory(sdr=True, username=f"{name}-sdr", team=team),
            "ae": UserFactory(ae=True, username=f"{name}-ae", team=team),
        }
    people["revops"] = UserFactory(revops=True, username="revops")
    return people


def lead_of(sdr: User, **fields) -> Lead:
    return LeadFactory(owner=sdr, team=sdr.team, **fields)


# --- what it finds, and how it shows it ---------------------------------------------------------


def test_results_come_grouped_by_kind_in_a_fixed_order(teams) -> None:
    revops = teams["revops"]
    account = AccountFactory(name="Kalimantan Timber", domain="kaltimber.example")
    deal = OpportunityFactory(name="Kalimantan Timber - Routing - Inbound", account=account)
    ContactFactory(first_name="Kalimantan", last_name="Wibowo", account=account)
    lead_of(teams["north"]["sdr"], company_name="Kalimantan Timber", last_name="Halim")

    results = search(revops, "kalimantan")

    assert [group.kind for group in results.groups] == [
        "lead",
        "opportunity",
        "account",
        "contact",
    ]
    assert titles(results, "lead") == ["Kalimantan Timber"]
    assert titles(results, "opportunity") == [deal.name]
    assert titles(results, "account") == ["Kalimantan Timber"]
    assert titles(results, "contact") == ["Kalimantan Wibowo"]
    lead_hit = results.groups[0].hits[0]
    assert lead_hit.url == reverse("leads:detail", args=[lead_hit.id])
    assert lead_hit.badge == "MQL"
    assert results.groups[1].hits[0].url == reverse("opportunities:detail", args=[deal.pk])


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ("Budi Santoso", Shape.WORDS),
        ("budi@borneo.example", Shape.EMAIL),
        ("borneo.example", Shape.DOMAIN),
        ("+62 812-3456-789", Shape.PHONE),
        ("0812 3456 789", Shape.PHONE),
    ],
)
def test_each_shape_of_query_finds_the_lead(teams, query: str, shape: Shape) -> None:
    lead_of(
        teams["north"]["sdr"],
        company_name="Borneo Foods",
        company_domain="borneo.example",
        first_name="Budi",
        last_name="Santoso",
        email="budi@borneo.example",
        phone="+62 812 3456 789",
    )
    lead_of(teams["north"]["sdr"], company_name="Other Co", email="x@other.example")

    results = search(teams["revops"], query)

    assert parse(query).shape == shape
    assert titles(results, "lead") == ["Borneo Foods"]


def test_a_query_shorter_than_three_letters_runs_no_query(teams, django_assert_num_queries):
    lead_of(teams["north"]["sdr"], company_name="PT Abadi")

    with django_assert_num_queries(0):
        results = search(teams["revops"], "pt")

    assert results.total == 0
    assert [group.hits for group in results.groups] == [[], [], [], []]


def test_more_matches_than_the_limit_are_flagged_and_the_newest_come_first(teams) -> None:
    sdr = teams["north"]["sdr"]
    leads = [lead_of(sdr, company_name=f"Sumatra Coffee {n}") for n in range(4)]

    results = search(teams["revops"], "sumatra coffee", limit=3)

    group = results.groups[0]
    assert group.more is True
    assert [hit.id for hit in group.hits] == [lead.pk for lead in reversed(leads)][:3]


def test_the_query_count_does_not_grow_with_the_rows_found(teams) -> None:
    sdr = teams["north"]["sdr"]
    for n in range(3):
        lead_of(sdr, company_name=f"Java Steel {n}")
        OpportunityFactory(name=f"Java Steel {n} - Routing", owner=teams["north"]["ae"])

    with CaptureQueriesContext(connection) as few:
        search(teams["north"]["manager"], "java steel")
    for n in range(3, 12):
        lead_of(sdr, company_name=f"Java Steel {n}")
        OpportunityFactory(name=f"Java Steel {n} - Routing", owner=teams["north"]["ae"])
    with CaptureQueriesContext(connection) as many:
        search(teams["north"]["manager"], "java steel")

    assert len(many) == len(few)


@pytest.mark.parametrize("raw", ["\x00abc", "a" * 500, "%%%___", "\\\\\\", "'; drop table --"])
def test_odd_input_is_searched_not_an_error(teams, raw: str) -> None:
    results = search(teams["revops"], raw)

    assert len(results.query) <= 100
    assert "\x00" not in results.query


def test_like_wildcards_are_taken_literally(teams) -> None:
    lead_of(teams["north"]["sdr"], company_name="Anything at all")

    assert search(teams["revops"], "%%%").total == 0
    assert search(teams["revops"], "___").total == 0


# --- who finds what -----------------------------------------------------------------------------


def test_an_sdr_never_finds_another_teams_lead(teams) -> None:
    north, south = teams["north"], teams["south"]
    lead_of(north["sdr"], company_name="Lombok Pearl North")
    lead_of(south["sdr"], company_name="Lombok Pearl South")

    assert titles(search(north["sdr"], "lombok pearl"), "lead") == ["Lombok Pearl North"]
    assert titles(search(south["sdr"], "lombok pearl"), "lead") == ["Lombok Pearl South"]


def test_an_sdr_reads_the_teams_leads_only_when_the_team_allows_it(teams) -> None:
    north = teams["north"]
    colleague = UserFactory(sdr=True, username="north-sdr-2", team=north["team"])
    lead_of(colleague, company_name="Flores Tuna")

    assert titles(search(north["sdr"], "flores tuna"), "lead") == []
    north["team"].sdrs_see_team_leads = True
    north["team"].save()
    north["sdr"].refresh_from_db()
    assert titles(search(north["sdr"], "flores tuna"), "lead") == ["Flores Tuna"]


def test_managers_find_their_teams_records_and_revops_finds_all(teams) -> None:
    north, south = teams["north"], teams["south"]
    lead_of(north["sdr"], company_name="Bali Surf North")
    lead_of(south["sdr"], company_name="Bali Surf South")
    OpportunityFactory(name="Bali Surf North - Deal", owner=north["ae"])
    OpportunityFactory(name="Bali Surf South - Deal", owner=south["ae"])

    manager = search(north["manager"], "bali surf")
    revops = search(teams["revops"], "bali surf")

    assert titles(manager, "lead") == ["Bali Surf North"]
    assert titles(manager, "opportunity") == ["Bali Surf North - Deal"]
    assert sorted(titles(revops, "lead")) == ["Bali Surf North", "Bali Surf South"]
    assert len(titles(revops, "opportunity")) == 2


def test_an_ae_finds_own_deals_and_leads_handed_to_them(teams) -> None:
    north = teams["north"]
    lead_of(north["sdr"], company_name="Sulawesi Nickel Handed", ae=north["ae"])
    lead_of(north["sdr"], company_name="Sulawesi Nickel Kept")
    OpportunityFactory(name="Sulawesi Nickel - Mine", owner=north["ae"])
    OpportunityFactory(name="Sulawesi Nickel - Theirs", owner=teams["south"]["ae"])

    results = search(north["ae"], "sulawesi nickel")

    assert titles(results, "lead") == ["Sulawesi Nickel Handed"]
    assert titles(results, "opportunity") == ["Sulawesi Nickel - Mine"]


def test_accounts_and_contacts_are_found_through_the_records_one_may_see(teams) -> None:
    north, south = teams["north"], teams["south"]
    mine = AccountFactory(name="Papua Gold Mine")
    theirs = AccountFactory(name="Papua Gold Theirs")
    deal = OpportunityFactory(account=mine, owner=north["ae"], name="PG - Deal")
    OpportunityFactory(account=theirs, owner=south["ae"], name="PGT - Deal")
    ContactFactory(first_name="Papua", last_name="Nobody", account=None)
    role_person = ContactFactory(first_name="Papua", last_name="Role", account=mine)
    ContactRoleFactory(opportunity=deal, contact=role_person)
    deal.primary_contact.first_name = "Papua"
    deal.primary_contact.save()

    ae = search(north["ae"], "papua")
    revops = search(teams["revops"], "papua")

    assert titles(ae, "account") == ["Papua Gold Mine"]
    assert sorted(titles(ae, "contact")) == sorted([deal.primary_contact.full_name, "Papua Role"])
    assert len(titles(revops, "account")) == 2
    assert "Papua Nobody" in titles(revops, "contact")


def test_an_account_links_to_its_deals_and_a_contact_to_its_record(teams) -> None:
    north = teams["north"]
    account = AccountFactory(name="Maluku Spice")
    deal = OpportunityFactory(account=account, owner=north["ae"], name="MS - Deal")

    results = search(north["ae"], "maluku spice")

    account_hit = next(g for g in results.groups if g.kind == "account").hits[0]
    assert account_hit.url.startswith(reverse("opportunities:list"))
    assert "state=all" in account_hit.url
    contact_hit = next(
        g for g in search(north["ae"], deal.primary_contact.email).groups if g.kind == "contact"
    ).hits[0]
    assert contact_hit.url == reverse("opportunities:detail", args=[deal.pk])


# --- typo tolerance (PostgreSQL) ----------------------------------------------------------------


@postgres_only
def test_a_misspelt_name_finds_the_close_match(teams) -> None:
    lead_of(teams["north"]["sdr"], company_name="Nusantara Logistics")
    lead_of(teams["north"]["sdr"], company_name="Completely Different")

    results = search(teams["revops"], "Nusantra")

    assert results.fuzzy is True
    assert results.similar is True
    assert titles(results, "lead") == ["Nusantara Logistics"]


@postgres_only
def test_close_matches_are_only_added_when_nothing_contains_the_text(teams) -> None:
    sdr = teams["north"]["sdr"]
    lead_of(sdr, company_name="Nusantara Logistics")
    lead_of(sdr, company_name="Nusantra Typo Inc")

    results = search(teams["revops"], "nusantra", limit=1)

    assert results.similar is False
    assert titles(results, "lead") == ["Nusantra Typo Inc"]


@postgres_only
def test_the_migration_and_the_selector_name_the_same_indexes_and_they_exist() -> None:
    migration = importlib.import_module("workspace.migrations.0001_search_indexes")
    assert [(i.name, i.table, i.expression) for i in SEARCH_INDEXES] == migration.INDEXES
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'search\\_%%\\_trgm'")
        existing = {row[0] for row in cursor.fetchall()}
    assert existing == {index.name for index in SEARCH_INDEXES}


@postgres_only
def test_the_lead_search_is_served_by_the_trigram_indexes(teams) -> None:
    lead_of(teams["north"]["sdr"], company_name="Index Probe")

    with CaptureQueriesContext(connection) as captured:
        search(teams["revops"], "index probe")
    lead_sql = next(q["sql"] for q in captured if 'FROM "leads_lead"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {lead_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "search_lead_company_trgm" in plan
    assert "search_lead_person_trgm" in plan


def test_candidates_are_capped() -> None:
    assert CANDIDATES >= 50  # enough to rank; the bench holds the cost (bench/search.py)


# --- the page, the palette and the API ----------------------------------------------------------


def test_the_search_page_shows_the_groups_and_works_without_javascript(client: Client, teams):
    lead_of(teams["north"]["sdr"], company_name="Halmahera Pearls")
    client.force_login(teams["north"]["sdr"])

    response = client.get(reverse("search"), {"q": "halmahera"})

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="search-group-lead"' in body
    assert "Halmahera Pearls" in body
    assert client.get(reverse("search"), {"q": "zzzqqq"}).status_code == 200


def test_the_palette_answers_records_and_the_commands_one_may_run(client: Client, teams):
    lead_of(teams["north"]["sdr"], company_name="Ternate Cloves")
    client.force_login(teams["north"]["sdr"])

    body = client.get(reverse("search-palette"), {"q": "ternate"}).json()
    empty = client.get(reverse("search-palette"), {"q": ""}).json()

    assert body["groups"][0]["results"][0]["title"] == "Ternate Cloves"
    assert body["search_url"] == "/search/?q=ternate"
    ids = {command["id"] for command in empty["commands"]}
    assert {"lead-new", "go-leads:list", "go-opportunities:board", "theme-dark"} <= ids
    # An SDR has no settings to go to: the sidebar's own rules.
    assert "go-settings" not in ids
    client.force_login(teams["north"]["manager"])
    manager = client.get(reverse("search-palette"), {"q": ""}).json()["commands"]
    assert "go-settings" in {command["id"] for command in manager}
    assert {
        c["id"] for c in client.get(reverse("search-palette"), {"q": "theme"}).json()["commands"]
    } == {
        "theme-dark",
        "theme-light",
        "theme-system",
    }


def test_search_pages_need_a_sign_in(client: Client) -> None:
    assert client.get(reverse("search"), {"q": "abc"}).status_code == 302
    assert client.get(reverse("search-palette"), {"q": "abc"}).status_code == 302
    assert client.get("/api/v1/search/", {"q": "abc"}).status_code in (401, 403)


def test_the_api_returns_the_same_grouped_results(client: Client, teams) -> None:
    lead_of(teams["north"]["sdr"], company_name="Banda Nutmeg")
    lead_of(teams["south"]["sdr"], company_name="Banda Nutmeg South")
    client.force_login(teams["north"]["sdr"])

    response = client.get("/api/v1/search/", {"q": "banda nutmeg", "limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert [g["kind"] for g in body["groups"]] == ["lead", "opportunity", "account", "contact"]
    assert [hit["title"] for hit in body["groups"][0]["results"]] == ["Banda Nutmeg"]
    assert body["shape"] == "words"
    assert set(body["groups"][0]["results"][0]) == {
        "kind",
        "id",
        "title",
        "subtitle",
        "badge",
        "url",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "abc", "limit": 0}, "limit"),
        ({"q": "abc", "limit": "x"}, "limit"),
    ],
)
def test_the_api_names_the_field_of_a_bad_request(client: Client, teams, params, field) -> None:
    client.force_login(teams["north"]["sdr"])

    response = client.get("/api/v1/search/", params)

    assert response.status_code == 400
    assert field in {error["field"] for error in response.json()["errors"]}
