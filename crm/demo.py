"""Demo data: a year of believable lead-to-opportunity history, from 500 leads to a million.

Why it exists: a sales demo, a fresh `make run` and the performance benchmark all need a
funnel whose shape matches DOMAIN.md: conversion rates by source inside the benchmark
ranges, every milestone in order, one opportunity per converted lead, a queue of open
work for every role. `manage.py seed_demo` is the thin interface; everything is here.

Why it is built this way:
- Rows are plain dicts turned into tuples at once, a chunk of leads at a time (memory stays
  flat), and written with PostgreSQL binary COPY, foreign keys and plain indexes set
  aside until the end (one executemany INSERT per table on SQLite). `Model.save()` and
  `bulk_create()` are bypassed on purpose: both stamp `auto_now_add` fields with the
  current time, which would flatten a year of history onto today. The price is that
  derived fields `save()` would fill (`normalized_*`) are filled here.
- Primary keys are allocated here, not by the database, so a chunk can point at its own
  rows without a round trip; the sequences are moved past them afterwards.
- The lead services are not used: they write row by row and would take hours for a
  million leads. The invariants they keep (milestone order, a transition row per move,
  the five criteria before conversion) are kept by construction instead and checked by
  tests/crm/test_seed_demo.py.
- Every random choice comes from one seeded `random.Random` and every time is an offset
  from `now`, so the same seed, `now` and lead count give the same data.
"""

from __future__ import annotations

import itertools
import random
import time
from bisect import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from crm.models import Account, Contact, Team, User, normalize_company_name, normalize_domain
from leads.models import (
    Activity,
    CriterionStatus,
    Handoff,
    Lead,
    LeadStatus,
    LeadTransition,
    Qualification,
    RejectionReason,
    Segment,
    Source,
)
from opportunities.models import (
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    Stage,
    StageChange,
)
from sla.models import SlaEvent, SlaTimer

Approval = Opportunity.Approval

DEFAULT_LEADS = 5_000
DEFAULT_SEED = 42
CHUNK_SIZE = 20_000
HISTORY = timedelta(days=365)
LEADS_PER_ACCOUNT = 5

Progress = Callable[[str], None]


class DemoDataError(Exception):
    """Seeding would harm data that is not demo data; the message says what to do."""


class DemoRandom(random.Random):
    """`random.Random` whose `choice`, `randrange` and `randint` cost one float instead of
    rejection-sampling bits: a third of the time for the calls made most often. The bias
    (below 2**-50) does not matter for demo data."""

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None or step != 1:
            return super().randrange(start, stop, step)
        return start + int(self.random() * (stop - start))

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


class Weighted:
    """Items with weights, cumulated once: `random.choices(weights=...)` re-adds them on
    every call, and these are drawn once or more per lead."""

    def __init__(self, weights: dict[Any, float]) -> None:
        self.items = tuple(weights)
        self.cumulative = tuple(itertools.accumulate(weights.values()))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


# --- The funnel's shape ------------------------------------------------------------------

# Share of leads by source. Outbound is the biggest channel and converts worst; referrals
# are rare and convert best, as in DOMAIN.md.
SOURCE_MIX: dict[str, float] = {
    Source.OUTBOUND: 0.36,
    Source.INBOUND: 0.28,
    Source.EVENT: 0.14,
    Source.REFERRAL: 0.10,
    Source.PARTNER: 0.07,
    Source.OTHER: 0.05,
}

# Share of leads that convert if given time, by source: the middle of DOMAIN.md's
# benchmark ranges (inbound 15-25, outbound 3-10, referral 25-40, event 8-15 %) plus a
# little, because leads from the last weeks are still open when the history stops at
# `now`, which pulls the measured rate down by a few per cent.
CONVERSION_TARGETS: dict[str, float] = {
    Source.INBOUND: 0.213,
    Source.OUTBOUND: 0.069,
    Source.REFERRAL: 0.344,
    Source.EVENT: 0.121,
    Source.PARTNER: 0.17,
    Source.OTHER: 0.09,
}


@dataclass(frozen=True)
class Outcome:
    """Where a lead's story ends if nothing cuts it short: the furthest step of
    NEW -> MQL -> SAL -> SQL -> CONVERTED it reaches, then the off-ramp it takes, if any."""

    reached: str
    exit: str | None = None


CONVERTED = Outcome(LeadStatus.CONVERTED)

# How the leads that do not convert end, as shares of them. Most stop at MQL (rejected or
# recycled); a few sit open for months, which the SLA and "stale" views should catch.
OFF_RAMPS: dict[Outcome, float] = {
    Outcome(LeadStatus.NEW, LeadStatus.DISQUALIFIED): 0.08,
    Outcome(LeadStatus.MQL, LeadStatus.REJECTED): 0.30,
    Outcome(LeadStatus.MQL, LeadStatus.NURTURE): 0.18,
    Outcome(LeadStatus.MQL, LeadStatus.DISQUALIFIED): 0.06,
    Outcome(LeadStatus.SAL, LeadStatus.NURTURE): 0.12,
    Outcome(LeadStatus.SAL, LeadStatus.DISQUALIFIED): 0.08,
    Outcome(LeadStatus.SQL, LeadStatus.NURTURE): 0.07,
    Outcome(LeadStatus.SQL, LeadStatus.DISQUALIFIED): 0.05,
    Outcome(LeadStatus.NEW): 0.01,
    Outcome(LeadStatus.MQL): 0.02,
    Outcome(LeadStatus.SAL): 0.02,
    Outcome(LeadStatus.SQL): 0.01,
}

EXIT_MILESTONE = {
    LeadStatus.REJECTED: "rejected_at",
    LeadStatus.NURTURE: "nurtured_at",
    LeadStatus.DISQUALIFIED: "disqualified_at",
}

# The lead milestones, in the order the lifecycle sets them.
MILESTONES = (
    "mql_at",
    "assigned_at",
    "first_contacted_at",
    "accepted_at",
    "qualified_at",
    "handed_off_at",
    "converted_at",
)

# --- Who works the demo --------------------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    role: str
    time_zone: str
    team: str = ""


DEMO_TEAMS: dict[str, tuple[str, str]] = {
    # name: (manager's username, territory)
    "Inbound Squad": ("manager", "Inbound and referrals, all regions"),
    "Outbound Squad": ("manager", "Outbound, APAC"),
    "Partners & Events": ("manager2", "Partners and events, EMEA and Americas"),
}

DEMO_STAFF: tuple[StaffMember, ...] = (
    StaffMember("admin", "Rina", "Hartono", User.Role.ADMIN, "Asia/Jakarta"),
    StaffMember("revops", "Priya", "Raman", User.Role.REVOPS, "Asia/Singapore"),
    StaffMember("manager", "Budi", "Santoso", User.Role.MANAGER, "Asia/Jakarta"),
    StaffMember("manager2", "Claire", "Dubois", User.Role.MANAGER, "Europe/London"),
    StaffMember("sdr", "Putri", "Lestari", User.Role.SDR, "Asia/Jakarta", "Inbound Squad"),
    StaffMember("sdr2", "Tom", "Fletcher", User.Role.SDR, "Europe/London", "Inbound Squad"),
    StaffMember("sdr3", "Ayu", "Pratiwi", User.Role.SDR, "Asia/Makassar", "Inbound Squad"),
    StaffMember("sdr4", "Rizky", "Firmansyah", User.Role.SDR, "Asia/Jakarta", "Outbound Squad"),
    StaffMember("sdr5", "Megan", "Lee", User.Role.SDR, "America/New_York", "Outbound Squad"),
    StaffMember("sdr6", "Hannah", "Becker", User.Role.SDR, "Europe/Berlin", "Partners & Events"),
    StaffMember("ae", "Andi", "Wijaya", User.Role.AE, "Asia/Jakarta", "Inbound Squad"),
    StaffMember("ae2", "Sarah", "Mitchell", User.Role.AE, "America/New_York", "Inbound Squad"),
    StaffMember("ae3", "Kevin", "Tan", User.Role.AE, "Asia/Singapore", "Outbound Squad"),
    StaffMember("ae4", "Lukas", "Vermeer", User.Role.AE, "Europe/Amsterdam", "Partners & Events"),
)

# Lead routing: which team's SDRs work a source.
TEAM_BY_SOURCE: dict[str, str] = {
    Source.INBOUND: "Inbound Squad",
    Source.REFERRAL: "Inbound Squad",
    Source.OTHER: "Inbound Squad",
    Source.OUTBOUND: "Outbound Squad",
    Source.EVENT: "Partners & Events",
    Source.PARTNER: "Partners & Events",
}

# --- Vocabulary ----------------------------------------------------------------------------
# Fixed lists picked with the seeded Random: Faker is ~50x slower per value and its output
# changes between Faker releases, which would break `--seed` determinism.

COUNTRIES: dict[str, float] = {
    "ID": 0.45, "SG": 0.12, "MY": 0.07, "AU": 0.06, "US": 0.13, "GB": 0.08, "DE": 0.05, "NL": 0.04,
}  # fmt: skip
TERRITORY = {
    "ID": "Indonesia", "SG": "APAC", "MY": "APAC", "AU": "APAC",
    "US": "Americas", "GB": "EMEA", "DE": "EMEA", "NL": "EMEA",
}  # fmt: skip
TLD = {
    "ID": ".co.id", "SG": ".com.sg", "MY": ".com.my", "AU": ".com.au",
    "US": ".com", "GB": ".co.uk", "DE": ".de", "NL": ".nl",
}  # fmt: skip
LEGAL_SUFFIX = {
    "SG": "Pte Ltd", "MY": "Sdn Bhd", "AU": "Pty Ltd", "US": "Inc.", "GB": "Ltd", "DE": "GmbH",
    "NL": "B.V.",
}  # fmt: skip
PHONE_PREFIX = {
    "ID": "+62 812", "SG": "+65 9", "MY": "+60 12", "AU": "+61 4", "US": "+1 212 555",
    "GB": "+44 20 7946", "DE": "+49 30", "NL": "+31 20",
}  # fmt: skip

ID_PREFIXES = (
    "Nusantara", "Sinar", "Cahaya", "Mitra", "Karya", "Sejahtera", "Bumi", "Cipta", "Maju",
    "Prima", "Jaya", "Mega", "Surya", "Bintang", "Anugerah", "Sentosa", "Makmur", "Buana",
    "Citra", "Dharma", "Garuda", "Harapan", "Indah", "Kencana", "Lestari", "Mulia", "Nusa",
    "Permata", "Rajawali", "Samudra", "Tirta", "Wahana", "Arta", "Bahtera", "Cakra", "Daya",
    "Graha", "Intan", "Kartika", "Mandala", "Pelita", "Sakti", "Tunas", "Wijaya", "Mahkota",
    "Bakti", "Gemilang", "Persada",
)  # fmt: skip
ID_SECTORS = {  # word in the company name: industry
    "Logistik": "Logistics", "Teknologi": "Technology", "Digital": "Technology",
    "Niaga": "Wholesale trade", "Solusi": "IT services", "Distribusi": "Distribution",
    "Energi": "Energy", "Farmasi": "Pharmaceuticals", "Properti": "Real estate",
    "Finansial": "Financial services", "Telekomunikasi": "Telecommunications",
    "Agro": "Agriculture", "Ritel": "Retail", "Kreatif": "Media", "Media": "Media",
    "Konstruksi": "Construction", "Manufaktur": "Manufacturing", "Ekspedisi": "Logistics",
    "Pangan": "Food and beverage", "Kimia": "Chemicals", "Asuransi": "Insurance",
    "Edukasi": "Education", "Kesehatan": "Healthcare", "Otomotif": "Automotive",
}  # fmt: skip
ID_TAILS = (
    "", "Indonesia", "Utama", "Abadi", "Mandiri", "Perkasa", "Sentral", "Raya", "Internasional",
    "Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar", "Batam", "Balikpapan",
    "Palembang", "Denpasar", "Yogyakarta",
)  # fmt: skip
INTL_ROOTS = (
    "Bright", "Blue", "Clear", "Deep", "Far", "Green", "High", "Iron", "Lumen", "North", "Open",
    "Peak", "Quick", "Red", "Silver", "Swift", "True", "Vast", "Wild", "Zen", "Core", "Cloud",
    "Fresh", "Gold", "Hyper", "Key", "Nova", "Omni", "Pixel", "Quant", "Rapid", "Sky", "Terra",
    "Ultra", "Vertex", "Amber", "Cedar", "Harbor", "Maple", "Orbit",
)  # fmt: skip
INTL_ENDINGS = (
    "wave", "point", "stone", "field", "bridge", "path", "line", "leaf", "works", "forge",
    "stack", "grid", "port", "light", "mark", "shift", "scale", "loop", "nest", "gate",
)  # fmt: skip
INTL_SECTORS = {
    "Analytics": "IT services", "Logistics": "Logistics", "Health": "Healthcare",
    "Payments": "Financial services", "Software": "Technology", "Robotics": "Manufacturing",
    "Foods": "Food and beverage", "Energy": "Energy", "Media": "Media", "Labs": "Technology",
    "Systems": "IT services", "Retail": "Retail", "Finance": "Financial services",
    "Security": "Technology", "Networks": "Telecommunications", "Mobility": "Automotive",
    "Learning": "Education", "Insurance": "Insurance", "Capital": "Financial services",
    "Manufacturing": "Manufacturing",
}  # fmt: skip
INTL_QUALIFIERS = (
    "Asia", "Group", "Global", "Holdings", "International", "Partners", "Solutions", "Digital",
    "Pacific", "Europe",
)  # fmt: skip

ID_FIRST = (
    "Adi", "Agus", "Andi", "Anisa", "Ayu", "Bayu", "Budi", "Citra", "Dian", "Dimas", "Eka",
    "Fajar", "Fitri", "Gilang", "Hendra", "Indah", "Intan", "Joko", "Kartika", "Lestari", "Maya",
    "Nanda", "Nur", "Putri", "Rani", "Reza", "Rina", "Rizky", "Sari", "Siti", "Teguh", "Tri",
    "Wahyu", "Wulan", "Yoga", "Yudi", "Yuliana", "Zahra", "Arief", "Bambang",
)  # fmt: skip
ID_LAST = (
    "Santoso", "Wijaya", "Pratama", "Saputra", "Hidayat", "Kusuma", "Nugroho", "Setiawan",
    "Siregar", "Simanjuntak", "Halim", "Gunawan", "Hartono", "Susanto", "Wibowo", "Purnomo",
    "Permana", "Nasution", "Harahap", "Tanjung", "Utomo", "Rahman", "Sitompul", "Hakim",
    "Firmansyah", "Suryadi", "Kurniawan", "Putra", "Salim", "Lubis",
)  # fmt: skip
INTL_FIRST = (
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sophie",
    "Daniel", "Chloe", "Wei", "Mei", "Arjun", "Priya", "Hiroshi", "Yuki", "Lukas", "Anna",
    "Jonas", "Lea", "Thomas", "Charlotte", "Oliver", "Grace", "Ahmad", "Nurul", "Farah", "Hafiz",
    "Marcus", "Isabel", "Ryan", "Hannah", "Kevin", "Rachel", "Sean", "Nina", "Raj", "Elena",
)  # fmt: skip
INTL_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Lee", "Tan", "Lim", "Ng",
    "Wong", "Chen", "Kumar", "Singh", "Patel", "Schmidt", "Fischer", "Weber", "de Vries",
    "van Dijk", "Jansen", "Bakker", "Clarke", "Hughes", "Walker", "Evans", "Nguyen", "Abdullah",
    "Ismail", "Yamamoto", "Sato", "Murphy", "O'Brien", "Campbell", "Scott", "Becker", "Novak",
    "Rossi", "Khan", "Cooper",
)  # fmt: skip

# (title, decision maker?) — about a third of leads can sign.
JOB_TITLES = (
    ("CEO", True), ("CFO", True), ("COO", True), ("CTO", True), ("VP Sales", True),
    ("VP Operations", True), ("Head of Procurement", True), ("Director of IT", True),
    ("Head of Finance", True), ("Sales Operations Manager", False), ("IT Manager", False),
    ("Procurement Specialist", False), ("Operations Manager", False),
    ("Business Analyst", False), ("Marketing Manager", False), ("Finance Manager", False),
    ("Product Manager", False), ("Data Engineer", False), ("RevOps Lead", False),
    ("Customer Success Manager", False), ("Head of Growth", False), ("Logistics Manager", False),
)  # fmt: skip
BUYER_TITLES = ("CFO", "COO", "VP Operations", "Head of Finance", "CEO", "Director of IT")

CAMPAIGNS: dict[str, tuple[str, ...]] = {
    Source.INBOUND: (
        "Website demo request", "Pricing page", "Guide: the lead SLA playbook",
        "Google Ads: lead routing", "LinkedIn Ads: RevOps leaders", "",
    ),
    Source.OUTBOUND: (
        "ABM: Enterprise APAC", "Sequence: Logistics Indonesia", "Sequence: Fintech SEA",
        "Sequence: Mid-market EMEA", "",
    ),
    Source.EVENT: (
        "Jakarta SaaS Summit", "Webinar: from MQL to pipeline", "RevOps Meetup Singapore",
        "Webinar: fixing the SDR-AE hand-off", "Tech Week Amsterdam",
    ),
    Source.REFERRAL: ("Customer referral programme", "Customer referral programme", ""),
    Source.PARTNER: ("Partner: Nusa Cloud reseller", "Partner: integrator network",
                     "Cloud marketplace listing"),
    Source.OTHER: ("", "Trade directory import", "Re-engagement list"),
}  # fmt: skip

PRODUCT_LINES = (
    "Core Platform", "Analytics Add-on", "Data Integration", "Premium Support",
    "Professional Services",
)  # fmt: skip
USE_CASES = (
    "Sales forecasting", "Customer onboarding", "Field service scheduling",
    "Procurement automation", "Fraud monitoring", "Supply chain visibility",
    "Support analytics", "Partner portal", "Subscription billing", "Fleet tracking",
)  # fmt: skip
COMPETITORS = ("Pipewise", "SalesHarbor", "Kanal Suite", "LeadLoom", "Northwind CRM")
DECISION_CRITERIA = (
    "Time to value under 60 days; native ERP integration; local data residency.",
    "Total cost over three years; SSO and audit log; Bahasa Indonesia support.",
    "API coverage; security review pass; reference customers in the same industry.",
    "Ease of use for frontline staff; mobile app; 24/7 support SLA.",
)  # fmt: skip
RISKS = (
    "Budget approval slips to the next fiscal year.",
    "IT security review has a six-week backlog.",
    "Champion is new in role; economic buyer not yet met.",
    "Incumbent vendor offers a steep renewal discount.",
    "Procurement requires three quotes.",
)  # fmt: skip
LOST_REASONS = (
    ("Chose a competitor on price.", True),
    ("Chose a competitor with a local partner.", True),
    ("No decision: project deprioritised.", False),
    ("Budget cut in the new fiscal year.", False),
    ("Champion left; no executive sponsor.", False),
    ("Failed the security review.", False),
    ("Decided to build in-house.", False),
)  # fmt: skip
NURTURE_REASONS = (
    "Not ready: budget frozen until next fiscal year.",
    "Timing: revisit after their ERP migration.",
    "Interested but no project this year.",
    "Champion went quiet after two follow-ups.",
    "Asked to reconnect next quarter.",
)  # fmt: skip
DISQUALIFY_REASONS = (
    "Company too small for our product.",
    "Outside the regions we serve.",
    "Student or personal project.",
    "No budget and no path to budget.",
    "Spam or fake form submission.",
)  # fmt: skip
REJECTION_NOTES: dict[str, tuple[str, ...]] = {
    "not-icp": ("Twelve staff, no sales team; outside our ICP.",
                "B2C retailer; we sell to B2B teams."),
    "no-intent": ("Downloaded a guide only; no project planned.",
                  "Replied they are happy with their current tool."),
    "wrong-contact": ("Intern filling in the form; no authority.",
                      "Contact left the company; no replacement named."),
    "duplicate": ("Same person already in an open lead from last month.",),
    "bad-data": ("Phone number invalid and e-mail bounced.",),
    "existing-customer": ("Already a customer; passed to account management.",),
    "competitor": ("Works for a competitor; researching us.",),
    "other": ("Asked not to be contacted again.",),
}  # fmt: skip
REJECTION_WEIGHTS = {
    "not-icp": 30, "no-intent": 25, "wrong-contact": 12, "duplicate": 8, "bad-data": 10,
    "existing-customer": 5, "competitor": 5, "other": 5,
}  # fmt: skip
FRAMEWORKS = Weighted({"bant": 6, "meddic": 3, "champ": 1})
# How AEs rate the hand-offs they get: mostly good, a tail of poor ones to report on.
HANDOFF_RATINGS = Weighted({1: 3, 2: 7, 3: 20, 4: 40, 5: 30})
# Lead score by where the lead ended: scoring works, roughly.
SCORE_MEANS = {
    LeadStatus.CONVERTED: 78,
    LeadStatus.SQL: 70,
    LeadStatus.SAL: 60,
    LeadStatus.REJECTED: 38,
    LeadStatus.DISQUALIFIED: 30,
}
DISCOUNT_NOTES = ("", "", "10 % off for a two-year term.", "Launch pricing for the first year.")
CLOSE_DATE_REASON = "The customer's fiscal year drives the signing date."
FORCING_EVENTS = (
    "Current vendor contract ends", "New fiscal year budget", "Regulatory audit",
    "Expansion into a new region", "Board mandate to cut sales costs",
)  # fmt: skip

# Opportunity fates after conversion; "stalled" ones sit at the entry stage for ever, the
# premature conversions DOMAIN.md asks to measure.
DEAL_FATES = Weighted({"won": 0.27, "lost": 0.55, "stalled": 0.18})
# Where lost deals die, by position among the open stages from the entry stage on.
LOST_AT_WEIGHTS = (35, 25, 20, 12, 8)


# --- Tables: dict rows to tuples --------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One model's concrete columns, the defaults of the ones a row leaves out, and a
    getter that turns a complete dict row into a tuple in column order."""

    model: type[models.Model]
    fields: tuple[models.Field, ...]
    defaults: dict[str, Any]
    getter: Callable[[dict[str, Any]], tuple]

    def row(self, values: dict[str, Any]) -> tuple:
        merged = {**self.defaults, **values}
        if len(merged) != len(self.defaults):
            unknown = set(values) - set(self.defaults)
            raise KeyError(f"{self.model.__name__} has no field(s) {sorted(unknown)}")
        return self.getter(merged)


@cache
def table(model: type[models.Model]) -> Table:
    """Defaults come from the model, so a field added later with a default needs no change
    here. The primary key and `auto_now` stamps have no usable default: rows must set them."""
    fields = tuple(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields}
    return Table(model, fields, defaults, itemgetter(*(f.attname for f in fields)))


class Batch:
    """Rows for several tables, as tuples, in the order the tables must be written."""

    ORDER: tuple[type[models.Model], ...] = (
        Account,
        Contact,
        Lead,
        LeadTransition,
        Qualification,
        Handoff,
        Opportunity,
        OpportunityContactRole,
        StageChange,
        ConversionSnapshot,
        Activity,
    )

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[tuple]] = defaultdict(list)

    def add(self, model: type[models.Model], values: dict[str, Any]) -> None:
        self.rows[model].append(table(model).row(values))

    def tables(self) -> Iterator[tuple[type[models.Model], list[tuple]]]:
        for model in self.ORDER:
            if self.rows.get(model):
                yield model, self.rows[model]

    def counts(self) -> dict[str, int]:
        return {model._meta.label: len(rows) for model, rows in self.tables()}


# --- References the generator needs from the database ------------------------------------


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
class Cast:
    """Primary keys the generated rows point at: demo staff, stages, rejection reasons.

    Plain ids, so the generator also runs without a database (tests, dry runs)."""

    sdrs_by_team: dict[int, tuple[int, ...]]
    team_by_source: dict[str, int]
    aes: tuple[int, ...]
    pipeline: Pipeline
    rejection_reasons: dict[str, int]

    @classmethod
    def from_db(cls, users: dict[str, User], teams: dict[str, Team]) -> Cast:
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


# --- The generator -----------------------------------------------------------------------


@dataclass(slots=True)
class Company:
    account_id: int
    name: str
    domain: str
    country: str
    industry: str
    employees: int
    segment: str
    owner_id: int


@dataclass(slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    is_decision_maker: bool


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


# One step of a lead's story: (milestone field or "discovery", status it moves to, when).
Step = tuple[str, str | None, datetime]


def _allocate(rng: random.Random, n: int, shares: dict[Outcome, float]) -> list[Outcome]:
    """Exactly the floor of n*share of each outcome, the few remaining slots drawn by weight,
    shuffled. Quotas instead of independent draws keep the conversion rate of a few hundred
    leads on target, so a small demo still sits inside the benchmark ranges."""
    exact = {outcome: n * share for outcome, share in shares.items()}
    outcomes = [o for o, x in exact.items() for _ in range(int(x))]
    remainders = [x - int(x) for x in exact.values()]
    if n > len(outcomes):
        outcomes += rng.choices(list(exact), weights=remainders, k=n - len(outcomes))
    rng.shuffle(outcomes)
    return outcomes


@cache
def _email_local(first: str, last: str) -> str:
    return "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")


def _segment(employees: int) -> str:
    if employees < 200:
        return Segment.SMB
    if employees < 1000:
        return Segment.MID_MARKET
    return Segment.ENTERPRISE


class DemoGenerator:
    """Builds the rows. Pure: reads nothing from the database, only `cast` and the ids it
    is told to start from, so a test can run it twice and compare."""

    def __init__(
        self,
        *,
        leads: int,
        seed: int,
        now: datetime,
        cast: Cast,
        first_ids: dict[type[models.Model], int] | None = None,
        taken: TakenKeys | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware.")
        self.leads = leads
        self.now = now.astimezone(UTC)
        self.start = self.now - HISTORY
        self.cast = cast
        self.chunk_size = chunk_size
        self.rng = DemoRandom(seed)
        first_ids = first_ids or {}
        self._ids = {model: itertools.count(first_ids.get(model, 1)) for model in Batch.ORDER}
        self.companies: list[Company] = []
        self._contact_by_email: dict[str, int] = {}
        self._taken = taken or TakenKeys()
        self._source_keys = list(SOURCE_MIX)
        self._source_weights = list(itertools.accumulate(SOURCE_MIX.values()))
        self._shares = {
            source: {CONVERTED: rate} | {o: (1 - rate) * s for o, s in OFF_RAMPS.items()}
            for source, rate in CONVERSION_TARGETS.items()
        }
        self._reasons = Weighted({c: REJECTION_WEIGHTS.get(c, 3) for c in cast.rejection_reasons})

    def next_id(self, model: type[models.Model]) -> int:
        return next(self._ids[model])

    # Accounts ------------------------------------------------------------------------

    def accounts(self) -> Batch:
        """The companies leads come from, about one per five leads, so accounts collect
        several leads and, over time, several opportunities."""
        rng = self.rng
        count = max(20, self.leads // LEADS_PER_ACCOUNT)
        countries = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()), k=count)
        n_id = countries.count("ID")
        id_names = iter(self._unique_names(n_id, _indonesian_name_spaces()))
        intl_names = iter(self._unique_names(count - n_id, _international_name_spaces()))
        batch = Batch()
        seen_domains = set(self._taken.domains)
        for country in countries:
            name, base, industry = next(id_names) if country == "ID" else next(intl_names)
            domain = f"{base}{TLD[country]}"
            if domain in seen_domains:  # a real account has it, or a numbered copy repeats
                continue
            seen_domains.add(domain)
            if country != "ID" and rng.random() < 0.6:
                name = f"{name} {LEGAL_SUFFIX[country]}"
            employees = max(3, min(80_000, int(rng.lognormvariate(4.5, 1.5))))
            segment = _segment(employees)
            company = Company(
                account_id=self.next_id(Account),
                name=name,
                domain=domain,
                country=country,
                industry=industry,
                employees=employees,
                segment=segment,
                owner_id=rng.choice(self.cast.aes),
            )
            self.companies.append(company)
            strategic = segment == Segment.ENTERPRISE and rng.random() < 0.4
            created = self.start - timedelta(days=rng.uniform(1, 700))
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

    def _unique_names(self, k: int, spaces: Sequence[NameSpace]) -> Iterator[tuple[str, str, str]]:
        """k distinct (name, domain base, industry) triples: short names first, longer
        combinations once those run out, then numbered copies, so any k works."""
        produced = 0
        for space in spaces:
            take = min(k - produced, space.size)
            for index in self.rng.sample(range(space.size), take):
                yield space.decode(index)
            produced += take
        copy = 2
        while produced < k:
            for space in spaces:
                for index in range(min(k - produced, space.size)):
                    name, base, industry = space.decode(index)
                    yield f"{name} {copy}", f"{base}{copy}", industry
                    produced += 1
            copy += 1

    # Leads ---------------------------------------------------------------------------

    def lead_batches(self) -> Iterator[Batch]:
        """The leads and everything hanging off them, `chunk_size` leads per batch."""
        if not self.companies:
            raise RuntimeError("Call accounts() before lead_batches().")
        remaining = self.leads
        while remaining > 0:
            size = min(self.chunk_size, remaining)
            yield self._lead_chunk(size)
            remaining -= size

    def _lead_chunk(self, size: int) -> Batch:
        rng = self.rng
        sources = rng.choices(self._source_keys, cum_weights=self._source_weights, k=size)
        by_source: dict[str, list[int]] = defaultdict(list)
        for i, source in enumerate(sources):
            by_source[source].append(i)
        outcomes: list[Outcome] = [CONVERTED] * size
        for source, indexes in by_source.items():
            for i, outcome in zip(
                indexes, _allocate(rng, len(indexes), self._shares[source]), strict=True
            ):
                outcomes[i] = outcome
        batch = Batch()
        for source, outcome in zip(sources, outcomes, strict=True):
            LeadStory(self, batch, source, outcome).write()
        return batch

    def created_at(self) -> datetime:
        """Volume grows through the year and drops at weekends."""
        rng = self.rng
        span = HISTORY.total_seconds()
        while True:
            moment = self.start + timedelta(seconds=span * rng.random() ** 0.85)
            if moment.weekday() < 5 or rng.random() < 0.3:
                return moment

    def company(self) -> Company:
        """A few big accounts produce many leads; most produce one or two."""
        return self.companies[int(len(self.companies) * self.rng.random() ** 1.3)]

    def person(self, company: Company, *, title: tuple[str, bool] | None = None) -> Person:
        """Someone at `company`; `title` is (job title, decision maker?), random if omitted."""
        rng = self.rng
        local = company.country == "ID" or (company.country == "MY" and rng.random() < 0.3)
        first = rng.choice(ID_FIRST if local else INTL_FIRST)
        last = rng.choice(ID_LAST if local else INTL_LAST)
        job_title, decides = title or rng.choice(JOB_TITLES)
        domain = company.domain
        return Person(
            first_name=first,
            last_name=last,
            email=f"{_email_local(first, last)}@{domain}",
            phone=f"{PHONE_PREFIX[company.country]} {rng.randrange(1000, 9999)} "
            f"{rng.randrange(100, 999)}",
            job_title=job_title,
            is_decision_maker=decides,
        )

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
        if email in self._taken.emails:  # a real contact has it: number ours
            email = self._free_email(email)
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

    def _free_email(self, email: str) -> str:
        local, domain = email.split("@")
        taken = self._taken.emails
        for number in itertools.count(2):
            candidate = f"{local}{number}@{domain}"
            if candidate not in taken and candidate not in self._contact_by_email:
                return candidate
        raise AssertionError("unreachable")

    def rejection_reason(self) -> tuple[int, str]:
        code = self._reasons.pick(self.rng)
        notes = REJECTION_NOTES.get(code, ("Rejected after review; see the reason.",))
        return self.cast.rejection_reasons[code], self.rng.choice(notes)


@dataclass(frozen=True)
class NameSpace:
    """A product of word lists, addressed by an integer, so names can be sampled without
    replacement from millions of combinations without building them all."""

    axes: tuple[tuple[str, ...], ...]
    render: Callable[[tuple[str, ...]], tuple[str, str, str]]

    @property
    def size(self) -> int:
        size = 1
        for axis in self.axes:
            size *= len(axis)
        return size

    def decode(self, index: int) -> tuple[str, str, str]:
        words = []
        for axis in reversed(self.axes):
            index, position = divmod(index, len(axis))
            words.append(axis[position])
        return self.render(tuple(reversed(words)))


def _id_name(words: tuple[str, ...]) -> tuple[str, str, str]:
    *prefixes, sector, tail = words
    parts = [*prefixes, sector, tail] if tail else [*prefixes, sector]
    return f"PT {' '.join(parts)}", "".join(parts).lower(), ID_SECTORS[sector]


def _intl_name(words: tuple[str, ...]) -> tuple[str, str, str]:
    root, ending, sector, *qualifier = words
    name = " ".join([f"{root}{ending}", sector, *qualifier])
    base = "".join([root, ending, sector, *qualifier]).lower()
    return name, base, INTL_SECTORS[sector]


@cache
def _indonesian_name_spaces() -> tuple[NameSpace, ...]:
    """ "PT Sinar Logistik Utama" first (23k), "PT Sinar Cahaya Logistik" after (1.1M)."""
    sectors = tuple(ID_SECTORS)
    return (
        NameSpace((ID_PREFIXES, sectors, ID_TAILS), _id_name),
        NameSpace((ID_PREFIXES, ID_PREFIXES, sectors, ID_TAILS), _id_name),
    )


@cache
def _international_name_spaces() -> tuple[NameSpace, ...]:
    """ "Brightwave Analytics" first (16k), "Brightwave Analytics Asia" after (160k)."""
    sectors = tuple(INTL_SECTORS)
    return (
        NameSpace((INTL_ROOTS, INTL_ENDINGS, sectors), _intl_name),
        NameSpace((INTL_ROOTS, INTL_ENDINGS, sectors, INTL_QUALIFIERS), _intl_name),
    )


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


class LeadStory:
    """One lead from arrival to wherever `now` finds it, with every row that records it.

    The full story is planned first (the outcome's steps with realistic delays), then cut
    at `now`: a lead meant to convert next month is an open SQL today. That keeps every
    milestone in order and every status consistent with its timestamps by construction."""

    def __init__(self, gen: DemoGenerator, batch: Batch, source: str, outcome: Outcome) -> None:
        self.gen, self.batch, self.source, self.outcome = gen, batch, source, outcome
        self.rng = rng = gen.rng
        self.lead_id = gen.next_id(Lead)
        self.company = gen.company()
        self.person = gen.person(self.company)
        self.created = gen.created_at()
        self.plan = self._plan()
        self.kept = [step for step in self.plan if step[2] <= gen.now]
        self.at = {name: when for name, _status, when in self.kept}
        self.status: str = LeadStatus.NEW
        for _name, status, _when in self.kept:
            if status:
                self.status = status
        team = gen.cast.team_by_source[source]
        self.team_id = team if "assigned_at" in self.at else None
        self.sdr = rng.choice(gen.cast.sdrs_by_team[team]) if self.team_id else None
        self.ae = self.company.owner_id if "handed_off_at" in self.at else None
        self.framework: str = FRAMEWORKS.pick(rng)
        self.deal_usd = self._deal_size()
        # The person who signs: our contact if they can, else someone above them.
        self.buyer_title = (
            self.person.job_title if self.person.is_decision_maker else rng.choice(BUYER_TITLES)
        )
        self.override = self.status == LeadStatus.CONVERTED and rng.random() < 0.03
        self.exit_reason = ""
        self.score = 0
        self.campaign = ""
        self.criteria: dict[str, tuple[str, str]] = {}

    # The plan ----------------------------------------------------------------------------

    def _plan(self) -> list[Step]:
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
            if outcome.exit:
                step(EXIT_MILESTONE[outcome.exit], outcome.exit, _hours(rng.uniform(4, 480)))

        if reached == LeadStatus.NEW:
            leave()
            return steps
        step("mql_at", LeadStatus.MQL, _hours(rng.expovariate(1 / 6)))
        # Route within 5 minutes; one in twenty is late.
        late_route = rng.random() < 0.05
        step(
            "assigned_at",
            None,
            _hours(rng.uniform(0.2, 4) if late_route else rng.uniform(0.005, 0.08)),
        )
        ignored = reached == LeadStatus.MQL and (
            (outcome.exit is None and rng.random() < 0.5)
            or (outcome.exit == LeadStatus.REJECTED and rng.random() < 0.3)
        )
        if not ignored:
            # First contact within 24 hours; about one in eight is late.
            late = rng.random() < 0.12
            step(
                "first_contacted_at",
                None,
                _hours(rng.uniform(24, 96) if late else min(23.5, rng.expovariate(1 / 5))),
            )
        # Accept or reject within 5 business days; one in ten takes longer.
        decide = _hours(rng.uniform(170, 300) if rng.random() < 0.1 else rng.expovariate(1 / 40))
        if reached == LeadStatus.MQL:
            if outcome.exit:
                step(EXIT_MILESTONE[outcome.exit], outcome.exit, decide)
            return steps
        step("accepted_at", LeadStatus.SAL, decide)
        if reached == LeadStatus.SAL:
            leave()
            return steps
        step("qualified_at", LeadStatus.SQL, _hours(rng.triangular(48, 500, 150)))
        handed_off = reached == LeadStatus.CONVERTED or rng.random() < 0.55
        if handed_off:
            step("handed_off_at", None, _hours(rng.uniform(4, 72)))
            step("discovery", None, _hours(rng.uniform(20, 100)))
        if reached == LeadStatus.CONVERTED:
            # Convert within 3 days of discovery; one in five is late.
            late = rng.random() < 0.2
            step(
                "converted_at",
                LeadStatus.CONVERTED,
                _hours(rng.uniform(72, 240) if late else rng.uniform(2, 70)),
            )
        else:
            leave()
        return steps

    def _deal_size(self) -> int:
        low, high = {
            Segment.SMB: (6_000, 30_000),
            Segment.MID_MARKET: (30_000, 120_000),
            Segment.ENTERPRISE: (120_000, 600_000),
        }[self.company.segment]
        return int(self.rng.uniform(low, high) / 500) * 500

    # Rows --------------------------------------------------------------------------------

    def write(self) -> None:
        deal = DealStory(self) if self.status == LeadStatus.CONVERTED else None
        self._lead(deal.contact_id if deal else None)
        self._transitions()
        if "accepted_at" in self.at:
            self._qualification()
        if "handed_off_at" in self.at:
            self._handoff()
        self._activities()
        if deal:
            deal.write()

    def _lead(self, contact_id: int | None) -> None:
        rng = self.rng
        company, person, status = self.company, self.person, self.status
        converted = status == LeadStatus.CONVERTED
        typed_name = company.name
        if rng.random() < 0.1:  # what people type into forms; the account keys absorb it
            typed_name = typed_name.removeprefix("PT ").split(" Pte")[0].split(" Sdn")[0]
        score_mu = SCORE_MEANS.get(status, 50)
        values: dict[str, Any] = {
            "id": self.lead_id,
            "company_name": typed_name,
            "company_domain": f"www.{company.domain}" if rng.random() < 0.1 else company.domain,
            "industry": company.industry,
            "employee_count": company.employees,
            "segment": company.segment,
            "territory": TERRITORY[company.country],
            "country": company.country,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "phone": person.phone if rng.random() < 0.8 else "",
            "job_title": person.job_title,
            "source": self.source,
            "campaign": rng.choice(CAMPAIGNS[self.source]),
            "score": max(0, min(100, int(rng.gauss(score_mu, 12)))),
            "owner_id": self.sdr,
            "team_id": self.team_id,
            "ae_id": self.ae,
            "status": status,
            "created_at": self.created,
            "updated_at": self.kept[-1][2] if self.kept else self.created,
            "version": 1 + sum(1 for step in self.kept if step[1]),
            "is_demo": True,
        }
        for milestone in (*MILESTONES, *EXIT_MILESTONE.values()):
            if milestone in self.at:
                values[milestone] = self.at[milestone]
        if status == LeadStatus.REJECTED:
            values["rejection_reason_id"], values["rejection_note"] = self.gen.rejection_reason()
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
                values["disqualification_reason"] = reason
            self.exit_reason = reason
        if converted:
            values["account_id"] = company.account_id
            values["contact_id"] = contact_id
        self.score = values["score"]
        self.campaign = values["campaign"]
        self.batch.add(Lead, values)

    def _transitions(self) -> None:
        previous = LeadStatus.NEW
        for _name, status, when in self.kept:
            if not status:
                continue
            self.batch.add(
                LeadTransition,
                {
                    "id": self.gen.next_id(LeadTransition),
                    "lead_id": self.lead_id,
                    "from_status": previous,
                    "to_status": status,
                    "actor_id": self._actor(status),
                    "reason": self._why(status),
                    "created_at": when,
                },
            )
            previous = status

    def _actor(self, status: str) -> int | None:
        if status == LeadStatus.MQL:
            return None  # marketing automation scored and routed it
        if status == LeadStatus.CONVERTED:
            return self.ae
        if status in (LeadStatus.NURTURE, LeadStatus.DISQUALIFIED):
            return self.ae or self.sdr  # off-ramps come after the hand-off, if there was one
        return self.sdr

    def _why(self, status: str) -> str:
        if status == LeadStatus.MQL:
            return {
                Source.INBOUND: "Demo request form; score crossed the MQL threshold.",
                Source.EVENT: "Event attendee with a booth conversation.",
                Source.REFERRAL: "Referred by an existing customer.",
                Source.PARTNER: "Registered by a partner.",
            }.get(self.source, "Score crossed the MQL threshold.")
        if status == LeadStatus.SAL:
            return f"Fits the ICP ({self.company.segment}, {self.company.industry}); replied."
        if status == LeadStatus.SQL:
            return "Problem, budget path and decision maker confirmed on the qualification call."
        if status == LeadStatus.CONVERTED:
            if self.override:
                return "Converted with the timeline unconfirmed; manager approved the override."
            return "All five criteria confirmed after discovery."
        return self.exit_reason

    def _qualification(self) -> None:
        """Criteria filled as far as the lead got: an SQL has budget, authority and need
        confirmed, discovery confirms timeline and decision process, a SAL has a start."""
        rng, at = self.rng, self.at
        reached_sql, discovered = "qualified_at" in at, "discovery" in at
        confirmed, progress = CriterionStatus.CONFIRMED, CriterionStatus.IN_PROGRESS
        if reached_sql:
            first_three, last_two = confirmed, confirmed if discovered else progress
        else:
            first_three = rng.choice((progress, progress, CriterionStatus.UNKNOWN))
            last_two = CriterionStatus.UNKNOWN
        timeline = progress if self.override else last_two
        holder = self.buyer_title
        target = (at.get("qualified_at") or at["accepted_at"]).date()
        target += timedelta(days=rng.randint(90, 180))
        forcing = rng.choice(FORCING_EVENTS)
        vendors = ", ".join(rng.sample(COMPETITORS, 2))
        use_case = rng.choice(USE_CASES).lower()
        texts = {
            "budget": f"{holder} has about USD {self.deal_usd // 1000}k in the {target.year} "
            "budget.",
            "authority": f"{holder} signs; met on the qualification call.",
            "need": f"{self.company.industry} team loses deals to slow follow-up; "
            f"wants {use_case}.",
            "timeline": f"{forcing} on {target:%d %b %Y}.",
            "decision": f"{holder}, IT and procurement; comparing us with {vendors}.",
        }
        statuses = {
            "budget": first_three,
            "authority": first_three,
            "need": first_three,
            "timeline": timeline,
            "decision": last_two,
        }
        # Confirmed criteria always carry evidence; ones in progress sometimes have notes.
        self.criteria = {}
        for name, status in statuses.items():
            noted = status == confirmed or (status == progress and rng.random() < 0.4)
            self.criteria[name] = (status, texts[name] if noted else "")
        values: dict[str, Any] = {
            "id": self.gen.next_id(Qualification),
            "lead_id": self.lead_id,
            "framework": self.framework,
            "updated_at": max(at.get(k, at["accepted_at"]) for k in ("qualified_at", "discovery")),
            "updated_by_id": self.ae if discovered else self.sdr,
        }
        for name, (status, text) in self.criteria.items():
            values[f"{name}_status"] = status
            values[f"{name}_evidence"] = text
        if reached_sql:
            values |= {
                "budget_holder": holder,
                "budget_approval_process": "Department head proposes, CFO approves.",
                "budget_cycle": f"FY{target.year}",
                "economic_buyer": holder,
                "need_problem": "Leads wait days for a first call.",
                "need_cost_of_inaction": "About a fifth of inbound demand lost each quarter.",
                "need_why_now": forcing,
                "notes": f"{self.framework.upper()} notes from the qualification call.",
            }
        if timeline == confirmed:
            values |= {"timeline_forcing_event": forcing, "timeline_target_date": target}
        if discovered:
            values |= {
                "decision_unit": f"{holder}, IT lead, procurement",
                "decision_people": f"{holder}, IT lead, procurement",
                "decision_criteria": rng.choice(DECISION_CRITERIA),
                "decision_evaluation_timeline": "Two-week pilot, then security review",
                "decision_other_vendors": vendors,
            }
        self.batch.add(Qualification, values)

    def _handoff(self) -> None:
        rng = self.rng
        meeting = next(when for name, _s, when in self.plan if name == "discovery")
        held = self.at.get("discovery")
        rating = HANDOFF_RATINGS.pick(rng) if held else None
        company = self.company
        self.batch.add(
            Handoff,
            {
                "id": self.gen.next_id(Handoff),
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
                "created_at": self.at["handed_off_at"],
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

    def _activities(self) -> None:
        """What the reps did and still plan to do: the first contact, follow-ups, the
        qualification call, discovery, and a scheduled next action on open leads."""
        at, rng, first = self.at, self.rng, self.person.first_name
        contacted = at.get("first_contacted_at")
        if contacted:
            call = rng.random() < 0.55
            self._activity(
                Activity.Kind.CALL if call else Activity.Kind.EMAIL,
                f"Intro call with {first}" if call else f"Intro e-mail to {first}",
                self.sdr,
                contacted,
                first_contact=True,
            )
            decided = next(
                (when for name, status, when in self.kept if status and when > contacted),
                self.gen.now,
            )
            for _ in range(rng.choice((0, 1, 1, 2))):
                when = contacted + (decided - contacted) * rng.random()
                kind, subject = rng.choice(FOLLOW_UPS)
                self._activity(kind, subject, self.sdr, when)
        if "accepted_at" in at:
            until = at.get("qualified_at") or self.kept[-1][2]
            when = at["accepted_at"] + (until - at["accepted_at"]) * 0.4
            self._activity(Activity.Kind.CALL, "Qualification call", self.sdr, when)
        if "qualified_at" in at:
            self._activity(
                Activity.Kind.NOTE,
                f"{self.framework.upper()} qualification notes",
                self.sdr,
                at["qualified_at"],
                body="Budget, authority and need confirmed; see the qualification tab.",
            )
        if "handed_off_at" in at:
            meeting = next(when for name, _s, when in self.plan if name == "discovery")
            if "discovery" in at:
                self._activity(Activity.Kind.MEETING, "Discovery call", self.ae, meeting)
            else:
                self._scheduled("Discovery call", self.ae, meeting, Activity.Kind.MEETING)
                return
        if self.status in Lead.OPEN_STATUSES and self.sdr:
            now = self.gen.now
            due = now + (
                _hours(rng.uniform(1, 170)) if rng.random() < 0.75 else -_hours(rng.uniform(1, 100))
            )
            self._scheduled("Follow up", self.ae or self.sdr, due, Activity.Kind.TASK)

    def _activity(
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
                "id": self.gen.next_id(Activity),
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

    def _scheduled(self, subject: str, owner: int | None, due: datetime, kind: str) -> None:
        """A pending activity: due (often in the future), not done yet."""
        last = self.kept[-1][2] if self.kept else self.created
        self.batch.add(
            Activity,
            {
                "id": self.gen.next_id(Activity),
                "kind": kind,
                "lead_id": self.lead_id,
                "owner_id": owner,
                "subject": subject,
                "due_at": due,
                "created_at": last + (self.gen.now - last) * self.rng.random(),
                "is_demo": True,
            },
        )


FOLLOW_UPS = (
    (Activity.Kind.CALL, "Follow-up call"),
    (Activity.Kind.EMAIL, "Follow-up e-mail with a case study"),
    (Activity.Kind.EMAIL, "Sent the pricing overview"),
    (Activity.Kind.CALL, "Left a voicemail"),
)

STAGE_ACTIVITIES = {
    "Qualification": (Activity.Kind.CALL, "Qualification call with the buying team"),
    "Present/Demo": (Activity.Kind.MEETING, "Product demo"),
    "Proposal": (Activity.Kind.EMAIL, "Proposal sent"),
    "Negotiation": (Activity.Kind.CALL, "Commercial terms call"),
    "Post-sale": (Activity.Kind.MEETING, "Kick-off with customer success"),
}

NEXT_STEPS = {
    "Discovery": "Map the decision process with the economic buyer",
    "Qualification": "Confirm budget owner and evaluation criteria",
    "Present/Demo": "Run the tailored demo for the operations team",
    "Proposal": "Walk the CFO through the proposal",
    "Negotiation": "Agree final terms with procurement",
}


class DealStory:
    """The opportunity a converted lead became and its walk through the pipeline, cut at
    `now` like the lead's story: old deals are closed or stalled, recent ones are open."""

    def __init__(self, lead: LeadStory) -> None:
        self.lead = lead
        self.rng = lead.rng
        self.opened = lead.at["converted_at"]
        self.opp_id = lead.gen.next_id(Opportunity)
        self.roles = self._people()
        self.contact_id = self.roles[0][0]

    def write(self) -> None:
        lead, gen, rng = self.lead, self.lead.gen, self.rng
        moves = [move for move in self._moves() if move[1] <= gen.now]
        stage, entered = moves[-1]
        pipeline = gen.cast.pipeline
        closed_at = next((when for s, when in moves if s in (pipeline.won, pipeline.lost)), None)
        lost = stage == pipeline.lost
        lost_reason, to_competitor = rng.choice(LOST_REASONS) if lost else ("", False)
        rivals = rng.sample(COMPETITORS, 2)
        company = lead.company
        currency, amount = self._amount()
        approval = Approval.APPROVED if lead.override else Approval.NOT_NEEDED
        product = rng.choice(PRODUCT_LINES)
        use_case = rng.choice(USE_CASES)
        # Expected close 90-180 days out (DOMAIN.md); a few outside it, with a reason.
        window = rng.randint(90, 180) if rng.random() < 0.94 else rng.choice((45, 60, 240, 270))
        if closed_at:
            next_step = "Hand over to customer success" if not lost else "Revisit next budget cycle"
            next_due = closed_at.date() + timedelta(days=rng.randint(3, 14))
        else:
            next_step = NEXT_STEPS.get(stage.name, f"Move the deal past {stage.name}")
            next_due = gen.now.date() + timedelta(days=rng.randint(-4, 14))
        lead.batch.add(
            Opportunity,
            {
                "id": self.opp_id,
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
                "is_override": lead.override,
                "stage_entered_at": entered,
                "created_at": self.opened,
                "updated_at": entered,
                "created_by_id": lead.ae,
                "version": len(moves),
                "is_demo": True,
            },
        )
        self._contact_roles()
        self._stage_changes(moves)
        self._snapshot()
        if not closed_at:
            due = datetime.combine(next_due, datetime.min.time(), UTC) + _hours(9)
            self._activity(Activity.Kind.TASK, next_step, due, done=False)

    def _moves(self) -> list[tuple[StageRef, datetime]]:
        """The deal's planned stage history: entry stage at conversion, then on to won,
        lost or nowhere (stalled)."""
        rng, pipeline = self.rng, self.lead.gen.cast.pipeline
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

    def _amount(self) -> tuple[str, Decimal]:
        """USD mostly; euros in the euro area, rupiah for half the Indonesian deals."""
        usd, country = self.lead.deal_usd, self.lead.company.country
        if country in ("DE", "NL"):
            return "EUR", Decimal(round(usd * 0.92, -2))
        if country == "ID" and self.rng.random() < 0.5:
            return "IDR", Decimal(round(usd * 16_000, -6))
        return "USD", Decimal(usd)

    def _people(self) -> list[tuple[int, str]]:
        """Contacts and their roles: the lead's person as economic buyer if they can sign,
        else as champion reporting to a new economic buyer; sometimes an evaluator. Created
        before the lead row, which points at its contact."""
        lead, gen, rng = self.lead, self.lead.gen, self.rng
        roles = OpportunityContactRole.Role
        company, person, opened = lead.company, lead.person, self.opened
        if person.is_decision_maker:
            people = [(gen.contact(lead.batch, company, person, opened), roles.ECONOMIC_BUYER)]
        else:
            buyer = gen.person(company, title=(lead.buyer_title, True))
            buyer_id = gen.contact(lead.batch, company, buyer, opened)
            champion_id = gen.contact(lead.batch, company, person, opened, reports_to=buyer_id)
            people = [(champion_id, roles.CHAMPION), (buyer_id, roles.ECONOMIC_BUYER)]
        if rng.random() < 0.4:
            title = rng.choice(("IT Manager", "Data Engineer"))
            evaluator = gen.person(company, title=(title, False))
            evaluator_id = gen.contact(lead.batch, company, evaluator, opened)
            people.append((evaluator_id, roles.TECHNICAL_EVALUATOR))
        return list(dict.fromkeys(people))  # one row per (contact, role), as the key demands

    def _contact_roles(self) -> None:
        for contact_id, role in self.roles:
            self.lead.batch.add(
                OpportunityContactRole,
                {
                    "id": self.lead.gen.next_id(OpportunityContactRole),
                    "opportunity_id": self.opp_id,
                    "contact_id": contact_id,
                    "role": role,
                },
            )

    def _stage_changes(self, moves: list[tuple[StageRef, datetime]]) -> None:
        lead, gen = self.lead, self.lead.gen
        previous: tuple[StageRef, datetime] | None = None
        for stage, when in moves:
            gen_row = {
                "id": gen.next_id(StageChange),
                "opportunity_id": self.opp_id,
                "from_stage_id": previous[0].id if previous else None,
                "to_stage_id": stage.id,
                "actor_id": lead.ae,
                "changed_at": when,
                "time_in_previous_stage": when - previous[1] if previous else None,
                "reason": "Converted from lead" if previous is None else "",
            }
            lead.batch.add(StageChange, gen_row)
            if previous is not None:
                pipeline = gen.cast.pipeline
                if stage == pipeline.won:
                    self._activity(Activity.Kind.NOTE, "Contract signed", when)
                elif stage == pipeline.lost:
                    self._activity(Activity.Kind.NOTE, "Closed lost", when)
                elif stage.name in STAGE_ACTIVITIES:
                    kind, subject = STAGE_ACTIVITIES[stage.name]
                    self._activity(kind, subject, when)
            previous = (stage, when)

    def _snapshot(self) -> None:
        lead = self.lead
        unmet = ["timeline"] if lead.override else []
        lead.batch.add(
            ConversionSnapshot,
            {
                "id": lead.gen.next_id(ConversionSnapshot),
                "opportunity_id": self.opp_id,
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

    def _activity(self, kind: str, subject: str, when: datetime, *, done: bool = True) -> None:
        lead = self.lead
        lead.batch.add(
            Activity,
            {
                "id": lead.gen.next_id(Activity),
                "kind": kind,
                "opportunity_id": self.opp_id,
                "owner_id": lead.ae,
                "subject": subject,
                "occurred_at": when if done else None,
                "due_at": None if done else when,
                "completed_at": when if done else None,
                "created_at": when
                if done
                else max(self.opened, lead.gen.now - _hours(self.rng.uniform(1, 72))),
                "is_demo": True,
            },
        )


# --- Staff: a handful of rows, through the ORM ------------------------------------------


def create_demo_staff(now: datetime) -> tuple[dict[str, User], dict[str, Team]]:
    """The demo logins and their teams. One password hash serves every login: hashing is
    slow on purpose (a third of a second each) and this password is public anyway."""
    usernames = [member.username for member in DEMO_STAFF]
    taken = sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoDataError(
            f"Real users already have the demo usernames {', '.join(taken)}; rename them first."
        )
    password = make_password(settings.THRESHOLD_DEMO_PASSWORD)
    users: dict[str, User] = {}
    teams: dict[str, Team] = {}
    for member in DEMO_STAFF:  # managers come before the people they manage
        team = None
        if member.team:
            if member.team not in teams:
                manager, territory = DEMO_TEAMS[member.team]
                teams[member.team], _ = Team.objects.update_or_create(
                    name=member.team,
                    defaults={"manager": users[manager], "territory": territory},
                )
            team = teams[member.team]
        users[member.username] = User.objects.create(
            username=member.username,
            password=password,
            first_name=member.first_name,
            last_name=member.last_name,
            email=f"{_email_local(member.first_name, member.last_name)}@threshold.example",
            role=member.role,
            is_staff=member.role in (User.Role.ADMIN, User.Role.REVOPS),
            is_superuser=member.role == User.Role.ADMIN,
            team=team,
            manager=team.manager if team else None,
            time_zone=member.time_zone,
            date_joined=now - HISTORY - timedelta(days=90),
            is_demo=True,
        )
    return users, teams


# --- Guards and reset ----------------------------------------------------------------------

FLAGGED_MODELS: tuple[type[models.Model], ...] = (
    User,
    Account,
    Contact,
    Lead,
    Activity,
    Opportunity,
)


def demo_data_exists() -> bool:
    return User.objects.filter(is_demo=True).exists() or Lead.objects.filter(is_demo=True).exists()


def tables_with_real_data() -> list[str]:
    """Names of the tables holding rows not made by this module: the data seeding must not
    mix with unless asked to (`--force`)."""
    return [
        str(model._meta.verbose_name_plural)
        for model in FLAGGED_MODELS
        if model._default_manager.filter(is_demo=False).exists()
    ]


def delete_demo_data() -> dict[str, int]:
    """Delete every demo row and what hangs off it, children first, one DELETE per table.

    Raw DELETEs instead of `QuerySet.delete()`: the ORM's cascade collector loads every row
    into memory first, which a million leads does not survive. Rows made later through the
    app on demo leads (an opportunity converted in a demo session, SLA timers) go too."""
    demo_leads = Lead.objects.filter(is_demo=True)
    demo_opps = Opportunity.objects.filter(Q(is_demo=True) | Q(lead__is_demo=True))
    Contact.objects.filter(reports_to__is_demo=True, is_demo=False).update(reports_to=None)
    steps: list[QuerySet] = [
        SlaEvent.objects.filter(timer__lead__is_demo=True),
        SlaTimer.objects.filter(lead__is_demo=True),
        StageChange.objects.filter(opportunity__in=demo_opps),
        OpportunityContactRole.objects.filter(opportunity__in=demo_opps),
        ConversionSnapshot.objects.filter(Q(opportunity__in=demo_opps) | Q(lead__is_demo=True)),
        Activity.objects.filter(
            Q(is_demo=True) | Q(lead__is_demo=True) | Q(opportunity__in=demo_opps)
        ),
        demo_opps,
        LeadTransition.objects.filter(lead__is_demo=True),
        Qualification.objects.filter(lead__is_demo=True),
        Handoff.objects.filter(lead__is_demo=True),
        demo_leads,
        Contact.objects.filter(is_demo=True),
        Account.objects.filter(is_demo=True),
    ]
    deleted = {str(qs.model._meta.verbose_name_plural): _delete_rows(qs) for qs in steps}
    try:
        connection.check_constraints()
        _count, by_model = User.objects.filter(is_demo=True).delete()
    except (ProtectedError, RestrictedError) as error:  # before IntegrityError: subclasses
        blocking = getattr(error, "protected_objects", None) or error.restricted_objects
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
        raise DemoDataError(
            f"Real {', '.join(kinds)} still point at demo users; reassign them first."
        ) from error
    except IntegrityError as error:
        raise DemoDataError(f"Real rows still point at demo data: {error}") from error
    deleted["users"] = by_model.get(User._meta.label, 0)
    Team.objects.filter(name__in=DEMO_TEAMS, members__isnull=True).delete()
    return deleted


def _delete_rows(queryset: QuerySet) -> int:
    """DELETE ... WHERE pk IN (the queryset): no rows loaded, no signals, no cascade.
    The caller deletes children before parents."""
    model = queryset.model
    subquery, params = queryset.values("pk").query.sql_with_params()
    qn = connection.ops.quote_name
    sql = (
        f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)} IN ({subquery})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Writing -------------------------------------------------------------------------------


class CopyWriter:
    """PostgreSQL: binary COPY FROM STDIN. Binary, because in text format the server spends
    most of the load parsing timestamps back out of their text form (5x slower here)."""

    def __init__(self) -> None:
        self._types: dict[type[models.Model], list[int]] = {}

    def write(self, model: type[models.Model], rows: list[tuple]) -> None:
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in table(model).fields)
        name = qn(model._meta.db_table)
        with connection.cursor() as cursor:
            if model not in self._types:  # binary COPY needs each column's type up front
                cursor.execute(f"SELECT {columns} FROM {name} LIMIT 0")
                self._types[model] = [column.type_code for column in cursor.description]
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(self._types[model])
                for row in rows:
                    copy.write_row(row)


class InsertWriter:
    """Other backends (SQLite): one executemany INSERT per table, each value prepared by
    its field as the ORM would (aware datetimes to UTC text, dicts to JSON, ...)."""

    def write(self, model: type[models.Model], rows: list[tuple]) -> None:
        spec = table(model)
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in spec.fields)
        placeholders = ", ".join(["%s"] * len(spec.fields))
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        prepare = [f.get_db_prep_save for f in spec.fields]
        params = [
            [prep(value, connection) for prep, value in zip(prepare, row, strict=True)]
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _writer() -> CopyWriter | InsertWriter:
    return CopyWriter() if connection.vendor == "postgresql" else InsertWriter()


def _first_free_ids() -> dict[type[models.Model], int]:
    return {
        model: (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1
        for model in Batch.ORDER
    }


def _lock_tables() -> None:
    """PostgreSQL: keep other writers out until commit, since primary keys are allocated
    here rather than by the sequences. Readers are not blocked."""
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    names = ", ".join(qn(model._meta.db_table) for model in Batch.ORDER)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


@contextmanager
def _bulk_load(tables: Sequence[type[models.Model]]) -> Iterator[None]:
    """PostgreSQL: drop the foreign keys and plain indexes of `tables`, load, re-create them.

    What pg_restore does, for the same reason: Django's foreign keys are checked one
    inserted row at a time (at commit, being deferred), which is a third of the load time
    at a million leads, while re-adding a key checks every row with one join; and building
    an index once is cheaper than updating it row by row. Unique indexes stay, so keys are
    still enforced as rows arrive. All of it is inside the seeding transaction: if anything
    fails, the rollback restores the schema as it was."""
    if connection.vendor != "postgresql":
        yield
        return
    names = [model._meta.db_table for model in tables]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending checks
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [names],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisunique AND NOT indisprimary",
            [names],
        )
        indexes = cursor.fetchall()
        for table_name, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT {qn(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        # Sort memory for the index builds, this transaction only (the default is 64 MB).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table_name, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table_name} ADD CONSTRAINT {qn(name)} {definition}")


def _move_sequences_past_demo_rows() -> None:
    """The next row the app inserts must get a fresh id, not one the demo used."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(Batch.ORDER))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _analyze() -> None:
    """Fresh planner statistics, or the first dashboard queries plan for empty tables."""
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in Batch.ORDER:
            cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")


# --- The entry point -----------------------------------------------------------------------


@dataclass(frozen=True)
class SeedReport:
    seeded: bool
    now: datetime
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)


def seed_demo(
    *,
    leads: int = DEFAULT_LEADS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    force: bool = False,
    reset: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Seed the demo once: a no-op when demo data exists (unless `reset`), a refusal when
    real data exists (unless `force`). All or nothing, in one transaction."""
    started = time.monotonic()
    now = (now or timezone.now()).astimezone(UTC)
    say = progress or (lambda _message: None)
    if demo_data_exists() and not reset:
        return SeedReport(seeded=False, now=now)
    if not force and (tables := tables_with_real_data()):
        raise DemoDataError(
            f"The database holds real data ({', '.join(tables)}); demo data would mix with "
            "it. Use a fresh database, or --force to seed alongside it."
        )
    counts: Counter[str] = Counter()
    with transaction.atomic():
        _lock_tables()
        deleted = delete_demo_data() if reset else {}
        if sum(deleted.values()):
            say(f"Deleted the old demo data ({sum(deleted.values()):,} rows).")
        users, teams = create_demo_staff(now)
        generator = DemoGenerator(
            leads=leads,
            seed=seed,
            now=now,
            cast=Cast.from_db(users, teams),
            first_ids=_first_free_ids(),
            taken=TakenKeys.from_db(),
        )
        writer = _writer()
        batches = itertools.chain([generator.accounts()], generator.lead_batches())
        with _bulk_load(Batch.ORDER):
            for batch in batches:
                for model, rows in batch.tables():
                    writer.write(model, rows)
                counts.update(batch.counts())
                done = counts[Lead._meta.label]
                say(f"  {done:>9,} / {leads:,} leads  ({time.monotonic() - started:,.1f} s)")
            say("  Rebuilding indexes and checking foreign keys ...")
        _move_sequences_past_demo_rows()
    _analyze()
    return SeedReport(
        seeded=True,
        now=now,
        seconds=time.monotonic() - started,
        counts=dict(counts),
        deleted=deleted,
    )


def conversion_rates(now: datetime) -> dict[str, float]:
    """Percentage of the demo leads created in the 12 months before `now` that converted,
    by source and overall: the cohort DOMAIN.md's benchmark ranges describe."""
    rows = (
        Lead.objects.filter(is_demo=True, created_at__gt=now - HISTORY, created_at__lte=now)
        .values("source")
        .annotate(total=Count("id"), converted=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    )
    totals = {row["source"]: (row["converted"], row["total"]) for row in rows}
    converted = sum(c for c, _t in totals.values())
    total = sum(t for _c, t in totals.values())
    rates = {source: 100 * c / t for source, (c, t) in totals.items() if t}
    if total:
        rates["overall"] = 100 * converted / total
    return rates
