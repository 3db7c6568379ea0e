"""KPIs per owner or team: lead count and quality, open pipeline, deal size and close
rate, from three GROUP BYs (leads created, deals open now, deals closed in the period)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reports.cohorts import ReportRequest
from reports.dimensions import dimension
from reports.rollups.leads import LEADS_CREATED
from reports.rollups.opportunities import OPPORTUNITIES_CLOSED
from reports.rollups.reading import cohort_figures
from reports.selectors.pipeline import Money, open_deal_figures
from reports.selectors.tally import percent_share


@dataclass
class PersonKpis:
    """One owner's (or team's) leads, open pipeline and closed deals."""

    key: Any
    label: str
    param: str
    leads: int = 0
    converted: int = 0
    average_score: float | None = None
    open_count: int = 0
    open_amount: Money = field(default_factory=Money)
    weighted: Money = field(default_factory=Money)
    won: int = 0
    lost: int = 0
    won_amount: Money = field(default_factory=Money)
    probability_sum: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return percent_share(self.converted, self.leads)

    @property
    def win_rate(self) -> float | None:
        return percent_share(self.won, self.won + self.lost)

    @property
    def average_probability(self) -> float | None:
        return self.probability_sum / self.open_count if self.open_count else None

    def average_won(self) -> list[tuple[str, Decimal]]:
        return [(c, a / self.won) for c, a in self.won_amount.items()] if self.won else []


def kpis_by(r: ReportRequest, by: str = "owner") -> list[PersonKpis]:
    """Lead count and quality, pipeline, deal size and close rate per owner or team:
    three GROUP BYs (leads created, deals open now, deals closed in the period)."""
    lead_dim = dimension(by, "leads")
    deal_dim = dimension(by, "opportunities")
    leads = cohort_figures(LEADS_CREATED, r, [lead_dim.column], ["leads", "converted", "score_sum"])
    open_deals = open_deal_figures(r, [deal_dim.column, "currency"])
    closed = cohort_figures(
        OPPORTUNITIES_CLOSED,
        r,
        [deal_dim.column, "currency"],
        ["won", "lost", "won_amount"],
    )
    leads = {k: v for k, v in leads.items() if v["leads"]}
    closed = {k: v for k, v in closed.items() if v["won"] or v["lost"]}
    keys = {k for (k,) in leads} | {k for k, _c in open_deals} | {k for k, _c in closed}
    labels = lead_dim.labels(keys)
    people = {k: PersonKpis(k, labels.get(k, str(k)), lead_dim.param(k)) for k in keys}
    for (key,), values in leads.items():
        person = people[key]
        person.leads, person.converted = values["leads"], values["converted"]
        person.average_score = values["score_sum"] / values["leads"]
    for (key, currency), values in open_deals.items():
        person = people[key]
        person.open_count += values["count"]
        person.open_amount.add(currency, values["amount_sum"])
        person.weighted.add(currency, values["weighted"])
        person.probability_sum += values["probability_sum"]
    for (key, currency), values in closed.items():
        person = people[key]
        person.won += values["won"]
        person.lost += values["lost"]
        if values["won_amount"]:
            person.won_amount.add(currency, Decimal(values["won_amount"]))
    return sorted(people.values(), key=lambda p: (p.key is None, -p.open_count, -p.leads, p.label))
