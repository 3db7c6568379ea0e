"""The lead page: everything about one lead at a glance, and the forms of every step.

The steps themselves post to their own views (actions, qualification, hand-off,
activities); when one is refused on a field, that view renders this page again with
its bound form open (`render_lead_page`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from crm.exceptions import Problem
from crm.web.requests import AuthedHttpRequest
from leads import gate, selectors, services
from leads.access import lead_actions, lead_for
from leads.forms import (
    ActionForm,
    ActivityForm,
    AssignForm,
    DiscoveryForm,
    DisqualifyForm,
    QualificationForm,
    ReasonForm,
    RejectForm,
    StyledForm,
)
from leads.models import CriterionStatus, Lead, Qualification
from leads.panels import render_panels

# Forms on the lead page, by action name. `auto_id` keeps ids unique on one page.
DETAIL_FORMS: dict[str, type[StyledForm]] = {
    "accept": ActionForm,
    "qualify": ActionForm,
    "reject": RejectForm,
    "nurture": ReasonForm,
    "disqualify": DisqualifyForm,
    "reopen": ReasonForm,
    "discovery": DiscoveryForm,
    "activity": ActivityForm,
    "qualification": QualificationForm,
}


def lead_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def detail_form(name: str, data: Any = None, **kwargs: Any) -> StyledForm:
    return DETAIL_FORMS[name](data, auto_id=f"{name}-%s", **kwargs)


def qualification_form(data: Any = None, **kwargs: Any) -> QualificationForm:
    return QualificationForm(data, auto_id="qualification-%s", **kwargs)


def activity_form(data: Any = None) -> ActivityForm:
    return ActivityForm(data, auto_id="activity-%s")


def assign_form(data: Any = None) -> AssignForm:
    return AssignForm(data, owners=services.owner_choices(), auto_id="assign-%s")


def _criteria_panel(
    qualification: Qualification,
    form: QualificationForm,
    *,
    missing_for_sql: set[str],
    problems: list[Problem],
) -> list[dict[str, Any]]:
    """The five criteria as the panel shows them: the form's fields plus each one's state."""
    problem_by_criterion = {(p.field or "").removesuffix("_status"): p.message for p in problems}
    criteria = []
    for criterion in form.criteria():
        key = criterion["key"]
        state = qualification.criterion_status(key)
        confirmed = qualification.is_confirmed(key)
        criterion |= {
            "state": state,
            "state_label": CriterionStatus(state).label,
            "confirmed": confirmed,
            "needs_evidence": state == CriterionStatus.CONFIRMED and not confirmed,
            # "TBD" typed as evidence: the panel says why it does not count.
            "placeholder_evidence": qualification.has_placeholder_evidence(key),
            "evidence_text": getattr(qualification, f"{key}_evidence"),
            "problem": problem_by_criterion.get(key, ""),
            "missing_for_sql": key in missing_for_sql,
        }
        criteria.append(criterion)
    return criteria


def lead_page_context(
    request: AuthedHttpRequest,
    lead: Lead,
    *,
    bound: dict[str, Form] | None = None,
    open_action: str = "",
    qualify_problems: list[Problem] | None = None,
    stale_changes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything the lead page shows. `bound` replaces a step's blank form with the
    submitted one (errors and all); `open_action` unfolds that step's panel."""
    now = timezone.now()
    # A lead seeded or imported without a qualification record still gets the panel: an
    # unsaved record shows the five criteria empty, and the first save creates it
    # (`services.qualification_update`), so no open lead is stuck without one.
    stored_qualification = selectors.lead_qualification(lead)
    qualification = stored_qualification or (Qualification(lead=lead) if lead.is_open else None)
    handoff = selectors.lead_latest_handoff(lead)
    # A hand-off from before the latest reopening belongs to an earlier pass: the page
    # still shows it, marked so, but the steps only count this pass's hand-off.
    reopened_at = gate.latest_reopening(lead) if handoff is not None else None
    handoff_is_current = handoff is not None and (
        reopened_at is None or handoff.created_at > reopened_at
    )
    actions = lead_actions(request.user, lead, handoff=handoff if handoff_is_current else None)
    # "Move to SQL" only when the gate the service asks says yes: never a button that 400s.
    actions["qualify"] = actions["qualify"] and gate.is_sql_ready(lead, qualification)
    bound = bound or {}

    versioned = {"version": lead.version, "loaded_at": now}
    forms: dict[str, Form | None] = {
        name: detail_form(name, initial=versioned)
        for name in ("accept", "qualify", "nurture", "disqualify", "reopen")
    }
    forms["reject"] = detail_form("reject", initial=versioned) if actions["reject"] else None
    forms["assign"] = assign_form() if actions["assign"] else None
    forms["discovery"] = detail_form("discovery") if actions["discovery"] else None
    forms["activity"] = activity_form()
    criteria_form: QualificationForm | None = None
    if qualification is not None:
        submitted = bound.get("qualification")
        criteria_form = (
            submitted
            if isinstance(submitted, QualificationForm)
            else qualification_form(
                initial={f: getattr(qualification, f) for f in services.QUALIFICATION_FIELDS}
                | {"version": qualification.version, "loaded_at": now}
            )
        )
    forms |= bound
    forms["qualification"] = criteria_form

    # The gate is the one definition of "ready for SQL"; the panel only displays it.
    gate_problems = gate.sql_problems(lead, qualification) if qualification else []
    missing_for_sql = {p.field.removesuffix("_status") for p in gate_problems if p.field}
    missing_for_sql -= {"status"}
    criteria = (
        _criteria_panel(
            qualification,
            criteria_form,
            missing_for_sql=missing_for_sql,
            problems=qualify_problems or [],
        )
        if qualification is not None and criteria_form is not None
        else []
    )

    activities = selectors.lead_activities(lead)
    running_timers, stopped_timers = selectors.lead_clock_rows(lead, now)
    return {
        "lead": lead,
        "now": now,
        "qualification": qualification,
        "qualification_is_new": qualification is not None and stored_qualification is None,
        "criteria": criteria,
        "confirmed_count": qualification.confirmed_count if qualification else 0,
        "sql_ready": qualification is not None and not missing_for_sql,
        "qualify_problems": qualify_problems or [],
        "handoff": handoff,
        "handoff_is_current": handoff_is_current,
        "reopened_at": reopened_at,
        "actions": actions,
        "forms": forms,
        "open_action": open_action,
        "pending_activities": sorted(
            (a for a in activities if a.due_at and not a.completed_at),
            key=lambda a: a.due_at or now,
        ),
        "logged_activities": [a for a in activities if not (a.due_at and not a.completed_at)],
        "activity_count": len(activities),
        "running_timers": running_timers,
        "stopped_timers": stopped_timers,
        "milestones": selectors.lead_milestones(lead),
        "former_addresses": selectors.lead_former_addresses(lead),
        "steps": selectors.lead_lifecycle_steps(lead),
        "timeline": selectors.lead_timeline(lead),
        "stale_changes": stale_changes,
        "panels": render_panels(request, request.user, lead),
    }


def render_lead_page(
    request: AuthedHttpRequest, lead: Lead, *, status: int = 200, **kwargs: Any
) -> HttpResponse:
    return render(
        request, "leads/detail.html", lead_page_context(request, lead, **kwargs), status=status
    )


@login_required
def lead_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return render_lead_page(request, lead_for(request.user, pk))
