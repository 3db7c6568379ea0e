"""What keeps the board fast without changing it (issue 13, a board that stays fast): the
cards built in Python are the template's to the byte, the totals kept by the database's
triggers are the sums of the deals through every kind of write, and the page runs a fixed,
small number of statements."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from opportunities import board
from opportunities.models import Opportunity, Stage
from opportunities.views.board_cards import cards_html
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the kept totals are PostgreSQL's triggers"
)


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _active_stages() -> list[Stage]:
    return list(Stage.objects.filter(is_active=True).order_by("position"))


# --- the cards ---------------------------------------------------------------------------------


def _every_kind_of_card(owner) -> list[Opportunity]:
    rot = _stage("Discovery").rot_days or 30
    long_ago = timezone.now() - datetime.timedelta(days=rot + 5)
    OpportunityFactory(owner=owner, name='Tom & Jerry\'s "Big" <deal>', amount=Decimal("12.5"))
    OpportunityFactory(owner=owner, approval="pending", amount=Decimal("900000"))
    OpportunityFactory(owner=owner, approval="rejected", currency="IDR")
    OpportunityFactory(owner=owner, is_override=True, currency="EUR")
    OpportunityFactory(owner=owner, stage_entered_at=long_ago, approval="approved")
    OpportunityFactory(owner=owner, stage=_stage("Closed Won"), stage_entered_at=long_ago)
    first = board.first_cards(board.board_for(owner), per_column=20, pending_limit=20)
    cards = [card for page in first.pages.values() for card in page.rows]
    return cards + [card for column in first.pending.values() for card in column]


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("can_drag", [True, False])
def test_the_board_builds_each_card_as_the_card_template_renders_it(language, can_drag):
    # given a deal of every kind a card shows differently, with an owner who has a name
    owner = UserFactory(ae=True, username="ayu", first_name="Ayu", last_name="O'Neil")
    with translation.override(language):
        cards = _every_kind_of_card(owner)
        assert len(cards) == 6

        # when
        built = cards_html(cards, can_drag=can_drag, indent="    ")

        # then
        rendered = "".join(
            "\n      "
            + render_to_string(
                "opportunities/_deal_card.html", {"opportunity": card, "can_drag": can_drag}
            )
            + "\n    "
            for card in cards
        )
    assert built == rendered
    assert built.count("flag-pending") == built.count("is-pending-approval") == 1
    for flag in ("flag-stale", "flag-rejected", "flag-override"):
        assert built.count(f'class="flag {flag}"') == 1
    assert "&lt;deal&gt;" in built and "<deal>" not in built


def test_the_board_page_shows_the_built_cards(client, ae):
    _every_kind_of_card(ae)
    client.force_login(ae)

    response = client.get(reverse("opportunities:board"))

    html = response.content.decode()
    for column in response.context["columns"]:
        assert str(column["cards_html"]) in html
        assert str(column["pending_html"]) in html
    assert html.count('data-testid="deal-card"') == 6
    assert html.count("data-draggable") == 5


# --- the totals --------------------------------------------------------------------------------


def _both_totals(user, filters: board.BoardFilters | None = None):
    scope = board.board_for(user, filters)
    kept = [tuple(row) for row in board._kept_totals(scope)]
    summed = [tuple(row) for row in board._summed_totals(scope.deals)]
    return kept, summed


@pytest.fixture
def west():
    """A manager with a team member and a direct report, and another team's rep."""
    manager = UserFactory(manager=True, username="west-lead")
    team = TeamFactory(name="West", manager=manager)
    member = UserFactory(ae=True, username="west-ae", team=team)
    report = UserFactory(ae=True, username="report")
    report.manager = manager
    report.save()
    stranger = UserFactory(ae=True, username="north-ae", team=TeamFactory(name="North"))
    return {"manager": manager, "team": team, "member": member, "report": report,
            "stranger": stranger}  # fmt: skip


@on_postgres
def test_the_kept_totals_are_the_sums_of_the_deals_through_every_kind_of_write(west):
    member, report = west["member"], west["report"]
    march = datetime.date(2031, 3, 14)
    deals = [
        OpportunityFactory(owner=member, amount=Decimal("1000.10")),
        OpportunityFactory(owner=member, amount=Decimal("2000"), currency="EUR"),
        OpportunityFactory(owner=report, amount=Decimal("300"), approval="pending"),
        OpportunityFactory(owner=report, amount=Decimal("45"), expected_close_date=march),
        OpportunityFactory(owner=west["stranger"], amount=Decimal("999")),
        OpportunityFactory(owner=west["manager"], stage=_stage("Proposal")),
    ]
    people = (west["manager"], member, report, west["stranger"])

    def assert_same() -> None:
        for user in people:
            kept, summed = _both_totals(user)
            assert kept == summed, user.username
        filters = [
            board.BoardFilters(owner=member),
            board.BoardFilters(team=west["team"]),
            board.BoardFilters(currency="EUR"),
            board.BoardFilters(close_month=march.replace(day=1)),
        ]
        for f in filters:
            kept, summed = _both_totals(west["manager"], f)
            assert kept == summed, f

    assert_same()
    # a move, an owner change, an amount, a currency, a close date and an approval
    Opportunity.objects.filter(pk=deals[0].pk).update(stage=_stage("Qualification"))
    Opportunity.objects.filter(pk=deals[1].pk).update(owner=report, amount=Decimal("1.99"))
    Opportunity.objects.filter(pk=deals[3].pk).update(
        currency="IDR", expected_close_date=datetime.date(2031, 4, 1)
    )
    Opportunity.objects.filter(pk=deals[2].pk).update(approval="approved")
    assert_same()
    # a statement over many deals, an update that changes nothing counted, and deletes
    Opportunity.objects.filter(owner=member).update(amount=Decimal("7"))
    Opportunity.objects.update(next_step="Call back")
    Opportunity.objects.filter(pk__in=[deals[4].pk, deals[5].pk]).delete()
    assert_same()
    kept, _summed = _both_totals(west["manager"])
    assert sum(count for _stage_id, _cur, _pending, count, _total in kept) == 4


@on_postgres
def test_a_column_emptied_by_moves_shows_no_total(ae):
    deal = OpportunityFactory(owner=ae, amount=Decimal("10"))
    OpportunityFactory(owner=ae, stage=_stage("Proposal"), amount=Decimal("20"))

    Opportunity.objects.filter(pk=deal.pk).update(stage=_stage("Proposal"))

    columns = board.column_totals(board.board_for(ae))
    assert _stage("Discovery").pk not in columns
    proposal = columns[_stage("Proposal").pk]
    assert proposal["count"] == 2 and proposal["totals"] == [("USD", Decimal("30.00"))]


def test_an_sdr_board_sums_the_deals_she_sourced(sdr):
    scope = board.board_for(sdr)

    assert scope.by_owner is False and scope.owners is None
    assert board.column_totals(scope) == {}


# --- the statements ----------------------------------------------------------------------------


def _statements(client, django_assert_max_num_queries, user, url) -> int:
    client.force_login(user)
    client.get(url)  # the session and the caches settle
    with django_assert_max_num_queries(100) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_managers_board_runs_a_fixed_small_number_of_statements(
    client, django_assert_max_num_queries, west
):
    url = reverse("opportunities:board")
    OpportunityFactory(owner=west["member"])
    few = _statements(client, django_assert_max_num_queries, west["manager"], url)
    OpportunityFactory.create_batch(30, owner=west["report"])
    OpportunityFactory(owner=west["member"], approval="pending", stage=_stage("Proposal"))

    many = _statements(client, django_assert_max_num_queries, west["manager"], url)

    # session, user, permissions (2), unread notifications, the conversion policy, the
    # owner and team choices, the stages, the manager's people, the totals, and the cards
    # (one statement on PostgreSQL; a column each and the pending deals on SQLite)
    cards = 1 if connection.vendor == "postgresql" else len(_active_stages()) + 1
    assert few == many == 11 + cards


@pytest.mark.parametrize("role", ["ae", "manager"])
def test_load_more_runs_a_fixed_small_number_of_statements(
    client, django_assert_max_num_queries, west, role
):
    user = west["member"] if role == "ae" else west["manager"]
    OpportunityFactory.create_batch(25, owner=west["member"])
    client.force_login(user)
    discovery = next(
        c
        for c in client.get(reverse("opportunities:board")).context["columns"]
        if c["stage"].name == "Discovery"
    )

    count = _statements(client, django_assert_max_num_queries, user, discovery["more_url"])

    # session, user, permissions (2), unread notifications, the conversion policy, the
    # stage, and the cards (a manager's people a subquery of them)
    assert count == 8
