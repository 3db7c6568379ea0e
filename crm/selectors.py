"""Reads that span apps: the signed-in user's work list."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from crm.models import User
from leads.models import Lead
from opportunities.models import Opportunity
from sla.models import SlaTimer

MY_WORK_LIMIT = 50


def my_work(user: User) -> dict:
    """Open leads and opportunities the user owns, most urgent first, in a fixed number of
    queries whatever their number (lists are capped; counts are one aggregate each)."""
    # Urgency = the stored due time of the lead's next running SLA clock (the same value
    # the sweep and the queue badges use); leads without a clock follow, oldest first.
    next_due = (
        SlaTimer.objects.running()
        .filter(lead=OuterRef("pk"))
        .order_by("due_at")
        .values("due_at")[:1]
    )
    leads = (
        Lead.objects.filter(Q(owner=user) | Q(ae=user), status__in=Lead.OPEN_STATUSES)
        .select_related("owner", "ae")
        .annotate(next_due_at=Subquery(next_due))
        .order_by(F("next_due_at").asc(nulls_last=True), "created_at")[:MY_WORK_LIMIT]
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
        "now": timezone.now(),
    }
