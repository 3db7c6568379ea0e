"""One lead's story: planned from arrival to its outcome, cut at `now`, written as the rows
that record it (the lead, its transitions, qualification, hand-off and activities)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from demo.funnel import (
    DEAL_SIZE_USD,
    EXIT_MILESTONE,
    FRAMEWORKS,
    HANDOFF_RATINGS,
    MILESTONES,
    SCORE_MEANS,
    Outcome,
)
from demo.people import Company
from demo.rows import Batch
from demo.vocabulary import (
    BUYER_TITLES,
    CAMPAIGNS,
    COMPETITORS,
    DISQUALIFY_REASON_CODES,
    DISQUALIFY_REASONS,
    FOLLOW_UPS,
    FORCING_EVENTS,
    MQL_REASONS,
    NURTURE_REASONS,
    TERRITORY,
    USE_CASES,
)
from demo.world import DemoWorld, hours
from leads.models import (
    Activity,
    Handoff,
    Lead,
    LeadStatus,
    LeadTransition,
)

# One step of a lead's story: (milestone field or "discovery", status it moves to, when).
Step = tuple[str, str | None, datetime]


class LeadStory:
    """One lead from arrival to wherever `now` finds it, with every row that records it.

    The full story is planned first (the outcome's steps with realistic delays), then cut
    at `now`: a lead meant to convert next month is an open SQL today. That keeps every
    milestone in order and every status consistent with its timestamps by construction."""

    def __init__(self, world: DemoWorld, batch: Batch, source: str, outcome: Outcome) -> None:
        self.world, self.batch, self.source, self.outcome = world, batch, source, outcome
        self.rng = rng = world.rng
        self.lead_id = world.next_id(Lead)
        self.company = self._pick_company()
        self.person = world.person_at(self.company)
        self.created = self._arrival()
        self.planned_steps = self._plan_steps()
        self.past_steps = [step for step in self.planned_steps if step[2] <= world.now]
        self.happened_at = {name: when for name, _status, when in self.past_steps}
        self.status: str = LeadStatus.NEW
        for _name, status, _when in self.past_steps:
            if status:
                self.status = status
        company = self.company
        self.campaign: str = rng.choice(CAMPAIGNS[source])
        self.territory = TERRITORY[company.country]
        team = world.routes.team_for(
            source=source,
            segment=company.segment,
            territory=self.territory,
            country=company.country,
            campaign=self.campaign,
        )
        self.team_id = team if "assigned_at" in self.happened_at else None
        self.sdr = self._pick_sdr(team) if self.team_id else None
        self.ae = company.owner_id if "handed_off_at" in self.happened_at else None
        self.framework: str = FRAMEWORKS.pick(rng)
        self.deal_usd = self._deal_size_usd()
        # The person who signs: our contact if they can, else someone above them.
        self.buyer_title = (
            self.person.job_title if self.person.is_decision_maker else rng.choice(BUYER_TITLES)
        )
        self.is_override = self.status == LeadStatus.CONVERTED and rng.random() < 0.03
        # What the qualification calls turned up (the criteria's evidence and the deal).
        self.forcing_event: str = rng.choice(FORCING_EVENTS)
        self.use_case: str = rng.choice(USE_CASES)
        self.rivals: tuple[str, ...] = tuple(rng.sample(COMPETITORS, 2))
        self.target_days = rng.randint(90, 180)
        self.company_name = company.name
        if rng.random() < 0.1:  # what people type into forms; the account keys absorb it
            self.company_name = company.name.removeprefix("PT ").split(" Pte")[0].split(" Sdn")[0]
        self.exit_reason = ""
        self.score = 0
        self.criteria: dict[str, tuple[str, str]] = {}

    # The plan ----------------------------------------------------------------------------

    def _pick_company(self) -> Company:
        return self.world.pick_company()

    def _arrival(self) -> datetime:
        return self.world.arrival_time()

    def _pick_sdr(self, team: int) -> int:
        return self.rng.choice(self.world.references.sdrs_by_team[team])

    def _plan_steps(self) -> list[Step]:
        """Every step the outcome implies, with delays shaped by DOMAIN.md's SLAs: most are
        met, some are breached so the SLA reports have something to show."""
        rng = self.rng
        outcome = self.outcome
        reached = outcome.reached
        t = self.created
        steps: list[Step] = []

        def step(name: str, status: str | None, delay: timedelta) -> None:
            nonlocal t
            t += delay
            steps.append((name, status, t))

        def leave() -> None:
            if not outcome.exit:
                return
            delay = rng.uniform(4, 480)
            if steps and steps[-1][0] == "discovery" and rng.random() < 0.7:
                delay = rng.uniform(4, 70)  # the AE closes it out soon after discovery
            step(EXIT_MILESTONE[outcome.exit], outcome.exit, hours(delay))

        if reached == LeadStatus.NEW:
            leave()
            return steps
        step("mql_at", LeadStatus.MQL, hours(rng.expovariate(1 / 6)))
        # Routed within seconds; one in twenty waits past the 5 minutes (no rule matched,
        # or the team was short-staffed) until someone assigns it.
        late_route = rng.random() < 0.05
        step(
            "assigned_at",
            None,
            hours(rng.uniform(0.2, 4) if late_route else rng.uniform(0.0005, 0.01)),
        )
        ignored = reached == LeadStatus.MQL and (
            (outcome.exit is None and rng.random() < 0.5)
            or (outcome.exit == LeadStatus.REJECTED and rng.random() < 0.3)
        )
        if not ignored:
            # First contact within 24 hours; about one in eleven is late.
            if self._behind(t, days=2):
                contact = rng.uniform(12, 40)
            elif rng.random() < 0.09:
                contact = rng.uniform(24, 96)
            else:
                contact = min(23.5, rng.expovariate(1 / 5))
            step("first_contacted_at", None, hours(contact))
        # Accept or reject within 5 business days; one in fourteen takes longer.
        if self._behind(t, days=8):
            decide = hours(rng.uniform(90, 200))
        else:
            decide = hours(
                rng.uniform(170, 300) if rng.random() < 0.07 else rng.expovariate(1 / 40)
            )
        if reached == LeadStatus.MQL:
            if outcome.exit:
                step(EXIT_MILESTONE[outcome.exit], outcome.exit, decide)
            return steps
        step("accepted_at", LeadStatus.SAL, decide)
        if reached == LeadStatus.SAL:
            leave()
            return steps
        step("qualified_at", LeadStatus.SQL, hours(rng.triangular(48, 500, 150)))
        handed_off = reached == LeadStatus.CONVERTED or rng.random() < 0.55
        if handed_off:
            step("handed_off_at", None, hours(rng.uniform(4, 72)))
            # Discovery within 2 business days; about one in seven slips.
            if self._behind(t, days=4):
                meeting = rng.uniform(20, 90)
            elif rng.random() < 0.15:
                meeting = rng.uniform(50, 120)
            else:
                meeting = rng.uniform(18, 44)
            step("discovery", None, hours(meeting))
        if reached == LeadStatus.CONVERTED:
            # Convert within 3 days of discovery; about one in eight is late.
            if self._behind(t, days=5):
                convert = rng.uniform(40, 130)
            elif rng.random() < 0.12:
                convert = rng.uniform(72, 240)
            else:
                convert = rng.uniform(2, 70)
            step("converted_at", LeadStatus.CONVERTED, hours(convert))
        else:
            leave()
        return steps

    def _behind(self, moment: datetime, *, days: int) -> bool:
        """Work that came in during the last `days` is not all done yet: reps have a
        backlog, so some of today's clocks are at risk or overdue, as on any real day."""
        return self.world.now - moment < timedelta(days=days) and self.rng.random() < 0.35

    def _deal_size_usd(self) -> int:
        low, high = DEAL_SIZE_USD[self.company.segment]
        return int(self.rng.uniform(low, high) / 500) * 500

    # Rows --------------------------------------------------------------------------------

    @property
    def is_converted(self) -> bool:
        return self.status == LeadStatus.CONVERTED

    def write(self, *, contact_id: int | None) -> None:
        """Add the lead's rows to the batch. A converted lead points at `contact_id`, the
        contact its deal story made (so the deal story comes first)."""
        self._add_lead(contact_id)
        self._add_transitions()
        if "handed_off_at" in self.happened_at:
            self._add_handoff()
        self._add_activities()

    def _add_lead(self, contact_id: int | None) -> None:
        rng = self.rng
        company, person, status = self.company, self.person, self.status
        converted = status == LeadStatus.CONVERTED
        score_mu = SCORE_MEANS.get(status, 50)
        values: dict[str, Any] = {
            "id": self.lead_id,
            "company_name": self.company_name,
            "company_domain": f"www.{company.domain}" if rng.random() < 0.1 else company.domain,
            "industry": company.industry,
            "employee_count": company.employees,
            "segment": company.segment,
            "territory": self.territory,
            "country": company.country,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "phone": person.phone if rng.random() < 0.8 else "",
            "job_title": person.job_title,
            "source": self.source,
            "campaign": self.campaign,
            "score": max(0, min(100, int(rng.gauss(score_mu, 12)))),
            "owner_id": self.sdr,
            "team_id": self.team_id,
            "ae_id": self.ae,
            "status": status,
            "created_at": self.created,
            "updated_at": self.past_steps[-1][2] if self.past_steps else self.created,
            "version": 1 + sum(1 for step in self.past_steps if step[1]),
            "is_demo": True,
        }
        for milestone in (*MILESTONES, *EXIT_MILESTONE.values()):
            if milestone in self.happened_at:
                values[milestone] = self.happened_at[milestone]
        if status == LeadStatus.REJECTED:
            values["rejection_reason_id"], values["rejection_note"] = self.world.rejection_reason()
            self.exit_reason = values["rejection_note"]
        elif status in (LeadStatus.NURTURE, LeadStatus.DISQUALIFIED):
            lost = status == LeadStatus.DISQUALIFIED and rng.random() < 0.2
            competitor = rng.choice(COMPETITORS) if lost else ""
            if lost:
                reason = f"Chose {competitor} before we got to discovery."
            elif status == LeadStatus.NURTURE:
                reason = rng.choice(NURTURE_REASONS)
            else:
                reason = rng.choice(DISQUALIFY_REASONS)
            values["lost_to_competitor"] = competitor
            if status == LeadStatus.DISQUALIFIED:
                ids = self.world.references.disqualification_reasons
                code = DISQUALIFY_REASON_CODES.get(reason, "other")
                values["disqualification_reason_id"] = ids.get(code, ids.get("other"))
                values["disqualification_note"] = reason
            self.exit_reason = reason
        if converted:
            values["account_id"] = company.account_id
            values["contact_id"] = contact_id
        self.score = values["score"]
        self.batch.add(Lead, values)

    def _add_transitions(self) -> None:
        previous: str = LeadStatus.NEW
        for _name, status, when in self.past_steps:
            if not status:
                continue
            self.batch.add(
                LeadTransition,
                {
                    "id": self.world.next_id(LeadTransition),
                    "lead_id": self.lead_id,
                    "from_status": previous,
                    "to_status": status,
                    "actor_id": self._transition_actor(status),
                    "reason": self._transition_reason(status),
                    "created_at": when,
                },
            )
            previous = status

    def _transition_actor(self, status: str) -> int | None:
        if status == LeadStatus.MQL:
            return None  # marketing automation scored and routed it
        if status == LeadStatus.CONVERTED:
            return self.ae
        if status in (LeadStatus.NURTURE, LeadStatus.DISQUALIFIED):
            return self.ae or self.sdr  # off-ramps come after the hand-off, if there was one
        return self.sdr

    def _transition_reason(self, status: str) -> str:
        if status == LeadStatus.MQL:
            return MQL_REASONS.get(self.source, "Score crossed the MQL threshold.")
        if status == LeadStatus.SAL:
            return f"Fits the ICP ({self.company.segment}, {self.company.industry}); replied."
        if status == LeadStatus.SQL:
            return "Problem, budget path and decision maker confirmed on the qualification call."
        if status == LeadStatus.CONVERTED:
            if self.is_override:
                return "Converted with the timeline unconfirmed; manager approved the override."
            return "All five criteria confirmed after discovery."
        return self.exit_reason

    def _add_handoff(self) -> None:
        rng = self.rng
        meeting = next(when for name, _s, when in self.planned_steps if name == "discovery")
        held = self.happened_at.get("discovery")
        rating = HANDOFF_RATINGS.pick(rng) if held else None
        company = self.company
        self.batch.add(
            Handoff,
            {
                "id": self.world.next_id(Handoff),
                "lead_id": self.lead_id,
                "from_user_id": self.sdr,
                "to_user_id": self.ae,
                "company_background": f"{company.name}: {company.industry}, about "
                f"{company.employees} staff in {company.country}; fits the ICP.",
                "contacts_org_chart": self._org_chart(),
                "pain_points": "Slow lead follow-up; no shared view of the pipeline.",
                "engagement_history": "Intro call, qualification call, two e-mails.",
                "qualification_notes": f"{self.framework.upper()}: budget, authority and need "
                "confirmed; timeline and decision process for discovery.",
                "recommended_next_step": "Discovery call with the economic buyer.",
                "discovery_meeting_at": meeting,
                "created_at": self.happened_at["handed_off_at"],
                "ae_rating": rating,
                "ae_repeated_discovery": (rating <= 3 or rng.random() < 0.1) if rating else None,
                "discovery_held_at": held,
            },
        )

    def _org_chart(self) -> str:
        person = self.person
        who = f"{person.first_name} {person.last_name} ({person.job_title})"
        if person.is_decision_maker:
            return f"{who} is our contact and signs; IT and procurement review."
        return f"{who} is our champion and reports to the {self.buyer_title}, who signs."

    def _add_activities(self) -> None:
        """What the reps did and still plan to do: the first contact, follow-ups, the
        qualification call, discovery, and a scheduled next action on open leads."""
        at, rng, first = self.happened_at, self.rng, self.person.first_name
        contacted = at.get("first_contacted_at")
        if contacted:
            call = rng.random() < 0.55
            self._add_activity(
                Activity.Kind.CALL if call else Activity.Kind.EMAIL,
                f"Intro call with {first}" if call else f"Intro e-mail to {first}",
                self.sdr,
                contacted,
                first_contact=True,
            )
            decided = next(
                (when for name, status, when in self.past_steps if status and when > contacted),
                self.world.now,
            )
            for _ in range(rng.choice((0, 1, 1, 2))):
                when = contacted + (decided - contacted) * rng.random()
                kind, subject = rng.choice(FOLLOW_UPS)
                self._add_activity(kind, subject, self.sdr, when)
        if "accepted_at" in at:
            until = at.get("qualified_at") or self.past_steps[-1][2]
            when = at["accepted_at"] + (until - at["accepted_at"]) * 0.4
            self._add_activity(Activity.Kind.CALL, "Qualification call", self.sdr, when)
        if "qualified_at" in at:
            self._add_activity(
                Activity.Kind.NOTE,
                f"{self.framework.upper()} qualification notes",
                self.sdr,
                at["qualified_at"],
                body="Budget, authority and need confirmed; see the qualification tab.",
            )
        if "handed_off_at" in at:
            meeting = next(when for name, _s, when in self.planned_steps if name == "discovery")
            if "discovery" in at:
                self._add_activity(Activity.Kind.MEETING, "Discovery call", self.ae, meeting)
            else:
                self._add_pending_activity(
                    "Discovery call", self.ae, meeting, Activity.Kind.MEETING
                )
                return
        if self.status in Lead.OPEN_STATUSES and self.sdr:
            now = self.world.now
            due = now + (
                hours(rng.uniform(1, 170)) if rng.random() < 0.75 else -hours(rng.uniform(1, 100))
            )
            self._add_pending_activity("Follow up", self.ae or self.sdr, due, Activity.Kind.TASK)

    def _add_activity(
        self,
        kind: str,
        subject: str,
        owner: int | None,
        when: datetime,
        *,
        first_contact: bool = False,
        body: str = "",
    ) -> None:
        self.batch.add(
            Activity,
            {
                "id": self.world.next_id(Activity),
                "kind": kind,
                "lead_id": self.lead_id,
                "owner_id": owner,
                "subject": subject,
                "body": body,
                "occurred_at": when,
                "completed_at": when,
                "is_first_contact": first_contact,
                "created_at": when,
                "is_demo": True,
            },
        )

    def _add_pending_activity(
        self, subject: str, owner: int | None, due: datetime, kind: str
    ) -> None:
        """A pending activity: due (often in the future), not done yet."""
        last = self.past_steps[-1][2] if self.past_steps else self.created
        self.batch.add(
            Activity,
            {
                "id": self.world.next_id(Activity),
                "kind": kind,
                "lead_id": self.lead_id,
                "owner_id": owner,
                "subject": subject,
                "due_at": due,
                "created_at": last + (self.world.now - last) * self.rng.random(),
                "is_demo": True,
            },
        )
