"""What the generator needs to know of rows that exist before it runs: the demo staff,
the RevOps-configured pipeline stages, rejection reasons, routing rules and SLA policies,
and the keys real accounts and contacts already hold. Read once; plain values from then on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from crm.models import Account, Contact, Team, User
from demo.errors import DemoDataError
from demo.staff import DEMO_STAFF, TEAM_BY_SOURCE
from leads.models import DisqualificationReason, RejectionReason, RoutingRule
from opportunities.models import Stage
from sla.business_time import CalendarSpec
from sla.models import SlaPolicy
from sla.timers import escalation_delays


@dataclass(frozen=True)
class StageRef:
    id: int
    name: str
    probability: int


@dataclass(frozen=True)
class Pipeline:
    """The RevOps-configured stages in the roles the generator needs them."""

    open: tuple[StageRef, ...]
    entry: tuple[StageRef, ...]
    won: StageRef
    lost: StageRef
    after_won: StageRef | None

    @classmethod
    def from_db(cls) -> Pipeline:
        stages = list(Stage.objects.filter(is_active=True).order_by("position"))

        def ref(stage: Stage) -> StageRef:
            return StageRef(stage.pk, stage.name, stage.default_probability)

        open_stages = tuple(ref(s) for s in stages if not s.is_closed)
        won = [ref(s) for s in stages if s.is_won]
        lost = [ref(s) for s in stages if s.is_lost]
        if not open_stages or not won or not lost:
            raise DemoDataError("The pipeline needs open, won and lost stages to seed deals.")
        entry = tuple(ref(s) for s in stages if s.is_entry and not s.is_closed) or open_stages[:1]
        return cls(open_stages, entry, won[0], lost[0], won[1] if len(won) > 1 else None)


@dataclass(frozen=True)
class PolicyRef:
    """An active SLA policy as the clocks of the history need it."""

    id: int
    name: str
    start_event: str
    stop_event: str
    target_value: int
    target_unit: str
    warn_percent: int
    calendar_id: int | None = None
    # The calendar's working time (None: every minute counts).
    calendar: CalendarSpec | None = None
    sources: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    teams: frozenset[int] = frozenset()
    # [(audience, minutes after the due time), ...]: "manager", "revops" or "owner".
    chain: tuple[tuple[str, int], ...] = ()

    @property
    def limited(self) -> bool:
        """Limited to some sources, segments or teams (else it applies to every lead)."""
        return bool(self.sources or self.segments or self.teams)

    def applies(self, *, source: str, segment: str, team_id: int | None) -> bool:
        """`sla.timers.policy_applies`, on plain values."""
        if self.sources and source not in self.sources:
            return False
        if self.segments and segment not in self.segments:
            return False
        return not self.teams or team_id in self.teams

    @classmethod
    def all_from_db(cls, *, now: datetime) -> tuple[PolicyRef, ...]:
        years = range(now.year - 2, now.year + 2)
        policies = SlaPolicy.objects.filter(is_active=True).select_related("calendar")
        return tuple(
            cls(
                id=policy.pk,
                name=policy.name,
                start_event=policy.start_event,
                stop_event=policy.stop_event,
                target_value=policy.target_value,
                target_unit=policy.target_unit,
                warn_percent=policy.warn_at_percent,
                calendar_id=policy.calendar_id,
                calendar=(
                    CalendarSpec.from_calendar(policy.calendar, years=years)
                    if policy.calendar is not None
                    else None
                ),
                sources=frozenset(policy.applies_to_sources or ()),
                segments=frozenset(policy.applies_to_segments or ()),
                teams=frozenset(team.pk for team in policy.applies_to_teams.all()),
                chain=tuple(escalation_delays(policy.escalation_chain)),
            )
            for policy in policies.prefetch_related("applies_to_teams").order_by("pk")
        )


@dataclass(frozen=True)
class StaffRef:
    """A demo login as SLA escalations and their messages need it."""

    name: str
    time_zone: str
    manager_id: int | None = None
    team_manager_id: int | None = None


@dataclass(frozen=True)
class ReferenceIds:
    """Primary keys the generated rows point at: demo staff, stages, rejection reasons,
    and the rules that route leads and time them.

    Plain values, so the generator also runs without a database (tests, dry runs)."""

    sdrs_by_team: dict[int, tuple[int, ...]]
    # Where a lead goes when no routing rule matches it.
    team_by_source: dict[str, int]
    aes: tuple[int, ...]
    pipeline: Pipeline
    rejection_reasons: dict[str, int]
    # The active routing rules, first match wins (unsaved ones in tests).
    routes: tuple[RoutingRule, ...] = ()
    policies: tuple[PolicyRef, ...] = ()
    staff: dict[int, StaffRef] = field(default_factory=dict)
    team_managers: dict[int, int] = field(default_factory=dict)
    revops: tuple[int, ...] = ()
    disqualification_reasons: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_db(
        cls, users: dict[str, User], teams: dict[str, Team], *, now: datetime
    ) -> ReferenceIds:
        reasons = dict(RejectionReason.objects.filter(is_active=True).values_list("code", "id"))
        if not reasons:
            raise DemoDataError("Add at least one active rejection reason before seeding.")
        sdrs: dict[int, list[int]] = defaultdict(list)
        for member in DEMO_STAFF:
            if member.role == User.Role.SDR:
                sdrs[teams[member.team].pk].append(users[member.username].pk)
        team_managers = {
            team.pk: team.manager_id for team in teams.values() if team.manager_id is not None
        }
        return cls(
            sdrs_by_team={team: tuple(ids) for team, ids in sdrs.items()},
            team_by_source={source: teams[name].pk for source, name in TEAM_BY_SOURCE.items()},
            aes=tuple(users[m.username].pk for m in DEMO_STAFF if m.role == User.Role.AE),
            pipeline=Pipeline.from_db(),
            rejection_reasons=reasons,
            routes=tuple(RoutingRule.objects.filter(is_active=True).order_by("position", "pk")),
            policies=PolicyRef.all_from_db(now=now),
            staff={
                user.pk: StaffRef(
                    name=user.get_full_name() or user.username,
                    time_zone=user.time_zone or "UTC",
                    manager_id=user.manager_id,
                    team_manager_id=team_managers.get(user.team_id) if user.team_id else None,
                )
                for user in users.values()
            },
            team_managers=team_managers,
            revops=tuple(user.pk for user in users.values() if user.role == User.Role.REVOPS),
            disqualification_reasons=dict(
                DisqualificationReason.objects.filter(is_active=True).values_list("code", "id")
            ),
        )


@dataclass(frozen=True)
class TakenKeys:
    """Account domains and contact e-mails real rows already hold: seeding alongside real
    data (`--force`) must not trip the unique constraints on them."""

    domains: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    @classmethod
    def from_db(cls) -> TakenKeys:
        accounts = Account.objects.filter(is_demo=False).exclude(normalized_domain="")
        contacts = Contact.objects.filter(is_demo=False).exclude(normalized_email="")
        return cls(
            domains=frozenset(accounts.values_list("normalized_domain", flat=True).iterator()),
            emails=frozenset(contacts.values_list("normalized_email", flat=True).iterator()),
        )
