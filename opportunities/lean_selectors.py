"""Reads the opportunities API's lean list and detail need besides the deal rows
(`crm.api.lean`): the contact roles of a page of deals, in one query."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from opportunities.models import OpportunityContactRole


def contact_roles_of(deal_ids: Sequence[int]) -> QuerySet[OpportunityContactRole]:
    """The contact roles of the deals `deal_ids`, each deal's in the order they were added
    (the order the deal page and the serializer's prefetch show them)."""
    return OpportunityContactRole.objects.filter(opportunity_id__in=deal_ids).order_by("pk")
