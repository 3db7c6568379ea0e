"""The deal a converted lead became: the opportunity, its contact roles, its walk through
the pipeline cut at `now`, the conversion snapshot and the activities along the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from demo.funnel import DEAL_FATES, LOST_AT_WEIGHTS
from demo.lead_story import LeadStory
from demo.references import StageRef
from demo.vocabulary import (
    CLOSE_DATE_REASON,
    DECISION_CRITERIA,
    DISCOUNT_NOTES,
    LOST_REASONS,
    NEXT_STEPS,
    PRODUCT_LINES,
    RISKS,
    STAGE_ACTIVITIES,
)
from demo.world import hours
from leads.models import Activity
from opportunities.models import (
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    StageChange,
)

Approval = Opportunity.Approval
# A stage the deal entered, and when.
StageMove = tuple[StageRef, datetime]


class DealStory:
    """The opportunity a converted lead became and its walk through the pipeline, cut at
    `now` like the lead's story: old deals are closed or stalled, recent ones are open."""

    def __init__(self, lead: LeadStory) -> None:
        self.lead = lead
        self.rng = lead.rng
        self.opened = lead.happened_at["converted_at"]
        self.opportunity_id = lead.world.next_id(Opportunity)
        self.roles = self._buying_team()
        self.contact_id = self.roles[0][0]

    def write(self) -> None:
        lead, world, rng = self.lead, self.lead.world, self.rng
        moves = [move for move in self._planned_stage_moves() if move[1] <= world.now]
        stage, entered = moves[-1]
        pipeline = world.references.pipeline
        closed_at = next((when for s, when in moves if s in (pipeline.won, pipeline.lost)), None)
        lost = stage == pipeline.lost
        lost_reason, to_competitor = rng.choice(LOST_REASONS) if lost else ("", False)
        rivals = lead.rivals
        company = lead.company
        currency, amount = self._currency_and_amount()
        approval = Approval.APPROVED if lead.is_override else Approval.NOT_NEEDED
        product = rng.choice(PRODUCT_LINES)
        use_case = lead.use_case
        # Expected close 90-180 days out (DOMAIN.md); a few outside it, with a reason.
        window = rng.randint(90, 180) if rng.random() < 0.94 else rng.choice((45, 60, 240, 270))
        if closed_at:
            next_step = "Hand over to customer success" if not lost else "Revisit next budget cycle"
            next_due = closed_at.date() + timedelta(days=rng.randint(3, 14))
        else:
            next_step = NEXT_STEPS.get(stage.name, f"Move the deal past {stage.name}")
            next_due = world.now.date() + timedelta(days=rng.randint(-4, 14))
        lead.batch.add(
            Opportunity,
            {
                "id": self.opportunity_id,
                "name": f"{company.name} - {product} - {use_case}",
                "lead_id": lead.lead_id,
                "account_id": company.account_id,
                "primary_contact_id": self.contact_id,
                "owner_id": lead.ae,
                "amount": amount,
                "currency": currency,
                "discount_notes": rng.choice(DISCOUNT_NOTES),
                "expected_close_date": self.opened.date() + timedelta(days=window),
                "close_date_reason": "" if 90 <= window <= 180 else CLOSE_DATE_REASON,
                "stage_id": stage.id,
                "probability": stage.probability,
                "next_step": next_step,
                "next_step_owner_id": lead.ae,
                "next_step_due": next_due,
                "source": lead.source,
                "campaign": lead.campaign,
                "lead_score_at_conversion": lead.score,
                "qualification_framework": lead.framework,
                "qualification_summary": " ".join(text for _s, text in lead.criteria.values()),
                "product_line": product,
                "use_case": use_case,
                "industry_vertical": company.industry,
                "decision_criteria": rng.choice(DECISION_CRITERIA),
                "competitive_landscape": f"Also evaluating {' and '.join(rivals)}.",
                "risks": rng.choice(RISKS),
                "lost_reason": lost_reason,
                "lost_to_competitor": rivals[0] if to_competitor else "",
                "closed_at": closed_at,
                "approval": approval,
                "is_override": lead.is_override,
                "stage_entered_at": entered,
                "created_at": self.opened,
                "updated_at": entered,
                "created_by_id": lead.ae,
                "version": len(moves),
                "is_demo": True,
            },
        )
        self._add_contact_roles()
        self._add_stage_changes(moves)
        self._add_conversion_snapshot()
        if not closed_at:
            due = datetime.combine(next_due, datetime.min.time(), UTC) + hours(9)
            self._add_activity(Activity.Kind.TASK, next_step, due, done=False)

    def _planned_stage_moves(self) -> list[StageMove]:
        """The deal's planned stage history: entry stage at conversion, then on to won,
        lost or nowhere (stalled)."""
        rng, pipeline = self.rng, self.lead.world.references.pipeline
        entry = pipeline.entry[0] if rng.random() < 0.7 else rng.choice(pipeline.entry)
        path = list(pipeline.open[pipeline.open.index(entry) :])
        fate = DEAL_FATES.pick(rng)
        if fate == "stalled":
            path = [entry]
        elif fate == "lost":
            weights = LOST_AT_WEIGHTS[: len(path)] + (5,) * max(0, len(path) - len(LOST_AT_WEIGHTS))
            path = path[: rng.choices(range(len(path)), weights=weights)[0] + 1] + [pipeline.lost]
        else:
            path.append(pipeline.won)
            if pipeline.after_won and rng.random() < 0.4:
                path.append(pipeline.after_won)
        moves, when = [], self.opened
        for index, stage in enumerate(path):
            if index:
                when += timedelta(days=1 + rng.expovariate(1 / 12))
            moves.append((stage, when))
        return moves

    def _currency_and_amount(self) -> tuple[str, Decimal]:
        """USD mostly; euros in the euro area, rupiah for half the Indonesian deals."""
        usd, country = self.lead.deal_usd, self.lead.company.country
        if country in ("DE", "NL"):
            return "EUR", Decimal(round(usd * 0.92, -2))
        if country == "ID" and self.rng.random() < 0.5:
            return "IDR", Decimal(round(usd * 16_000, -6))
        return "USD", Decimal(usd)

    def _buying_team(self) -> list[tuple[int, str]]:
        """Contacts and their roles: the lead's person as economic buyer if they can sign,
        else as champion reporting to a new economic buyer; sometimes an evaluator. Created
        before the lead row, which points at its contact."""
        lead, world, rng = self.lead, self.lead.world, self.rng
        roles = OpportunityContactRole.Role
        company, person, opened = lead.company, lead.person, self.opened
        if person.is_decision_maker:
            people = [(world.contact(lead.batch, company, person, opened), roles.ECONOMIC_BUYER)]
        else:
            buyer = world.person_at(company, title=(lead.buyer_title, True))
            buyer_id = world.contact(lead.batch, company, buyer, opened)
            champion_id = world.contact(lead.batch, company, person, opened, reports_to=buyer_id)
            people = [(champion_id, roles.CHAMPION), (buyer_id, roles.ECONOMIC_BUYER)]
        if rng.random() < 0.4:
            title = rng.choice(("IT Manager", "Data Engineer"))
            evaluator = world.person_at(company, title=(title, False))
            evaluator_id = world.contact(lead.batch, company, evaluator, opened)
            people.append((evaluator_id, roles.TECHNICAL_EVALUATOR))
        return list(dict.fromkeys(people))  # one row per (contact, role), as the key demands

    def _add_contact_roles(self) -> None:
        for contact_id, role in self.roles:
            self.lead.batch.add(
                OpportunityContactRole,
                {
                    "id": self.lead.world.next_id(OpportunityContactRole),
                    "opportunity_id": self.opportunity_id,
                    "contact_id": contact_id,
                    "role": role,
                },
            )

    def _add_stage_changes(self, moves: list[StageMove]) -> None:
        lead, world = self.lead, self.lead.world
        previous: StageMove | None = None
        for stage, when in moves:
            row = {
                "id": world.next_id(StageChange),
                "opportunity_id": self.opportunity_id,
                "from_stage_id": previous[0].id if previous else None,
                "to_stage_id": stage.id,
                "actor_id": lead.ae,
                "changed_at": when,
                "time_in_previous_stage": when - previous[1] if previous else None,
                "reason": "Converted from lead" if previous is None else "",
            }
            lead.batch.add(StageChange, row)
            if previous is not None:
                pipeline = world.references.pipeline
                if stage == pipeline.won:
                    self._add_activity(Activity.Kind.NOTE, "Contract signed", when)
                elif stage == pipeline.lost:
                    self._add_activity(Activity.Kind.NOTE, "Closed lost", when)
                elif stage.name in STAGE_ACTIVITIES:
                    kind, subject = STAGE_ACTIVITIES[stage.name]
                    self._add_activity(kind, subject, when)
            previous = (stage, when)

    def _add_conversion_snapshot(self) -> None:
        lead = self.lead
        unmet = ["timeline"] if lead.is_override else []
        lead.batch.add(
            ConversionSnapshot,
            {
                "id": lead.world.next_id(ConversionSnapshot),
                "opportunity_id": self.opportunity_id,
                "lead_id": lead.lead_id,
                "converted_by_id": lead.ae,
                "created_at": self.opened,
                "criteria": {
                    name: {"status": status, "evidence": text}
                    for name, (status, text) in lead.criteria.items()
                },
                "lead_score": lead.score,
                "qualification_notes": f"{lead.framework.upper()} notes from qualification.",
                "handoff": {"from_user": lead.sdr, "to_user": lead.ae},
                "unmet_overridden": unmet,
                "override_rationale": (
                    "Customer's board approves the date next month; the rest is confirmed."
                    if unmet
                    else ""
                ),
            },
        )

    def _add_activity(self, kind: str, subject: str, when: datetime, *, done: bool = True) -> None:
        lead = self.lead
        lead.batch.add(
            Activity,
            {
                "id": lead.world.next_id(Activity),
                "kind": kind,
                "opportunity_id": self.opportunity_id,
                "owner_id": lead.ae,
                "subject": subject,
                "occurred_at": when if done else None,
                "due_at": None if done else when,
                "completed_at": when if done else None,
                "created_at": when
                if done
                else max(self.opened, lead.world.now - hours(self.rng.uniform(1, 72))),
                "is_demo": True,
            },
        )
