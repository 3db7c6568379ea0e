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


def lock_row(lead_id: int) -> None:
    """Lock the bare lead row, with no joins and no scoping.

    A `FOR UPDATE` taken through the access scope's joins is re-checked by PostgreSQL
    against the row's new version when it had to wait: if the other transaction moved the
    lead to another owner or team, the re-check drops the row and the caller sees "not
    found" instead of the lead. Locking the row alone first, then reading it through the
    scope, makes the waiter read the committed row and get the right answer."""
    list(Lead.objects.select_for_update().filter(pk=lead_id).values_list("pk", flat=True))


def lock_for(by: User, lead_id: int, *, to: LeadAction) -> Lead:
    """Lock the lead row and check that `by` may do `to` with it: `NotFound` when they may
    not see it, `NotAllowed` when they may see it but not do that (`leads.access`)."""
    lock_row(lead_id)
    return lead_for(by, lead_id, to=to, queryset=Lead.objects.select_related("owner", "ae", "team"))
