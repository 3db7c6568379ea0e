"""A lead's five criteria as far as its story got: every lead has its qualification record
(intake makes one for each), so whoever opens a lead in the demo can carry on with it.

- Not yet accepted: all unknown; after the intro call the SDR sometimes noted the need.
- Accepted (SAL): part of the way there, further the nearer the lead is to its planned
  qualification: some criteria confirmed, the rest in progress or unknown.
- SQL: need, budget and authority confirmed; timeline and decision process in progress
  until discovery confirms them.
- Converted: all five confirmed (an override conversion had its timeline waived).

Confirmed criteria always carry evidence, in words a rep would write, never a placeholder.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from demo.vocabulary import DECISION_CRITERIA
from leads.models import CriterionStatus, LeadStatus, Qualification

if TYPE_CHECKING:
    from demo.lead_story import LeadStory

CONFIRMED, IN_PROGRESS, UNKNOWN = (
    CriterionStatus.CONFIRMED,
    CriterionStatus.IN_PROGRESS,
    CriterionStatus.UNKNOWN,
)
CRITERIA = Qualification.CRITERIA
# The order reps usually pin the first three down in: the problem, then money, then who signs.
FIRST_THREE = ("need", "budget", "authority")

BUDGET_EVIDENCE = (
    "{holder} has about USD {k}k set aside in the FY{year} budget.",
    "{holder} confirmed USD {k}k for this in the {year} plan; approved last month.",
    "No line item yet; {holder} will fund it (about USD {k}k) from the sales-tools budget.",
)
BUDGET_PROGRESS = (
    "Budget discussed; {holder} to confirm the amount after planning.",
    "They spend about USD {k}k a year on the current tool; moving that budget is open.",
)
AUTHORITY_EVIDENCE = (
    "{holder} signs; joined the qualification call.",
    "{holder} is the economic buyer; the {title} champions it internally.",
    "{holder} approves spend above USD 20k; met on the second call.",
)
AUTHORITY_PROGRESS = (
    "Our contact is the {title}; the {holder} signs but we have not met yet.",
    "Intro to the {holder} promised for next week.",
)
NEED_EVIDENCE = (
    "{industry} team loses deals to slow follow-up; wants {use_case}.",
    "Leads wait two days for a first call; they need {use_case} this year.",
    "Spreadsheet pipeline, no SLA tracking; {use_case} is the priority.",
)
NEED_PROGRESS = (
    "Asked about {use_case} on the intro call; pain not quantified yet.",
    "Mentioned slow lead follow-up; to dig in on the qualification call.",
)
TIMELINE_EVIDENCE = (
    "{forcing} on {target:%d %b %Y}; they want to go live before it.",
    "{forcing}: decision by {target:%d %b %Y}.",
)
TIMELINE_PROGRESS = (
    "Aiming for this half-year; no date committed yet.",
    "Depends on {forcing_lower}; date to confirm in discovery.",
)
DECISION_EVIDENCE = (
    "{holder}, IT and procurement; comparing us with {vendors}.",
    "Security review, then {holder} signs; shortlist is us and {vendors}.",
)
DECISION_PROGRESS = (
    "IT will be involved; the rest of the process comes up in discovery.",
    "They are also talking to {vendors}; evaluation steps not mapped yet.",
)
# A lead nobody has worked on yet: every criterion unknown (never modified).
UNTOUCHED: dict[str, str] = dict.fromkeys(CRITERIA, UNKNOWN)
# Per criterion: (evidence when confirmed, notes while in progress).
TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "budget": (BUDGET_EVIDENCE, BUDGET_PROGRESS),
    "authority": (AUTHORITY_EVIDENCE, AUTHORITY_PROGRESS),
    "need": (NEED_EVIDENCE, NEED_PROGRESS),
    "timeline": (TIMELINE_EVIDENCE, TIMELINE_PROGRESS),
    "decision": (DECISION_EVIDENCE, DECISION_PROGRESS),
}


def add_qualification(lead: LeadStory) -> None:
    """The lead's qualification row, and `lead.criteria` for its conversion snapshot."""
    at = lead.happened_at
    if "qualified_at" in at:
        statuses = _qualified(lead)
    elif "accepted_at" in at:
        statuses = _accepted(lead)
    else:
        statuses = _not_accepted(lead)
        if statuses is UNTOUCHED:  # most leads: the record as intake made it
            lead.criteria = dict.fromkeys(CRITERIA, (UNKNOWN, ""))
            lead.batch.add(
                Qualification,
                {
                    "id": lead.world.next_id(Qualification),
                    "lead_id": lead.lead_id,
                    "framework": lead.framework,
                    "updated_at": lead.created,
                },
            )
            return
    lead.criteria = {}
    rng = lead.rng
    words: dict[str, Any] | None = None
    for name in CRITERIA:
        status = statuses[name]
        template = ""
        if status == CONFIRMED:
            template = rng.choice(TEXTS[name][0])
        elif status == IN_PROGRESS and rng.random() < 0.7:
            template = rng.choice(TEXTS[name][1])
        if template and words is None:
            words = _words(lead)
        lead.criteria[name] = (status, template.format(**words) if words and template else "")
    values: dict[str, Any] = {
        "id": lead.world.next_id(Qualification),
        "lead_id": lead.lead_id,
        "framework": lead.framework,
        **_details(lead, statuses),
    }
    values["updated_at"], values["updated_by_id"] = _last_update(lead, statuses)
    for name, (status, evidence) in lead.criteria.items():
        values[f"{name}_status"] = status
        values[f"{name}_evidence"] = evidence
    lead.batch.add(Qualification, values)


def _not_accepted(lead: LeadStory) -> dict[str, str]:
    if "first_contacted_at" in lead.happened_at and lead.rng.random() < 0.35:
        return dict(UNTOUCHED, need=IN_PROGRESS)
    return UNTOUCHED


def _accepted(lead: LeadStory) -> dict[str, str]:
    """Part of the way: the nearer the planned qualification, the more is confirmed."""
    rng, progress = lead.rng, _progress(lead)
    statuses: dict[str, str] = dict.fromkeys(CRITERIA, UNKNOWN)
    for rank, name in enumerate(FIRST_THREE):
        chance = progress * (1.3 - 0.25 * rank)
        if rng.random() < chance:
            statuses[name] = CONFIRMED
        elif rng.random() < 0.8:
            statuses[name] = IN_PROGRESS
    if all(statuses[name] == UNKNOWN for name in FIRST_THREE):
        statuses["need"] = IN_PROGRESS
    if rng.random() < 0.25:
        statuses["timeline"] = IN_PROGRESS
    return statuses


def _progress(lead: LeadStory) -> float:
    """How far a SAL lead is from acceptance to the qualification it is heading for (0-1);
    a lead not heading there stalled somewhere along the way."""
    accepted = lead.happened_at["accepted_at"]
    planned = next((when for name, _s, when in lead.planned_steps if name == "qualified_at"), None)
    if planned is None:
        return lead.rng.uniform(0.1, 0.7)
    now = lead.world.now
    return max(0.0, min(1.0, (now - accepted) / (planned - accepted)))


def _qualified(lead: LeadStory) -> dict[str, str]:
    discovered = "discovery" in lead.happened_at
    statuses: dict[str, str] = dict.fromkeys(FIRST_THREE, CONFIRMED)
    if discovered:
        statuses["timeline"] = statuses["decision"] = CONFIRMED
    else:
        statuses["timeline"] = CONFIRMED if lead.rng.random() < 0.3 else IN_PROGRESS
        statuses["decision"] = IN_PROGRESS if lead.rng.random() < 0.7 else UNKNOWN
    if lead.is_override:
        statuses["timeline"] = IN_PROGRESS
    return statuses


def _target_date(lead: LeadStory) -> date:
    at = lead.happened_at
    start: datetime = at.get("qualified_at") or at.get("accepted_at") or lead.created
    return start.date() + timedelta(days=lead.target_days)


def _words(lead: LeadStory) -> dict[str, Any]:
    """What the evidence templates fill in."""
    target = _target_date(lead)
    return {
        "holder": lead.buyer_title,
        "title": lead.person.job_title,
        "k": lead.deal_usd // 1000,
        "year": target.year,
        "industry": lead.company.industry,
        "use_case": lead.use_case.lower(),
        "forcing": lead.forcing_event,
        "forcing_lower": lead.forcing_event[:1].lower() + lead.forcing_event[1:],
        "target": target,
        "vendors": " and ".join(lead.rivals),
    }


def _details(lead: LeadStory, statuses: dict[str, str]) -> dict[str, Any]:
    """The detail fields of each criterion someone has worked on."""
    holder, started = lead.buyer_title, (UNKNOWN,)
    target = _target_date(lead)
    values: dict[str, Any] = {}
    if statuses["budget"] not in started:
        values |= {"budget_holder": holder, "budget_cycle": f"FY{target.year}"}
    if statuses["budget"] == CONFIRMED:
        values["budget_approval_process"] = "Department head proposes, CFO approves."
    if statuses["authority"] not in started:
        values["economic_buyer"] = holder
    if statuses["authority"] == CONFIRMED:
        values["decision_unit"] = f"{holder}, IT lead, procurement"
    if statuses["need"] not in started:
        values["need_problem"] = "Leads wait days for a first call."
    if statuses["need"] == CONFIRMED:
        values |= {
            "need_cost_of_inaction": "About a fifth of inbound demand lost each quarter.",
            "need_why_now": lead.forcing_event,
        }
    if statuses["timeline"] == CONFIRMED:
        values |= {"timeline_forcing_event": lead.forcing_event, "timeline_target_date": target}
    if statuses["decision"] not in started:
        values["decision_other_vendors"] = ", ".join(lead.rivals)
    if statuses["decision"] == CONFIRMED:
        values |= {
            "decision_people": f"{holder}, IT lead, procurement",
            "decision_criteria": lead.rng.choice(DECISION_CRITERIA),
            "decision_evaluation_timeline": "Two-week pilot, then security review",
        }
    if "qualified_at" in lead.happened_at:
        values["notes"] = f"{lead.framework.upper()} notes from the qualification call."
    return values


def _last_update(lead: LeadStory, statuses: dict[str, str]) -> tuple[datetime, int | None]:
    """When the criteria were last saved, and by whom: intake (nobody) if never since."""
    at = lead.happened_at
    if "discovery" in at:
        return at["discovery"], lead.ae
    if "qualified_at" in at:
        return at["qualified_at"], lead.sdr
    if "accepted_at" in at:
        until = lead.world.now if lead.status == LeadStatus.SAL else lead.past_steps[-1][2]
        start = at["accepted_at"]
        return start + (until - start) * lead.rng.random(), lead.sdr
    if any(status != UNKNOWN for status in statuses.values()):
        return at["first_contacted_at"], lead.sdr
    return lead.created, None
