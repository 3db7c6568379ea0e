"""Every rep's desk today: a few fresh leads whose clocks, with the default SLA policies,
are on track, at risk and overdue right now, so each demo login opens My work, the lead
list and the bell to work that needs them, whatever the size or seed of the demo.

The year's history makes such leads too, but by chance: a small demo, or an unlucky seed,
can leave a rep with nothing at risk today. A desk lead is an ordinary lead story with a
fixed recent plan; it routes by the rules to its rep's team like any other.

- An SDR's desk: three new MQLs not contacted yet, assigned 3, 20 and 30 hours ago (first
  contact is due within 24 hours, with a warning at 18 and the manager told at 28); and a
  lead accepted yesterday, its criteria part-way, to qualify.
- An AE's desk: an SQL handed off 3 hours ago, discovery booked for tomorrow; and two SQLs
  whose discovery was 60 and 80 hours ago, all five criteria confirmed, not yet converted
  (conversion is due within 3 days, with a warning at 54 hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from demo.funnel import Outcome
from demo.lead_story import LeadStory, Step
from demo.people import Company
from demo.rows import Batch
from demo.world import DemoWorld, hours
from leads.models import LeadStatus, Segment, Source

# Hours since the SDR's lead was assigned, by how its first-contact clock stands.
SDR_DESK = {"on_track": 3.0, "at_risk": 20.0, "overdue": 30.0}
# Hours since the SDR's lead to qualify was assigned (accepted the day after).
SDR_QUALIFYING = 50.0
# Hours since the AE's discovery call (None: handed off 3 hours ago, discovery tomorrow).
AE_DESK: dict[str, float | None] = {"on_track": None, "at_risk": 60.0, "overdue": 80.0}
# A desk lead comes in at most once per this many leads, so a tiny demo stays a history.
LEADS_PER_DESK_LEAD = 10


@dataclass(frozen=True)
class DeskPlan:
    rep: int
    is_ae: bool
    hours_ago: float | None
    source: str
    accepted: bool = False


def desk_plans(world: DemoWorld, leads: int) -> list[DeskPlan]:
    """The desk leads of every demo SDR and AE, if `leads` leaves room for them."""
    references = world.references
    source_of_team: dict[int, str] = {}
    for source, team in references.team_by_source.items():
        source_of_team.setdefault(team, source)
    plans = []
    for team, sdrs in sorted(references.sdrs_by_team.items()):
        source = source_of_team.get(team, Source.INBOUND)
        for sdr in sdrs:
            plans += [DeskPlan(sdr, False, ago, source) for ago in SDR_DESK.values()]
            plans.append(DeskPlan(sdr, False, SDR_QUALIFYING, source, accepted=True))
    plans += [
        DeskPlan(ae, True, ago, Source.INBOUND) for ae in references.aes for ago in AE_DESK.values()
    ]
    return plans if len(plans) * LEADS_PER_DESK_LEAD <= leads else []


class DeskStory(LeadStory):
    """A lead story with a fixed plan ending now, owned by the rep of `plan`."""

    def __init__(self, world: DemoWorld, batch: Batch, plan: DeskPlan) -> None:
        self.plan = plan
        reached = LeadStatus.SAL if plan.accepted else LeadStatus.MQL
        super().__init__(
            world, batch, plan.source, Outcome(LeadStatus.SQL if plan.is_ae else reached)
        )

    def _pick_company(self) -> Company:
        """A company the rules route to the rep's team (not an enterprise, which goes to
        the ABM team), and for an AE one of their own accounts."""
        companies = [
            c
            for c in self.world.companies
            if c.segment != Segment.ENTERPRISE
            and (not self.plan.is_ae or c.owner_id == self.plan.rep)
        ]
        return self.rng.choice(companies or self.world.companies)

    def _pick_sdr(self, team: int) -> int:
        if not self.plan.is_ae and self.plan.rep in self.world.references.sdrs_by_team[team]:
            return self.plan.rep
        return super()._pick_sdr(team)

    def _arrival(self) -> datetime:
        now = self.world.now
        if not self.plan.is_ae:
            return now - hours((self.plan.hours_ago or 0) + 0.3)
        return now - timedelta(days=self.rng.uniform(12, 20))

    def _plan_steps(self) -> list[Step]:
        now, plan = self.world.now, self.plan
        t = self.created
        mql = t + hours(0.25)
        assigned = mql + hours(0.01)
        if not plan.is_ae:
            steps: list[Step] = [("mql_at", LeadStatus.MQL, mql), ("assigned_at", None, assigned)]
            if plan.accepted:
                steps.append(("first_contacted_at", None, assigned + hours(3)))
                steps.append(("accepted_at", LeadStatus.SAL, assigned + hours(24)))
            return steps
        if plan.hours_ago is None:
            handed_off, discovery = now - hours(3), now + hours(22)
        else:
            discovery = now - hours(plan.hours_ago)
            handed_off = discovery - hours(26)
        qualified = handed_off - hours(30)
        return [
            ("mql_at", LeadStatus.MQL, mql),
            ("assigned_at", None, assigned),
            ("first_contacted_at", None, mql + hours(2)),
            ("accepted_at", LeadStatus.SAL, mql + hours(20)),
            ("qualified_at", LeadStatus.SQL, qualified),
            ("handed_off_at", None, handed_off),
            ("discovery", None, discovery),
        ]
