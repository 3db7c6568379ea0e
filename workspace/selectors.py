"""Reads that span apps: the signed-in user's work list."""

from __future__ import annotations

import datetime
from typing import TypedDict

from django.db.models import Count, F, Q
from django.utils import timezone

from crm.models import User
from leads.clocks import clocks
from leads.models import Lead
from opportunities.models import Opportunity

MY_WORK_LIMIT = 50


class LeadCounts(TypedDict):
    open: int
    mql: int
    sal: int
    sql: int


class MyWork(TypedDict):
    leads: list[Lead]
    opportunities: list[Opportunity]
    lead_counts: LeadCounts
    open_opportunity_count: int
    limit: int
    now: datetime.datetime


def my_work(user: User) -> MyWork:
    """The open leads `user` owns or was handed off (as AE) and the open opportunities they
    own, most urgent first, in four queries whatever their number (the lists stop at
    MY_WORK_LIMIT; the counts are one aggregate each and count everything).

    Most urgent first means what it means in the lead queue (`leads.selectors.QUEUE_ORDER`,
    the same order on both pages): leads by the due time of their next running SLA clock
    (the stored value the sweep and the queue badges use), leads without a clock after
    them, each group newest first; opportunities by expected close date, the soonest (or
    the longest overdue) first. The primary key breaks ties, so the order is stable."""
    mine = Q(owner=user) | Q(ae=user)
    leads = (
        Lead.objects.filter(mine, status__in=Lead.OPEN_STATUSES)
        .select_related("owner", "ae")
        .annotate(next_due_at=clocks().next_due())
        .order_by(F("next_due_at").asc(nulls_last=True), "-created_at", "-pk")[:MY_WORK_LIMIT]
    )
    opportunities = (
        Opportunity.objects.filter(owner=user)
        .open()
        .select_related("stage", "account")
        .order_by("expected_close_date", "pk")[:MY_WORK_LIMIT]
    )
    lead_counts = Lead.objects.filter(mine).aggregate(
        open=Count("id", filter=Q(status__in=Lead.OPEN_STATUSES)),
        mql=Count("id", filter=Q(status=Lead.Status.MQL)),
        sal=Count("id", filter=Q(status=Lead.Status.SAL)),
        sql=Count("id", filter=Q(status=Lead.Status.SQL)),
    )
    opportunity_counts = Opportunity.objects.filter(owner=user).open().aggregate(open=Count("id"))
    return {
        "leads": list(leads),
        "opportunities": list(opportunities),
        "lead_counts": {
            "open": lead_counts["open"],
            "mql": lead_counts["mql"],
            "sal": lead_counts["sal"],
            "sql": lead_counts["sql"],
        },
        "open_opportunity_count": opportunity_counts["open"],
        "limit": MY_WORK_LIMIT,
        "now": timezone.now(),
    }
