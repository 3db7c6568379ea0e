"""Reads that span apps: the signed-in user's work list."""

from __future__ import annotations

from django.db.models import Count, Q

from crm.models import User
from leads.models import Lead
from opportunities.models import Opportunity

MY_WORK_LIMIT = 50


def my_work(user: User) -> dict:
    """Open leads and opportunities the user owns, most urgent first, in a fixed number of
    queries whatever their number (lists are capped; counts are one aggregate each)."""
    leads = (
        Lead.objects.filter(Q(owner=user) | Q(ae=user), status__in=Lead.OPEN_STATUSES)
        .select_related("owner", "ae")
        .order_by("created_at")[:MY_WORK_LIMIT]
    )
    opportunities = (
        Opportunity.objects.filter(owner=user)
        .open()
        .select_related("stage", "account")
        .order_by("expected_close_date")[:MY_WORK_LIMIT]
    )
    lead_counts = Lead.objects.filter(Q(owner=user) | Q(ae=user)).aggregate(
        open=Count("id", filter=Q(status__in=Lead.OPEN_STATUSES)),
        mql=Count("id", filter=Q(status=Lead.Status.MQL)),
        sal=Count("id", filter=Q(status=Lead.Status.SAL)),
        sql=Count("id", filter=Q(status=Lead.Status.SQL)),
    )
    opp_counts = Opportunity.objects.filter(owner=user).open().aggregate(open=Count("id"))
    return {
        "leads": list(leads),
        "opportunities": list(opportunities),
        "lead_counts": lead_counts,
        "open_opportunity_count": opp_counts["open"],
        "limit": MY_WORK_LIMIT,
    }
