"""`{% conversion_readiness lead %}`: the conversion gate as a card for the lead page.

The readiness checklist (five criteria, hand-off, discovery, e-mail), one ready/not-ready
answer, a pending override request, and the way into the conversion wizard for those who
may convert. Three small queries; the lead page needs nothing else in its context.
"""

from __future__ import annotations

from typing import Any

from django import template

from leads.gate import conversion_checklist
from leads.models import Lead, Qualification
from opportunities.models import ConversionRequest

register = template.Library()


@register.inclusion_tag("opportunities/_lead_conversion.html", takes_context=True)
def conversion_readiness(context: template.Context, lead: Lead) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or lead.status not in (Lead.Status.SQL, Lead.Status.CONVERTED):
        return {"show": False}
    if lead.status == Lead.Status.CONVERTED:
        snapshot = getattr(lead, "conversion_snapshot", None)
        return {
            "show": True,
            "lead": lead,
            "converted_to": snapshot.opportunity if snapshot else None,
        }
    checks = conversion_checklist(lead, Qualification.objects.filter(lead=lead).first())
    return {
        "show": True,
        "lead": lead,
        "checks": checks,
        "unmet": [c for c in checks if not c.met],
        "pending": lead.conversion_requests.filter(state=ConversionRequest.State.PENDING)
        .select_related("requested_by")
        .first(),
        "can_convert": user.has_perm("opportunities.convert_lead", lead),
    }
