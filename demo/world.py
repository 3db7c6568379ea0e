"""The state every story draws from and adds to: the seeded Random, the id counters, the
companies made so far and the contacts already written, the clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.db import models

from crm.models import Contact
from demo.funnel import HISTORY
from demo.people import Company, Person, person_at
from demo.randomness import DemoRandom, Weighted
from demo.references import PolicyRef, ReferenceIds, TakenKeys
from demo.routing import RouteFinder
from demo.rows import WRITE_ORDER, Batch
from demo.vocabulary import REJECTION_NOTES, REJECTION_WEIGHTS
from demo.working_time import WorkingTime
from sla.business_time import ROUND_THE_CLOCK, CalendarSpec


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


class DemoWorld:
    """Shared by the generator and every lead and deal story it writes. Pure: reads
    nothing from the database, only `references` and the ids it is told to start from."""

    def __init__(
        self,
        *,
        seed: int,
        now: datetime,
        references: ReferenceIds,
        first_ids: dict[type[models.Model], int] | None = None,
        taken: TakenKeys | None = None,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware.")
        self.now = now.astimezone(UTC)
        self.start = self.now - HISTORY
        self.references = references
        self.rng = DemoRandom(seed)
        first_ids = first_ids or {}
        self._ids = {model: itertools.count(first_ids.get(model, 1)) for model in WRITE_ORDER}
        self.companies: list[Company] = []
        self.taken = taken or TakenKeys()
        self._contact_by_email: dict[str, int] = {}
        self._rejection_reasons = Weighted(
            {code: REJECTION_WEIGHTS.get(code, 3) for code in references.rejection_reasons}
        )
        self.routes = RouteFinder(
            references.routes,
            staffed=set(references.sdrs_by_team),
            fallback=references.team_by_source,
        )
        # The SLA policies by the lifecycle event that starts their clocks, each with
        # its calendar's working time.
        self._working_time: dict[CalendarSpec, WorkingTime] = {}
        self.policies_by_start: dict[str, list[tuple[PolicyRef, WorkingTime]]] = {}
        for policy in references.policies:
            self.policies_by_start.setdefault(policy.start_event, []).append(
                (policy, self.working_time(policy.calendar))
            )

    def next_id(self, model: type[models.Model]) -> int:
        return next(self._ids[model])

    def arrival_time(self) -> datetime:
        """When a lead arrives: volume grows through the year and drops at weekends."""
        rng = self.rng
        span = HISTORY.total_seconds()
        while True:
            moment = self.start + timedelta(seconds=span * rng.random() ** 0.85)
            if moment.weekday() < 5 or rng.random() < 0.3:
                return moment

    def working_time(self, calendar: CalendarSpec | None) -> WorkingTime:
        """Due times on `calendar` (None: every minute counts) over the whole history."""
        spec = calendar or ROUND_THE_CLOCK
        if spec not in self._working_time:
            self._working_time[spec] = WorkingTime(spec, first=self.start, last=self.now)
        return self._working_time[spec]

    def pick_company(self) -> Company:
        """A few big accounts produce many leads; most produce one or two."""
        return self.companies[int(len(self.companies) * self.rng.random() ** 1.3)]

    def person_at(self, company: Company, *, title: tuple[str, bool] | None = None) -> Person:
        return person_at(self.rng, company, title=title)

    def contact(
        self,
        batch: Batch,
        company: Company,
        person: Person,
        when: datetime,
        *,
        reports_to: int | None = None,
    ) -> int:
        """The contact for `person`, found by e-mail or created: accounts and contacts are
        never duplicated (DOMAIN.md, hand-off step 4)."""
        email = person.email.lower()
        if email in self._contact_by_email:
            return self._contact_by_email[email]
        contact_id = self.next_id(Contact)
        self._contact_by_email[email] = contact_id
        if email in self.taken.emails:  # a real contact has it: number ours
            email = self._unused_email(email)
            self._contact_by_email[email] = contact_id
        batch.add(
            Contact,
            {
                "id": contact_id,
                "account_id": company.account_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": email,
                "normalized_email": email,
                "phone": person.phone,
                "job_title": person.job_title,
                "is_decision_maker": person.is_decision_maker,
                "reports_to_id": reports_to,
                "is_demo": True,
                "created_at": when,
                "updated_at": when,
            },
        )
        return contact_id

    def _unused_email(self, email: str) -> str:
        """`email` numbered (`anna.tan2@...`) past every address already taken."""
        local, domain = email.split("@")
        for number in itertools.count(2):
            candidate = f"{local}{number}@{domain}"
            if candidate not in self.taken.emails and candidate not in self._contact_by_email:
                return candidate
        raise AssertionError("unreachable")

    def rejection_reason(self) -> tuple[int, str]:
        """A rejection reason's id and a note that fits it."""
        code = self._rejection_reasons.pick(self.rng)
        notes = REJECTION_NOTES.get(code, ("Rejected after review; see the reason.",))
        return self.references.rejection_reasons[code], self.rng.choice(notes)
