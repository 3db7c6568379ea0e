"""The board's cards as `opportunities.board` prepares them (issue 13, a board that stays
fast): each card's links, amount, owner and close date are set once in Python, so the
page and the "Load more" fragment show the same card the template used to work out."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from opportunities import board
from opportunities.models import Opportunity, Stage
from opportunities.views import board as board_views
from tests.factories import LeadFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def test_a_card_links_to_its_deal_and_shows_amount_owner_and_close_date(client, ae):
    ae.first_name, ae.last_name = "Ayu", "Lestari"
    ae.save()
    deal = OpportunityFactory(
        owner=ae,
        name="Borneo Foods - Routing",
        amount=Decimal("125000"),
        currency="USD",
        expected_close_date=datetime.date(2027, 3, 9),
    )
    client.force_login(ae)

    html = client.get(reverse("opportunities:board")).content.decode()

    detail = reverse("opportunities:detail", args=[deal.pk])
    assert f'href="{detail}"' in html
    assert f'data-detail-url="{detail}"' in html
    assert f'data-move-url="{reverse("opportunities:stage", args=[deal.pk])}"' in html
    assert "$125,000" in html
    assert 'title="Ayu Lestari">AL<' in html
    assert '<time datetime="2027-03-09">9 Mar 2027</time>' in html


def test_flags_show_only_on_cards_that_have_one(client, ae):
    rot = _stage("Discovery").rot_days or 30
    OpportunityFactory(owner=ae, name="Fresh deal")
    OpportunityFactory(
        owner=ae,
        name="Stale deal",
        stage_entered_at=timezone.now() - datetime.timedelta(days=rot + 5),
    )
    OpportunityFactory(owner=ae, name="Sent back deal", approval="rejected")
    client.force_login(ae)

    html = client.get(reverse("opportunities:board")).content.decode()

    assert html.count('class="flags"') == 2
    assert html.count("flag-stale") == 1
    assert html.count("flag-rejected") == 1


def test_load_more_cards_carry_the_same_links_and_texts(client, ae, monkeypatch):
    monkeypatch.setattr(board_views, "BOARD_CARDS_PER_COLUMN", 2)
    deals = OpportunityFactory.create_batch(3, owner=ae, amount=Decimal("40000"))
    client.force_login(ae)
    page = client.get(reverse("opportunities:board"))
    discovery = next(c for c in page.context["columns"] if c["stage"].name == "Discovery")

    more = client.get(discovery["more_url"])

    oldest = deals[0]
    html = more.content.decode()
    assert [card.pk for card in more.context["cards"]] == [oldest.pk]
    assert f'href="{reverse("opportunities:detail", args=[oldest.pk])}"' in html
    assert "$40,000" in html


def test_cards_read_only_the_columns_they_show(ae):
    OpportunityFactory(owner=ae)
    stages = list(Stage.objects.filter(is_active=True).order_by("position"))

    first = board.first_cards(board.board_for(ae, stages=stages), per_column=5)

    card = next(page.rows[0] for page in first.pages.values() if page.rows)
    deferred = card.get_deferred_fields()
    assert {"discount_notes", "decision_criteria", "risks"} <= deferred
    assert card.stage is next(s for s in stages if s.pk == card.stage_id)


def test_a_manager_sees_the_totals_of_the_team_and_not_of_others(client):
    manager = UserFactory(manager=True, username="boss")
    team = TeamFactory(name="East", manager=manager)
    rep = UserFactory(ae=True, username="rep", team=team)
    OpportunityFactory(owner=rep, amount=Decimal("10000"))
    OpportunityFactory(owner=rep, amount=Decimal("20000"), approval="pending")
    OpportunityFactory(amount=Decimal("999999"))  # another team's
    client.force_login(manager)

    columns = client.get(reverse("opportunities:board")).context["columns"]

    discovery = next(c for c in columns if c["stage"].name == "Discovery")
    assert discovery["count"] == 1 and discovery["totals"] == "USD\u00a010K"
    assert discovery["pending_count"] == 1
    assert Opportunity.objects.count() == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL-only indexes")
def test_the_board_indexes_exist() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('opp_board_totals_idx', 'opp_pending_idx')"
        )
        assert {row[0] for row in cursor.fetchall()} == {"opp_board_totals_idx", "opp_pending_idx"}


def test_a_managers_board_holds_exactly_the_deals_visible_to_them() -> None:
    # given a manager with a direct report, a team member, their own deal, and deals
    # they must not see (another team's, an SDR's lead handed to another team's AE)
    manager = UserFactory(manager=True, username="lead-of-west")
    team = TeamFactory(name="West", manager=manager)
    member = UserFactory(ae=True, username="west-ae", team=team)
    report = UserFactory(ae=True, username="direct-report")
    report.manager = manager  # (`manager=` is the factory's trait for the role)
    report.save()
    other_team = TeamFactory(name="North", manager=UserFactory(manager=True, username="n-mgr"))
    stranger = UserFactory(ae=True, username="north-ae", team=other_team)
    sdr = UserFactory(sdr=True, username="west-sdr", team=team)
    own = OpportunityFactory(owner=manager)
    members = OpportunityFactory(owner=member)
    reports = OpportunityFactory(owner=report, stage=_stage("Closed Won"))
    OpportunityFactory(owner=stranger)
    OpportunityFactory(owner=stranger, lead=LeadFactory(owner=sdr, team=team))

    # when
    on_board = set(board.board_for(manager).deals.values_list("pk", flat=True))

    # then
    assert on_board == {own.pk, members.pk, reports.pk}
    visible = Opportunity.objects.visible_to(manager).filter(stage__is_active=True)
    assert on_board == set(visible.values_list("pk", flat=True))
