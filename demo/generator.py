"""DemoGenerator: the accounts first, then the leads a chunk at a time, each lead with
the deal it became, if it converted."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.db import models

from crm.models import Account, normalize_company_name, normalize_domain
from demo.clock_story import ClockStory
from demo.deal_story import DealStory
from demo.desk import DeskStory, desk_plans
from demo.funnel import CONVERSION_TARGETS, CONVERTED, SOURCE_MIX, Outcome, outcome_shares
from demo.lead_story import LeadStory
from demo.people import (
    Company,
    indonesian_name_spaces,
    international_name_spaces,
    segment_for,
    unique_company_names,
)
from demo.qualification import add_qualification
from demo.randomness import allocate_by_quota
from demo.references import ReferenceIds, TakenKeys
from demo.rows import Batch
from demo.targets import month_of, mql_targets
from demo.vocabulary import COUNTRIES, LEGAL_SUFFIX, TLD
from demo.world import DemoWorld
from leads.models import Segment
from reports.models import MqlTarget

CHUNK_SIZE = 20_000
LEADS_PER_ACCOUNT = 5


class DemoGenerator:
    """Builds the rows. Pure: reads nothing from the database, only `references` and the
    ids it is told to start from, so a test can run it twice and compare."""

    def __init__(
        self,
        *,
        leads: int,
        seed: int,
        now: datetime,
        references: ReferenceIds,
        first_ids: dict[type[models.Model], int] | None = None,
        taken: TakenKeys | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.leads = leads
        self.chunk_size = chunk_size
        self.world = DemoWorld(
            seed=seed, now=now, references=references, first_ids=first_ids, taken=taken
        )
        self._sources = list(SOURCE_MIX)
        self._source_cumulative_weights = list(itertools.accumulate(SOURCE_MIX.values()))
        self._outcome_shares = {
            source: outcome_shares(rate) for source, rate in CONVERSION_TARGETS.items()
        }
        # MQLs delivered: by the month the lead came in, and its source.
        self.delivered: Counter[tuple[date, str]] = Counter()

    def account_batch(self) -> Batch:
        """The companies leads come from, about one per five leads, so accounts collect
        several leads and, over time, several opportunities."""
        world = self.world
        rng = world.rng
        count = max(20, self.leads // LEADS_PER_ACCOUNT)
        countries = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()), k=count)
        n_indonesian = countries.count("ID")
        indonesian_names = iter(unique_company_names(rng, n_indonesian, indonesian_name_spaces()))
        international_names = iter(
            unique_company_names(rng, count - n_indonesian, international_name_spaces())
        )
        batch = Batch()
        seen_domains = set(world.taken.domains)
        for country in countries:
            name, base, industry = next(
                indonesian_names if country == "ID" else international_names
            )
            domain = f"{base}{TLD[country]}"
            if domain in seen_domains:  # a real account has it, or a numbered copy repeats
                continue
            seen_domains.add(domain)
            if country != "ID" and rng.random() < 0.6:
                name = f"{name} {LEGAL_SUFFIX[country]}"
            employees = max(3, min(80_000, int(rng.lognormvariate(4.5, 1.5))))
            segment = segment_for(employees)
            company = Company(
                account_id=world.next_id(Account),
                name=name,
                domain=domain,
                country=country,
                industry=industry,
                employees=employees,
                segment=segment,
                owner_id=rng.choice(world.references.aes),
            )
            world.companies.append(company)
            strategic = segment == Segment.ENTERPRISE and rng.random() < 0.4
            created = world.start - timedelta(days=rng.uniform(1, 700))
            batch.add(
                Account,
                {
                    "id": company.account_id,
                    "name": name,
                    "domain": domain,
                    "normalized_domain": normalize_domain(domain),
                    "normalized_name": normalize_company_name(name),
                    "industry": industry,
                    "employee_count": employees,
                    "country": country,
                    "owner_id": company.owner_id,
                    "is_strategic": strategic,
                    "account_plan": (
                        "Land with the Core Platform in one business unit, expand to the "
                        "group within 18 months; quarterly business reviews with the CFO."
                        if strategic
                        else ""
                    ),
                    "is_demo": True,
                    "created_at": created,
                    "updated_at": created,
                },
            )
        return batch

    def lead_batches(self) -> Iterator[Batch]:
        """The leads and everything hanging off them, `chunk_size` leads per batch."""
        if not self.world.companies:
            raise RuntimeError("Call account_batch() before lead_batches().")
        desk = desk_plans(self.world, self.leads)
        remaining = self.leads - len(desk)
        while remaining > 0:
            size = min(self.chunk_size, remaining)
            yield self._lead_chunk(size)
            remaining -= size
        if desk:
            batch = Batch()
            for plan in desk:
                self._write_story(DeskStory(self.world, batch, plan))
            yield batch

    def _lead_chunk(self, size: int) -> Batch:
        """`size` leads whose outcomes meet each source's quotas (see allocate_by_quota)."""
        rng = self.world.rng
        sources = rng.choices(self._sources, cum_weights=self._source_cumulative_weights, k=size)
        by_source: dict[str, list[int]] = defaultdict(list)
        for i, source in enumerate(sources):
            by_source[source].append(i)
        outcomes: list[Outcome] = [CONVERTED] * size
        for source, indexes in by_source.items():
            allocated = allocate_by_quota(rng, len(indexes), self._outcome_shares[source])
            for i, outcome in zip(indexes, allocated, strict=True):
                outcomes[i] = outcome
        batch = Batch()
        for source, outcome in zip(sources, outcomes, strict=True):
            self._write_story(LeadStory(self.world, batch, source, outcome))
        return batch

    def _write_story(self, lead: LeadStory) -> None:
        """A lead, its clocks and, if it converted, its deal. The deal story starts first:
        it makes the contacts the converted lead points at."""
        deal = DealStory(lead) if lead.is_converted else None
        lead.write(contact_id=deal.contact_id if deal else None)
        add_qualification(lead)
        if deal:
            deal.write()
        ClockStory(lead).write()
        if "mql_at" in lead.happened_at:
            self.delivered[(month_of(lead.created), lead.source)] += 1

    def mql_targets(self) -> list[MqlTarget]:
        """Marketing's targets against what the leads delivered (after `lead_batches`)."""
        world = self.world
        return mql_targets(self.delivered, start=world.start, now=world.now, rng=world.rng)
