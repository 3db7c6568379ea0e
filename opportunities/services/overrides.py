"""Override requests: converting with a criterion unmet waits for a manager's decision.

Only the five criteria may be waived, only with a written rationale, and only a manager
of the requester (or of the lead's team), or RevOps, decides. The request row keeps who
decided, when and why; an approval runs `lead_convert` with the recorded input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import Notification, User
from crm.services import notify
from leads import gate
from opportunities.access import override_request_for
from opportunities.exceptions import AlreadyDecided, NotReady, OverrideNotAllowed, OverridePending
from opportunities.models import ConversionRequest
from opportunities.services.convert import (
    conversion_check,
    lead_convert,
    lock_lead_to_convert,
    managers_of,
)


def conversion_request_create(
    *, lead_id: int, by: User, raw: dict[str, Any], rationale: str
) -> ConversionRequest:
    """Ask to convert with a criterion unmet. Only the five criteria may be waived, only
    with a written rationale, and only a manager may approve it."""
    if gate.is_blank(rationale):
        raise ValidationFailed(
            problems=[
                Problem("required", "override_rationale", _("Explain why it should convert now."))
            ]
        )
    with transaction.atomic():
        lead = lock_lead_to_convert(lead_id, by=by)
        _data, problems = conversion_check(lead, raw)
        waivable = gate.unmet_criteria(problems)
        blocking = [p for p in problems if p.code not in waivable]
        if blocking:
            raise NotReady(problems=blocking)
        if not waivable:
            raise OverrideNotAllowed(_("Every criterion is met: convert it directly."))
        if lead.conversion_requests.filter(state=ConversionRequest.State.PENDING).exists():
            raise OverridePending(_("An override request for this lead is already waiting."))
        request = ConversionRequest.objects.create(
            lead=lead,
            requested_by=by,
            data=raw,
            unmet=[p.as_dict() for p in problems if p.code in waivable],
            rationale=rationale.strip(),
        )
        notify(
            recipients=managers_of(by),
            kind=Notification.Kind.APPROVAL,
            message=lambda: (
                _("%(who)s asks to convert %(company)s with %(n)s criteria unmet")
                % {"who": by, "company": lead.company_name, "n": len(waivable)}
            ),
            url=reverse("opportunities:overrides"),
            email=True,
            by=by,
        )
    return request


def _lock_pending(request_id: int, *, by: User) -> ConversionRequest:
    """The request, locked, if `by` may decide it and nobody has yet."""
    request = override_request_for(
        by,
        request_id,
        to="decide",
        queryset=ConversionRequest.objects.select_for_update(of=("self",)),
    )
    if request.state != ConversionRequest.State.PENDING:
        raise AlreadyDecided(_("This request was already decided."))
    return request


def conversion_request_approve(*, request_id: int, by: User, note: str = "") -> ConversionRequest:
    """A manager approves: the lead converts with the rep's recorded input, the waived
    criteria flagged on the snapshot and the deal; the request records who, when, why."""
    with transaction.atomic():
        request = _lock_pending(request_id, by=by)
        request.decision_note = note.strip()
        lead_convert(
            lead_id=request.lead_id,
            by=request.requested_by,
            raw=request.data,
            override_request=request,
            approved_by=by,
        )
        _tell_requester(request, lambda: _("Override approved: %s converted"))
    return request


def conversion_request_decline(*, request_id: int, by: User, note: str = "") -> ConversionRequest:
    """A manager declines: the lead stays a lead; the request records who, when, why."""
    with transaction.atomic():
        request = _lock_pending(request_id, by=by)
        request.state = ConversionRequest.State.DECLINED
        request.decided_by = by
        request.decided_at = timezone.now()
        request.decision_note = note.strip()
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        _tell_requester(request, lambda: _("Override declined: %s"))
    return request


def _tell_requester(request: ConversionRequest, template: Callable[[], str]) -> None:
    """`template()` gives the text with a slot for the company, in the reader's language."""
    company = request.lead.company_name
    notify(
        recipients=[request.requested_by],
        kind=Notification.Kind.APPROVAL,
        message=lambda: template() % company,
        url=reverse("leads:detail", args=[request.lead_id]),
    )
