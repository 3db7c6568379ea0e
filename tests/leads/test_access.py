"""`lead_for`, the one door to a lead: a lead the user may not see reads as missing
(404), one they may see but not act on is refused (403), role by role; and the lead
page's buttons come from the same rules."""

from __future__ import annotations

import pytest
from django.utils import timezone

from crm.exceptions import NotAllowed, NotFound
from leads.access import lead_actions, lead_for
from leads.models import Lead, RejectionReason
from tests.factories import HandoffFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Lead.Status
ALL_ACTIONS = ("view", "work", "assign", "record_discovery", "reopen")


@pytest.fixture
def team(manager):
    return TeamFactory(manager=manager, sdrs_see_team_leads=True)


@pytest.fixture
def lead(sdr, ae, team):
    """An SDR's lead in a team whose SDRs read each other's leads, handed to an AE."""
    sdr.team = team
    sdr.save()
    return LeadFactory(owner=sdr, team=team, ae=ae)


def _outcome(user, lead: Lead, to: str) -> str:
    try:
        lead_for(user, lead.pk, to=to)
    except NotFound:
        return "404"
    except NotAllowed:
        return "403"
    return "ok"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # view, work, assign, record_discovery, reopen (the lead is MQL: reopen = work)
        ("owner", ("ok", "ok", "403", "403", "ok")),
        ("teammate", ("ok", "403", "403", "403", "403")),
        ("stranger", ("404", "404", "404", "404", "404")),
        ("the_ae", ("ok", "ok", "403", "ok", "ok")),
        ("other_ae", ("404", "404", "404", "404", "404")),
        ("team_manager", ("ok", "ok", "ok", "ok", "ok")),
        ("other_manager", ("404", "404", "404", "404", "404")),
        ("revops", ("ok", "ok", "ok", "ok", "ok")),
    ],
)
def test_each_role_may_see_and_do_what_the_rules_say(lead, who, expected, sdr, ae, manager):
    users = {
        "owner": lambda: sdr,
        "teammate": lambda: UserFactory(sdr=True, team=lead.team),
        "stranger": lambda: UserFactory(sdr=True),
        "the_ae": lambda: ae,
        "other_ae": lambda: UserFactory(ae=True),
        "team_manager": lambda: manager,
        "other_manager": lambda: UserFactory(manager=True),
        "revops": lambda: UserFactory(revops=True),
    }
    user = users[who]()

    outcomes = tuple(_outcome(user, lead, to) for to in ALL_ACTIONS)

    assert outcomes == expected


def test_a_missing_or_malformed_id_is_not_found(revops):
    with pytest.raises(NotFound):
        lead_for(revops, 987654)
    with pytest.raises(NotFound):
        lead_for(revops, "not-a-number")


def test_the_given_queryset_is_where_the_lead_is_looked_up(lead, sdr):
    assert lead_for(sdr, lead.pk, to="work", queryset=Lead.objects.filter(pk=lead.pk)) == lead
    with pytest.raises(NotFound):
        lead_for(sdr, lead.pk, queryset=Lead.objects.filter(status=S.CONVERTED))


def test_only_a_manager_or_revops_reopens_a_rejected_lead(sdr, manager, team):
    rejected = LeadFactory(
        owner=sdr,
        team=team,
        status=S.REJECTED,
        rejection_reason=RejectionReason.objects.get(code="not-icp"),
    )
    nurtured = LeadFactory(owner=sdr, team=team, status=S.NURTURE)

    assert _outcome(sdr, rejected, "reopen") == "403"
    assert _outcome(manager, rejected, "reopen") == "ok"
    assert _outcome(sdr, nurtured, "reopen") == "ok"


def _handed_off(owner, ae) -> tuple[Lead, object]:
    now = timezone.now()
    lead = LeadFactory(owner=owner, ae=ae, status=S.SQL, qualified_at=now, handed_off_at=now)
    return lead, HandoffFactory(lead=lead, to_user=ae)


def test_the_discovery_button_follows_the_discovery_rule(ae):
    # given a manager who owns a lead themselves (so may work it) but manages no one on it
    owner_manager = UserFactory(manager=True)
    lead, handoff = _handed_off(owner_manager, ae)

    # then the AE gets the button, the owning manager does not (the service would refuse)
    assert lead_actions(ae, lead, handoff=handoff)["discovery"]
    assert not lead_actions(owner_manager, lead, handoff=handoff)["discovery"]
    assert _outcome(owner_manager, lead, "record_discovery") == "403"
