"""seed_demo: demo logins and a year of history shaped like DOMAIN.md, safe to re-run."""

from __future__ import annotations

import io
from datetime import time, timedelta
from decimal import Decimal
from itertools import combinations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Max, OuterRef, Q, Subquery

from crm.models import Account, Contact, Team, User, normalize_company_name, normalize_domain
from demo.funnel import MILESTONES
from demo.generator import DemoGenerator
from demo.references import Pipeline, PolicyRef, ReferenceIds, StaffRef, StageRef
from demo.seed import conversion_rates, delete_demo_data
from demo.staff import DEMO_STAFF, DEMO_TEAMS
from leads.models import Activity, Handoff, Lead, LeadStatus, LeadTransition, RoutingRule, Source
from opportunities.models import Opportunity, StageChange
from reports.models import BenchmarkRange
from sla.business_time import CalendarSpec
from sla.models import SlaTimer
from tests.demo.seeding import NOW, merged_leads, seed
from tests.factories import AccountFactory, ContactFactory, LeadFactory

# Lead milestones in lifecycle order, with when the lead arrived first.
ORDERED_MILESTONES = ("created_at", *MILESTONES)
EXITS = ("rejected_at", "nurtured_at", "disqualified_at")
STATUS_MILESTONE = {
    LeadStatus.MQL: "mql_at",
    LeadStatus.SAL: "accepted_at",
    LeadStatus.SQL: "qualified_at",
    LeadStatus.CONVERTED: "converted_at",
    LeadStatus.REJECTED: "rejected_at",
    LeadStatus.NURTURE: "nurtured_at",
    LeadStatus.DISQUALIFIED: "disqualified_at",
}


def demo_counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.filter(is_demo=True).count()
        for model in (User, Account, Contact, Lead, Activity, Opportunity)
    }


# --- Logins ----------------------------------------------------------------------------


def test_seed_creates_a_login_for_every_role(seeded: None) -> None:
    users = {user.username: user for user in User.objects.filter(is_demo=True)}

    assert {user.role for user in users.values()} == set(User.Role.values)
    assert {"admin", "revops", "manager", "sdr", "sdr6", "ae", "ae4"} <= set(users)
    assert all(user.check_password(settings.THRESHOLD_DEMO_PASSWORD) for user in users.values())
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert users["revops"].is_staff and not users["revops"].is_superuser
    assert not users["sdr"].is_staff
    assert len({user.time_zone for user in users.values()}) >= 3


def test_sdrs_and_aes_sit_in_teams_their_manager_runs(seeded: None) -> None:
    reps = User.objects.filter(is_demo=True, role__in=[User.Role.SDR, User.Role.AE])

    assert reps.filter(Q(team__isnull=True) | Q(manager__isnull=True)).count() == 0
    assert reps.exclude(manager=F("team__manager")).count() == 0
    assert Team.objects.filter(manager__username="manager").count() == 2


# --- Leads -----------------------------------------------------------------------------


def test_seed_covers_every_lead_status(seeded: None) -> None:
    statuses = set(Lead.objects.filter(is_demo=True).values_list("status", flat=True))

    assert statuses == set(LeadStatus.values)


def test_lead_milestones_are_in_lifecycle_order(seeded: None) -> None:
    out_of_order = Q()
    for earlier, later in combinations(ORDERED_MILESTONES, 2):
        out_of_order |= Q(**{f"{earlier}__gt": F(later)})
    for milestone in ORDERED_MILESTONES:
        for exit_ in EXITS:
            out_of_order |= Q(**{f"{milestone}__gt": F(exit_)})

    assert Lead.objects.filter(out_of_order).count() == 0
    assert Lead.objects.filter(updated_at__gt=NOW).count() == 0


def test_each_status_has_its_timestamps_and_reasons(seeded: None) -> None:
    leads = Lead.objects.filter(is_demo=True)

    for status, milestone in STATUS_MILESTONE.items():
        assert leads.filter(status=status, **{f"{milestone}__isnull": True}).count() == 0
    assert leads.filter(status=LeadStatus.NEW, mql_at__isnull=False).count() == 0
    assert leads.filter(status__in=Lead.OPEN_STATUSES).exclude(
        rejected_at=None, nurtured_at=None, disqualified_at=None, converted_at=None
    ).count() == 0  # fmt: skip
    rejected = leads.filter(status=LeadStatus.REJECTED)
    assert rejected.filter(Q(rejection_reason__isnull=True) | Q(rejection_note="")).count() == 0
    disqualified = leads.filter(status=LeadStatus.DISQUALIFIED, merged_into=None)
    assert disqualified.filter(
        Q(disqualification_reason__isnull=True) | Q(disqualification_note="")
    ).count() == 0  # fmt: skip
    converted = leads.filter(status=LeadStatus.CONVERTED)
    assert converted.filter(Q(account__isnull=True) | Q(contact__isnull=True)).count() == 0
    assert leads.filter(handed_off_at__isnull=False, ae__isnull=True).count() == 0


def test_every_status_move_is_a_transition_at_its_milestone(seeded: None) -> None:
    merged = merged_leads()
    assert merged  # the demo shows a merge; its pair carries two leads' history
    for status, milestone in STATUS_MILESTONE.items():
        moves = LeadTransition.objects.filter(to_status=status, lead__is_demo=True)
        moves = moves.exclude(lead__in=merged)
        reached = Lead.objects.filter(is_demo=True, **{f"{milestone}__isnull": False})
        reached = reached.exclude(pk__in=merged)

        assert moves.count() == reached.count(), status
        assert moves.exclude(created_at=F(f"lead__{milestone}")).count() == 0, status
    last_move = LeadTransition.objects.filter(lead=OuterRef("pk")).order_by("-created_at")
    moved = Lead.objects.filter(is_demo=True).exclude(status=LeadStatus.NEW)
    ends_elsewhere = moved.annotate(last=Subquery(last_move.values("to_status")[:1]))
    assert ends_elsewhere.exclude(last=F("status")).count() == 0
    demo_moves = LeadTransition.objects.filter(lead__is_demo=True)
    assert demo_moves.filter(to_status=LeadStatus.MQL, actor__isnull=False).count() == 0
    by_sdr = demo_moves.filter(to_status__in=[LeadStatus.SAL, LeadStatus.SQL, LeadStatus.REJECTED])
    assert by_sdr.exclude(actor=F("lead__owner")).count() == 0
    by_ae = demo_moves.filter(to_status=LeadStatus.CONVERTED)
    assert by_ae.exclude(actor=F("lead__ae")).count() == 0


def test_handoffs_match_handed_off_leads(seeded: None) -> None:
    handed_off = Lead.objects.filter(is_demo=True, handed_off_at__isnull=False)

    assert Handoff.objects.count() == handed_off.count()
    assert Handoff.objects.exclude(created_at=F("lead__handed_off_at")).count() == 0
    assert Handoff.objects.exclude(to_user=F("lead__ae")).count() == 0
    assert Handoff.objects.filter(discovery_held_at__gt=F("lead__converted_at")).count() == 0


def test_reps_have_pending_follow_ups_and_no_work_is_logged_in_the_future(seeded: None) -> None:
    activities = Activity.objects.filter(is_demo=True)

    assert activities.pending().filter(due_at__gt=NOW).exists()
    assert activities.pending().filter(due_at__lte=NOW).exists()  # some are overdue
    assert activities.filter(Q(occurred_at__gt=NOW) | Q(completed_at__gt=NOW)).count() == 0
    assert activities.filter(is_first_contact=True).count() == (
        Lead.objects.filter(is_demo=True, first_contacted_at__isnull=False).count()
    )


# --- Opportunities ---------------------------------------------------------------------


def test_every_converted_lead_has_exactly_one_opportunity(seeded: None) -> None:
    converted = Lead.objects.filter(is_demo=True, status=LeadStatus.CONVERTED)

    assert converted.count() > 0
    assert converted.filter(opportunity__isnull=True).count() == 0
    assert Opportunity.objects.exclude(lead__status=LeadStatus.CONVERTED).count() == 0
    assert Opportunity.objects.count() == converted.count()
    mismatched = Opportunity.objects.exclude(
        account=F("lead__account"),
        primary_contact=F("lead__contact"),
        source=F("lead__source"),
        campaign=F("lead__campaign"),
        lead_score_at_conversion=F("lead__score"),
        created_at=F("lead__converted_at"),
        owner=F("lead__ae"),
    )
    assert mismatched.count() == 0


def test_opportunities_carry_every_required_field(seeded: None) -> None:
    opportunities = Opportunity.objects.filter(is_demo=True).select_related("stage")

    for opp in opportunities:
        assert opp.name.count(" - ") == 2
        assert opp.amount > Decimal(0)
        assert opp.probability == opp.stage.default_probability
        assert opp.next_step and opp.next_step_owner_id == opp.owner_id
        assert opp.product_line and opp.use_case and opp.qualification_framework
        assert opp.stage.is_closed == (opp.closed_at is not None)
        assert bool(opp.lost_reason) == opp.stage.is_lost
        assert opp.stage_entered_at <= NOW
    assert opportunities.filter(contact_roles__isnull=True).count() == 0
    currencies = dict(opportunities.values_list("currency").annotate(n=Count("id")))
    assert set(currencies) <= {"USD", "EUR", "IDR"}
    assert currencies["USD"] > sum(currencies.values()) / 2
    stages = set(opportunities.values_list("stage__name", flat=True))
    assert {"Discovery", "Closed Won", "Closed Lost"} <= stages


def test_stage_history_starts_at_conversion_and_ends_at_the_current_stage(seeded: None) -> None:
    for opp in Opportunity.objects.filter(is_demo=True).prefetch_related("stage_changes"):
        changes = list(opp.stage_changes.all())

        assert changes[0].from_stage_id is None
        assert changes[0].changed_at == opp.created_at
        assert changes[-1].to_stage_id == opp.stage_id
        assert changes[-1].changed_at == opp.stage_entered_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id
            assert after.time_in_previous_stage == after.changed_at - before.changed_at
    assert StageChange.objects.filter(changed_at__gt=NOW).count() == 0


def test_accounts_and_contacts_carry_their_normalized_keys(seeded: None) -> None:
    for account in Account.objects.filter(is_demo=True):
        assert account.normalized_domain == normalize_domain(account.domain) != ""
        assert account.normalized_name == normalize_company_name(account.name)
    assert Contact.objects.filter(is_demo=True).exclude(normalized_email=F("email")).count() == 0
    assert Account.objects.filter(is_demo=True).count() < Lead.objects.count() / 3


# --- Benchmarks ------------------------------------------------------------------------


def test_conversion_rates_by_source_sit_inside_the_benchmarks(db: None) -> None:
    # given a year of demo leads
    seed(leads=3000)

    # when the cohort created in the last 12 months is grouped by source
    rows = (
        Lead.objects.filter(created_at__gt=NOW - timedelta(days=365), created_at__lte=NOW)
        .values("source")
        .annotate(total=Count("id"), converted=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    )
    rates = {row["source"]: 100 * row["converted"] / row["total"] for row in rows}
    rates["overall"] = 100 * sum(r["converted"] for r in rows) / sum(r["total"] for r in rows)

    # then every benchmarked slice is in its DOMAIN.md range, the others are plausible
    ranges = {b.source: (b.low_percent, b.high_percent) for b in BenchmarkRange.objects.all()}
    assert set(ranges) >= {"overall", Source.INBOUND, Source.OUTBOUND, Source.REFERRAL}
    for source, (low, high) in ranges.items():
        assert low <= rates[source] <= high, (source, rates[source])
    assert 5 <= rates[Source.PARTNER] <= 30
    assert 3 <= rates[Source.OTHER] <= 20
    assert rates[Source.OUTBOUND] < rates[Source.INBOUND] < rates[Source.REFERRAL]
    assert conversion_rates(NOW) == pytest.approx(rates)


# --- Safety and re-runs ----------------------------------------------------------------


def test_refuses_a_database_holding_real_data(db: None) -> None:
    LeadFactory()

    with pytest.raises(CommandError, match="real data"):
        seed(leads=100)

    assert not User.objects.filter(is_demo=True).exists()
    assert not Lead.objects.filter(is_demo=True).exists()


def test_force_seeds_alongside_real_data_without_touching_it(db: None) -> None:
    real = LeadFactory()

    seed(leads=100, force=True)

    assert Lead.objects.filter(is_demo=True).count() == 100
    real.refresh_from_db()
    assert not real.is_demo


def test_force_skips_a_domain_a_real_account_holds(db: None) -> None:
    seed(leads=100)
    domain = Account.objects.filter(is_demo=True).earliest("pk").normalized_domain
    delete_demo_data()
    AccountFactory(name="Real customer", domain=domain)

    seed(leads=100, force=True)

    assert Account.objects.filter(normalized_domain=domain).count() == 1
    assert Lead.objects.filter(is_demo=True).count() == 100


def test_force_numbers_an_email_a_real_contact_holds(db: None) -> None:
    seed(leads=100)
    email = Contact.objects.filter(is_demo=True).earliest("pk").normalized_email
    delete_demo_data()
    ContactFactory(email=email)

    seed(leads=100, force=True)

    assert Contact.objects.filter(normalized_email=email).count() == 1
    local, domain = email.split("@")
    assert Contact.objects.filter(is_demo=True, email=f"{local}2@{domain}").exists()


def test_rerun_is_a_no_op(db: None) -> None:
    seed(leads=200)
    before = demo_counts()

    out = io.StringIO()
    call_command("seed_demo", leads=200, now=NOW.isoformat(), stdout=out)

    assert "already present" in out.getvalue()
    assert demo_counts() == before


def test_reset_replaces_the_demo_and_spares_real_data(db: None) -> None:
    seed(leads=200)
    real = LeadFactory()

    seed(leads=150, reset=True, force=True)

    assert Lead.objects.filter(is_demo=True).count() == 150
    assert User.objects.filter(is_demo=True).count() == len(DEMO_STAFF)
    assert Team.objects.filter(name__in=DEMO_TEAMS).count() == len(DEMO_TEAMS)
    assert Lead.objects.filter(pk=real.pk, is_demo=False).exists()


def test_reset_refuses_while_real_rows_point_at_demo_users(db: None) -> None:
    seed(leads=100)
    LeadFactory(owner=User.objects.get(username="sdr"))

    with pytest.raises(CommandError, match="demo users"):
        seed(leads=100, reset=True, force=True)


def test_new_rows_get_ids_after_the_demo_rows(seeded: None) -> None:
    highest = Lead.objects.aggregate(top=Max("pk"))["top"]

    lead = LeadFactory()

    assert lead.pk > highest


def test_prints_the_logins_and_the_password(db: None) -> None:
    out = io.StringIO()

    call_command("seed_demo", leads=100, now=NOW.isoformat(), stdout=out)

    text = out.getvalue()
    assert settings.THRESHOLD_DEMO_PASSWORD in text
    assert all(member.username in text for member in DEMO_STAFF)


# --- Determinism -----------------------------------------------------------------------


def offline_references() -> ReferenceIds:
    """Fixed ids instead of database rows, so the generator runs without a database."""
    stage = StageRef
    discovery, qualification = stage(1, "Discovery", 10), stage(2, "Qualification", 20)
    return ReferenceIds(
        sdrs_by_team={1: (10, 11), 2: (12,)},
        team_by_source={source: 1 if source != Source.OUTBOUND else 2 for source in Source},
        aes=(20, 21),
        pipeline=Pipeline(
            open=(discovery, qualification, stage(3, "Proposal", 60)),
            entry=(discovery, qualification),
            won=stage(4, "Closed Won", 100),
            lost=stage(5, "Closed Lost", 0),
            after_won=None,
        ),
        rejection_reasons={"not-icp": 1, "no-intent": 2},
        routes=(RoutingRule(team_id=2, match_source=Source.EVENT),),
        policies=(
            PolicyRef(1, "Route", "mql", "assigned", 5, "minutes", 75, chain=(("revops", 15),)),
            PolicyRef(
                2,
                "Accept or reject",
                "assigned",
                "decided",
                5,
                "business_days",
                75,
                calendar=CalendarSpec(
                    time_zone="Asia/Jakarta",
                    working_days=frozenset(range(5)),
                    work_starts=time(9),
                    work_ends=time(17),
                ),
                chain=(("manager", 480), ("revops", 2880)),
            ),
        ),
        staff={10: StaffRef("Putri Lestari", "Asia/Jakarta", manager_id=30)},
        team_managers={1: 30, 2: 30},
        revops=(40,),
    )


def generate(seed: int) -> list[dict]:
    generator = DemoGenerator(
        leads=700, seed=seed, now=NOW, references=offline_references(), chunk_size=300
    )
    return [dict(batch.rows) for batch in (generator.account_batch(), *generator.lead_batches())]


def test_same_seed_and_now_generate_the_same_rows() -> None:
    first = generate(seed=7)

    assert first == generate(seed=7)
    assert first != generate(seed=8)
    assert any(batch.get(SlaTimer) for batch in first)  # the clocks are part of it


def test_same_seed_and_now_seed_the_same_database(db: None) -> None:
    def snapshot() -> list[tuple]:
        return list(
            Lead.objects.filter(is_demo=True)
            .order_by("created_at", "email")
            .values_list("company_name", "email", "status", "source", "created_at")
        )

    seed(leads=300, seed=5)
    first = snapshot()

    seed(leads=300, seed=5, reset=True)

    assert snapshot() == first
