"""Editing what a person may change on a lead: its own fields and the five criteria.

Status, owner and milestones are not here: they have their own services. Every edit is
checked against the version the editor saw and records each changed field (old, new).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, check_version, save_with_version_bump
from leads import gate
from leads.models import Lead, LeadEvent, Qualification
from leads.services._locking import lock_for
from leads.services._records import keep_former_addresses, record_event

# Fields a person may edit on a lead; status, owner and milestones have their own services.
EDITABLE_FIELDS = (
    "company_name",
    "company_domain",
    "industry",
    "employee_count",
    "segment",
    "territory",
    "country",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "source",
    "campaign",
    "score",
    "lost_to_competitor",
)
QUALIFICATION_FIELDS = tuple(
    f.name
    for f in Qualification._meta.get_fields()
    if f.concrete and f.name not in {"id", "lead", "version", "updated_at", "updated_by"}
)


def lead_update(
    *, lead_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> Lead:
    """Edit a lead's own fields, recording each change (field, old, new)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("read_only", f, _("This field cannot be edited here."))
                for f in sorted(unknown)
            ]
        )
    data = gate.canonical(data)
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        merged = {f: getattr(lead, f) for f in EDITABLE_FIELDS} | dict(data)
        problems = gate.intake_problems(merged)
        if "score" in data and data["score"] is None:
            problems.append(Problem("required", "score", _("Give a lead score from 0 to 100.")))
        if problems:
            raise ValidationFailed(problems=problems)
        changes = apply_changes(lead, data)
        if not changes:
            return lead
        save_with_version_bump(lead, list(changes))
        if "email" in changes:
            keep_former_addresses([(lead.pk, *changes["email"])])
        record_event(lead, LeadEvent.Kind.EDITED, by=by, at=timezone.now(), changes=changes)
    return lead


def qualification_update(
    *, lead_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> Qualification:
    """Record progress on the five criteria; every changed field is kept in the history."""
    unknown = set(data) - set(QUALIFICATION_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", f, _("This field cannot be set.")) for f in sorted(unknown)
            ]
        )
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        if not lead.is_open:
            raise InvalidTransition(current=lead.status, target="qualification")
        qualification, _created = Qualification.objects.select_for_update().get_or_create(lead=lead)
        check_version(qualification.version, expected_version)
        changes = apply_changes(qualification, data)
        if not changes:
            return qualification
        try:
            qualification.full_clean(exclude=["lead", "updated_by"])
        except DjangoValidationError as exc:
            raise ValidationFailed(
                problems=[
                    Problem(
                        error.code or "invalid", field, str(error.message % (error.params or {}))
                    )
                    for field, errors in exc.error_dict.items()
                    for error in errors
                ]
            ) from exc
        qualification.version += 1
        qualification.updated_by = by
        qualification.save()
        record_event(lead, LeadEvent.Kind.QUALIFICATION, by=by, at=timezone.now(), changes=changes)
    return qualification
