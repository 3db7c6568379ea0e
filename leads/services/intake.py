"""Intake: a new lead from the browser form or the API is created by `lead_create`.

One function, so every entry point applies the same minimum-data rules, starts the same
SLA clocks and routes the lead the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.versioning import save_with_version_bump
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.models import Lead, LeadEvent, Qualification
from leads.services._records import record_event
from leads.services.assignment import _assign, _route
from leads.services.edits import EDITABLE_FIELDS
from leads.services.lifecycle import _transition


def lead_create(
    *, by: User | None, data: Mapping[str, Any], owner: User | None = None, via: str = "form"
) -> Lead:
    """Intake: validate minimum data, create the lead as MQL and route it to an SDR.

    Refused at once, with every problem named, when company, contact or source is missing.
    """
    problems = gate.intake_problems(data)
    if problems:
        raise ValidationFailed(problems=problems)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", f, _("This field cannot be set.")) for f in sorted(unknown)
            ]
        )
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.create(**{k: v for k, v in data.items() if v is not None})
        Qualification.objects.create(lead=lead, updated_by=by)
        record_event(lead, LeadEvent.Kind.CREATED, by=by, at=now, note=via)
        _transition(lead, to=Lead.Status.MQL, by=by, reason=_("Passed intake validation"), at=now)
        lead.mql_at = now
        save_with_version_bump(lead, ["status", "mql_at"])
        clocks().on_event(lead=lead, event=ClockEvent.MQL, at=now)
        if owner is not None:
            _assign(lead, owner=owner, by=by, at=now, reason=_("Assigned at intake"))
        else:
            _route(lead, at=now)
    return lead
