"""The funnel's shape: which sources leads come from, how many of each convert, where the
rest leave, and how the deals end. The figures follow DOMAIN.md's benchmark ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from demo.randomness import Weighted
from leads.models import LeadStatus, Segment, Source

# How far back the demo's history reaches from `now`.
HISTORY = timedelta(days=365)

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


def outcome_shares(conversion_rate: float) -> dict[Outcome, float]:
    """Every outcome's share for a source converting at `conversion_rate`."""
    return {CONVERTED: conversion_rate} | {
        outcome: (1 - conversion_rate) * share for outcome, share in OFF_RAMPS.items()
    }


# The milestone field each off-ramp sets.
EXIT_MILESTONE: dict[str, str] = {
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

FRAMEWORKS = Weighted({"bant": 6, "meddic": 3, "champ": 1})
# How AEs rate the hand-offs they get: mostly good, a tail of poor ones to report on.
HANDOFF_RATINGS = Weighted({1: 3, 2: 7, 3: 20, 4: 40, 5: 30})
# Lead score by where the lead ended: scoring works, roughly.
SCORE_MEANS: dict[str, int] = {
    LeadStatus.CONVERTED: 78,
    LeadStatus.SQL: 70,
    LeadStatus.SAL: 60,
    LeadStatus.REJECTED: 38,
    LeadStatus.DISQUALIFIED: 30,
}
# Deal size in USD by segment: (low, high).
DEAL_SIZE_USD: dict[str, tuple[int, int]] = {
    Segment.SMB: (6_000, 30_000),
    Segment.MID_MARKET: (30_000, 120_000),
    Segment.ENTERPRISE: (120_000, 600_000),
}

# Opportunity fates after conversion; "stalled" ones sit at the entry stage for ever, the
# premature conversions DOMAIN.md asks to measure.
DEAL_FATES = Weighted({"won": 0.27, "lost": 0.55, "stalled": 0.18})
# Where lost deals die, by position among the open stages from the entry stage on.
LOST_AT_WEIGHTS = (35, 25, 20, 12, 8)
