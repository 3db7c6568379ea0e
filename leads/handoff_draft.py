"""The hand-off package, drafted from what the lead already holds, so the SDR edits it
instead of retyping it: the company and the person from the lead, the people and the
pain from the qualification, the criteria with their evidence, the latest activities.

A draft only: the form shows it, the SDR changes what they like, and the gate
(`leads.gate.handoff_problems`) judges what is submitted. The recommended next step is
left to the SDR — nothing recorded says it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from leads.models import Activity, Lead, Qualification

ACTIVITIES_IN_DRAFT = 5
ACTIVITY_BODY_CHARS = 200


def _lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line.strip())


def _labelled(label: str, value: object) -> str:
    text = str(value or "").strip()
    return f"{label}: {text}" if text else ""


def _joined(parts: Iterable[object], separator: str = " · ") -> str:
    return separator.join(str(part) for part in parts if part)


def company_background(lead: Lead) -> str:
    employees = (
        _("%(count)s employees") % {"count": f"{lead.employee_count:,}"}
        if lead.employee_count
        else ""
    )
    return _lines(
        _joined([lead.company_name, lead.company_domain], " — "),
        _joined([lead.industry, employees, lead.get_segment_display() if lead.segment else ""]),
        _joined([lead.territory, lead.country]),
    )


def contacts_org_chart(lead: Lead, qualification: Qualification | None) -> str:
    person = _joined([lead.full_name, lead.job_title], ", ")
    reach = _joined([lead.email, lead.phone])
    q = qualification
    return _lines(
        _joined([person, reach], " — "),
        _labelled(_("Economic buyer"), q.economic_buyer if q else ""),
        _labelled(_("Budget holder"), q.budget_holder if q else ""),
        _labelled(_("Decision unit"), q.decision_unit if q else ""),
        _labelled(_("People involved"), q.decision_people if q else ""),
    )


def pain_points(qualification: Qualification | None) -> str:
    q = qualification
    if q is None:
        return ""
    return _lines(
        q.need_problem,
        _labelled(_("Cost of not solving it"), q.need_cost_of_inaction),
        _labelled(_("Why now"), q.need_why_now),
        _labelled(_("Evidence"), q.need_evidence),
    )


def engagement_history(lead: Lead, activities: Sequence[Activity]) -> str:
    """Where the lead came from, then the latest activities done, newest first."""
    source = _joined([lead.get_source_display(), lead.campaign], " / ")
    lines = [_labelled(_("Source"), source)]
    # What happened, not what is planned: a follow-up still to do is no history yet.
    done = [a for a in activities if a.occurred_at or a.completed_at or not a.due_at]
    for activity in done[:ACTIVITIES_IN_DRAFT]:
        when = activity.occurred_at or activity.completed_at or activity.created_at
        body = " ".join(activity.body.split())
        if len(body) > ACTIVITY_BODY_CHARS:
            body = body[: ACTIVITY_BODY_CHARS - 1] + "…"
        lines.append(
            _joined(
                [
                    timezone.localtime(when).strftime("%Y-%m-%d") if when else "",
                    activity.get_kind_display(),
                    _joined([activity.subject, body], " — "),
                ]
            )
        )
    return _lines(*lines)


def qualification_notes(qualification: Qualification | None) -> str:
    """Each criterion with its status and evidence, then the notes."""
    q = qualification
    if q is None:
        return ""
    names = {
        "budget": _("Budget"),
        "authority": _("Authority"),
        "need": _("Need"),
        "timeline": _("Timeline"),
        "decision": _("Decision process"),
    }
    framework = capfirst(Qualification._meta.get_field("framework").verbose_name)
    lines = [_labelled(str(framework), q.get_framework_display())]
    for criterion in Qualification.CRITERIA:
        status = getattr(q, f"get_{criterion}_status_display")()
        evidence = str(getattr(q, f"{criterion}_evidence") or "").strip()
        lines.append(f"{names[criterion]} ({status}){': ' + evidence if evidence else ''}")
    if q.timeline_target_date or q.timeline_forcing_event:
        target = q.timeline_target_date.isoformat() if q.timeline_target_date else ""
        lines.append(
            _labelled(_("Target date"), _joined([target, q.timeline_forcing_event], " — "))
        )
    lines.append(_labelled(_("Decision criteria"), q.decision_criteria))
    lines.append(_labelled(_("Other vendors"), q.decision_other_vendors))
    lines.append(q.notes)
    return _lines(*lines)


def handoff_draft(
    lead: Lead, qualification: Qualification | None, activities: Sequence[Activity]
) -> dict[str, str]:
    """The package's fields (`leads.gate.HANDOFF_FIELDS`) as far as the lead tells them."""
    return {
        "company_background": company_background(lead),
        "contacts_org_chart": contacts_org_chart(lead, qualification),
        "pain_points": pain_points(qualification),
        "engagement_history": engagement_history(lead, activities),
        "qualification_notes": qualification_notes(qualification),
        "recommended_next_step": "",
    }
