"""What happens to a post to a web form, and the row that remembers it.

The visitor's values, already parsed (`capture.forms.PublicLeadForm`), become a lead
through `lead_intake`, the one intake every channel shares: the same minimum data, the
same duplicate check (a person with a live lead gets a touch on it, not a second lead),
routed at once. Every post leaves a `FormSubmission` row, whether it made a lead, found
one, or was refused, so RevOps can count them per form.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from capture.models import FormSubmission, SubmissionOutcome, WebForm
from crm.exceptions import Problem, ValidationFailed
from leads.models import Lead
from leads.services.intake import IntakeResult, lead_intake

MAX_ORIGIN = 200


def _record(
    form: WebForm,
    *,
    outcome: str,
    at: datetime.datetime,
    ip_hash: str,
    origin: str,
    lead: Lead | None = None,
    problems: Iterable[Problem] = (),
) -> FormSubmission:
    return FormSubmission.objects.create(
        form=form,
        at=at,
        ip_hash=ip_hash,
        origin=origin[:MAX_ORIGIN],
        outcome=outcome,
        lead=lead,
        problems=[{"code": p.code, "field": p.field} for p in problems],
    )


def lead_values(form: WebForm, data: Mapping[str, Any]) -> dict[str, Any]:
    """The lead as the form makes it: what the visitor filled in (blanks left out), with
    the form's source and campaign."""
    values = {k: v for k, v in data.items() if v not in (None, "")}
    values["source"] = form.source
    if form.campaign:
        values["campaign"] = form.campaign
    return values


def web_form_submit(
    *,
    form: WebForm,
    data: Mapping[str, Any],
    ip_hash: str,
    origin: str = "",
    at: datetime.datetime | None = None,
) -> IntakeResult:
    """Take in the visitor's lead and record the post; `ValidationFailed` (recorded as
    invalid) when the intake rules refuse it."""
    at = at or timezone.now()
    try:
        with transaction.atomic():
            result = lead_intake(
                by=None, data=lead_values(form, data), via="web_form", form=form.name, at=at
            )
            _record(
                form,
                outcome=result.outcome,
                at=at,
                ip_hash=ip_hash,
                origin=origin,
                lead=result.lead,
            )
    except ValidationFailed as error:
        _record(
            form,
            outcome=SubmissionOutcome.INVALID,
            at=at,
            ip_hash=ip_hash,
            origin=origin,
            problems=error.problems,
        )
        raise
    return result


def form_submission_refused(
    *,
    form: WebForm,
    outcome: SubmissionOutcome,
    ip_hash: str,
    origin: str = "",
    problems: Iterable[Problem] = (),
    at: datetime.datetime | None = None,
) -> FormSubmission:
    """Record a post that made no lead: spam, invalid, throttled or from a site the form
    does not allow."""
    return _record(
        form,
        outcome=outcome,
        at=at or timezone.now(),
        ip_hash=ip_hash,
        origin=origin,
        problems=problems,
    )
