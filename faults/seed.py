"""The suite's dataset: a few people of every role, leads ready to convert, due SLA clocks.

Written straight into the private database (the suite's own process has Django set up on
it): people and leads ready to convert with the test factories, the clocks a fault needs
in bulk. Nothing here is a product path; the faults drive the product through HTTP and
the processes under test.
"""

from __future__ import annotations

import datetime
import importlib
import itertools
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

if TYPE_CHECKING:
    from crm.models import Team, User

PASSWORD = "faults-pass-1234"
TEAM = "Fault suite"
KILL_POLICY = "faults-breach"
MARKETING = "marketing@faults.example"
QUIET = ("quiet1", "quiet2", "quiet3", "quiet4")
MAILED_OWNER = "sdr2"

_names = itertools.count(1)


@dataclass
class Person:
    id: int
    username: str
    email: str
    token: str


@dataclass
class Dataset:
    """What the faults need to know about the seeded data."""

    people: dict[str, Person]
    stage_id: int
    policy_id: int
    convertible: deque[tuple[int, int]] = field(default_factory=deque)  # (lead, its AE)
    max_account_id: int = 0
    max_contact_id: int = 0

    def take_convertible(self) -> tuple[int, int]:
        """A lead ready to convert that no fault has used yet (its id and its AE's id)."""
        return self.convertible.popleft()


def seed(*, convertible: int) -> Dataset:
    """People of every role (a manager over a team of SDRs and AEs, RevOps, an admin),
    `convertible` leads ready to convert, and the SLA policy the clock faults use."""
    from rest_framework.authtoken.models import Token

    from crm.models import Account, Contact, Team, User
    from opportunities.models import Stage
    from sla.models import SlaPolicy

    # The test suite's factories (untyped, so not read by the type checker from here).
    factories: Any = importlib.import_module("tests.factories")

    # One hash for everyone: production's hasher takes a good part of a second per call.
    hashed = make_password(PASSWORD)
    with transaction.atomic():
        people: dict[str, Person] = {}
        boss = _user("boss", User.Role.MANAGER, hashed)
        team = Team.objects.create(name=TEAM, manager=boss)
        quiet_boss = _user("quietboss", User.Role.MANAGER, hashed, email="")
        roles = {
            "sdr": User.Role.SDR,
            "sdr2": User.Role.SDR,
            "ae": User.Role.AE,
            "ae2": User.Role.AE,
            "revops": User.Role.REVOPS,
            "admin": User.Role.ADMIN,
        }
        users = {"boss": boss, "quietboss": quiet_boss}
        for username, role in roles.items():
            users[username] = _user(username, role, hashed, team=team, manager=boss)
        # SDRs without an address, under a manager without one: SLA clocks they own make
        # bell messages but no e-mail, which keeps a sweep of many clocks from becoming
        # thousands of messages (every tenth clock is owned by `sdr2`, who is e-mailed).
        for username in QUIET:
            users[username] = _user(
                username, User.Role.SDR, hashed, email="", team=team, manager=quiet_boss
            )
        for username, user in users.items():
            token = Token.objects.create(user=user) if user.email else None
            people[username] = Person(user.pk, username, user.email, token.key if token else "")

        stage = Stage.objects.filter(is_entry=True).order_by("position").first()
        assert stage is not None, "the migrations create the entry stages"
        policy = SlaPolicy.objects.create(
            key=KILL_POLICY,
            name="Fault suite clock",
            start_event="mql",
            stop_event="decided",
            target_value=1,
            target_unit=SlaPolicy.Unit.MINUTES,
            # The breach tells the owner; the manager hears of it at once (level 1).
            escalation_chain=[{"to": "manager", "after_minutes": 0}],
            # Never started by the product itself: only the suite's own clocks use it.
            applies_to_sources=["faults-none"],
        )
        dataset = Dataset(people=people, stage_id=stage.pk, policy_id=policy.pk)
        for n in range(convertible):
            ae = users["ae" if n % 2 == 0 else "ae2"]
            lead = factories.ConvertibleLeadFactory(
                owner=users["sdr"],
                ae=ae,
                team=team,
                company_name=f"Ready {n} Co",
                company_domain=f"ready{n}.faults.example",
            )
            dataset.convertible.append((lead.pk, ae.pk))
        dataset.max_account_id = (
            Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        dataset.max_contact_id = (
            Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
    return dataset


def _user(
    username: str,
    role: str,
    hashed: str,
    *,
    email: str | None = None,
    team: Team | None = None,
    manager: User | None = None,
) -> User:
    from crm.models import User

    admin = role == User.Role.ADMIN
    return User.objects.create(
        username=username,
        first_name=username.title(),
        last_name="Faults",
        email=f"{username}@faults.example" if email is None else email,
        role=role,
        password=hashed,
        team=team,
        manager=manager,
        is_staff=admin,
        is_superuser=admin,
    )


def due_clocks(
    dataset: Dataset,
    *,
    count: int,
    first_due: datetime.datetime,
    spread: datetime.timedelta = datetime.timedelta(0),
    warn_before: datetime.timedelta = datetime.timedelta(0),
    mailed_every: int = 10,
) -> list[int]:
    """`count` leads, each with a running clock of the suite's policy: the first due at
    `first_due`, the others spread evenly over `spread` after it; warned `warn_before` the
    due time (0: no warning point before it). Owners are the quiet SDRs, and the e-mailed
    `sdr2` for every `mailed_every`-th clock. Returns the clocks' ids."""
    from leads.models import Lead, Source
    from sla.models import SlaTimer

    now = timezone.now()
    owners = [
        dataset.people[MAILED_OWNER if i % mailed_every == 0 else QUIET[i % len(QUIET)]].id
        for i in range(count)
    ]
    team_id = _team_id()
    with transaction.atomic():
        leads = Lead.objects.bulk_create(
            Lead(
                company_name=f"Clock {next(_names)} Ltd",
                first_name="Pat",
                last_name="Clock",
                source=Source.INBOUND,
                status=Lead.Status.MQL,
                owner_id=owners[i],
                team_id=team_id,
                mql_at=now,
                assigned_at=now,
            )
            for i in range(count)
        )
        step = spread / max(count - 1, 1)
        timers = []
        for i, lead in enumerate(leads):
            due = first_due + step * i
            warn = due - warn_before if warn_before else due
            timers.append(
                SlaTimer(
                    policy_id=dataset.policy_id,
                    lead=lead,
                    responsible_id=lead.owner_id,
                    started_at=min(now, warn) - datetime.timedelta(minutes=1),
                    warn_at=warn,
                    due_at=due,
                    target_value=1,
                    target_unit="minutes",
                    next_check_at=warn,
                )
            )
        created = SlaTimer.objects.bulk_create(timers, batch_size=2000)
    return [t.pk for t in created]


def _team_id() -> int:
    from crm.models import Team

    return int(Team.objects.get(name=TEAM).pk)


def conversion_body(
    dataset: Dataset, lead_id: int, ae_id: int, *, large: bool
) -> dict[str, object]:
    """What the wizard sends for a lead ready to convert; a large deal also asks the
    manager (an e-mailed notification) besides telling marketing."""
    today = timezone.localdate()
    return {
        "name": f"Lead {lead_id} Co - Threshold CRM - Inbound routing",
        "amount": str(Decimal("250000") if large else Decimal("48000")),
        "currency": "USD",
        "expected_close_date": (today + datetime.timedelta(days=120)).isoformat(),
        "stage": dataset.stage_id,
        "next_step": "Security review call with IT",
        "next_step_owner": ae_id,
        "next_step_due": (today + datetime.timedelta(days=3)).isoformat(),
        "product_line": "CRM",
        "use_case": "Inbound routing",
        "industry_vertical": "Logistics",
        "decision_criteria": "Time to first response, price",
        "competitive_landscape": "HubSpot, spreadsheet",
        "risks": "Budget freeze in Q2",
        "contact_roles": [{"lead_contact": True, "role": "economic_buyer"}],
    }
