"""The conversion readiness card on the lead page (registered with `leads.panels`).

The readiness checklist (five criteria, hand-off, discovery, e-mail), one ready/not-ready
answer, a pending override request, and the way into the conversion wizard for those who
may convert. Three small queries at most.
"""

from __future__ import annotations

from typing import Any

from crm.models import User
from leads.gate import conversion_checklist
from leads.models import Lead, Qualification
from leads.panels import LeadPanel
from opportunities.models import ConversionRequest


def conversion_readiness(user: User, lead: Lead) -> dict[str, Any] | None:
    if lead.status not in (Lead.Status.SQL, Lead.Status.CONVERTED):
        return None
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


CONVERSION_READINESS = LeadPanel("opportunities/_lead_conversion.html", conversion_readiness)
