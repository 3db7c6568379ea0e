"""Row locks: how every lead service starts its transaction.

A service locks the lead row before it reads what it will change, so two people acting
on one lead at once queue up instead of overwriting each other; `crm.versioning` then
refuses a change made from a page that was already out of date.
"""

from __future__ import annotations

from django.db.models import QuerySet

from crm.models import User
from leads.access import LeadAction, lead_for
from leads.models import Lead


def lockable() -> QuerySet[Lead]:
    """Leads locked for update (this row only), with the people a service reads loaded."""
    return Lead.objects.select_for_update(of=("self",)).select_related("owner", "ae", "team")


def lock_for(by: User, lead_id: int, *, to: LeadAction) -> Lead:
    """Lock the lead row and check that `by` may do `to` with it: `NotFound` when they may
    not see it, `NotAllowed` when they may see it but not do that (`leads.access`)."""
    return lead_for(by, lead_id, to=to, queryset=lockable())
