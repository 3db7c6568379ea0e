"""What the generator needs to know of rows that exist before it runs: the demo staff,
the RevOps-configured pipeline stages and rejection reasons, and the keys real accounts
and contacts already hold. Read once; plain ids from then on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from crm.models import Account, Contact, Team, User
from demo.errors import DemoDataError
from demo.staff import DEMO_STAFF, TEAM_BY_SOURCE
from leads.models import RejectionReason
from opportunities.models import Stage


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
class ReferenceIds:
    """Primary keys the generated rows point at: demo staff, stages, rejection reasons.

    Plain ids, so the generator also runs without a database (tests, dry runs)."""

    sdrs_by_team: dict[int, tuple[int, ...]]
    team_by_source: dict[str, int]
    aes: tuple[int, ...]
    pipeline: Pipeline
    rejection_reasons: dict[str, int]

    @classmethod
    def from_db(cls, users: dict[str, User], teams: dict[str, Team]) -> ReferenceIds:
        reasons = dict(RejectionReason.objects.filter(is_active=True).values_list("code", "id"))
        if not reasons:
            raise DemoDataError("Add at least one active rejection reason before seeding.")
        sdrs: dict[int, list[int]] = defaultdict(list)
        for member in DEMO_STAFF:
            if member.role == User.Role.SDR:
                sdrs[teams[member.team].pk].append(users[member.username].pk)
        return cls(
            sdrs_by_team={team: tuple(ids) for team, ids in sdrs.items()},
            team_by_source={source: teams[name].pk for source, name in TEAM_BY_SOURCE.items()},
            aes=tuple(users[m.username].pk for m in DEMO_STAFF if m.role == User.Role.AE),
            pipeline=Pipeline.from_db(),
            rejection_reasons=reasons,
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
