"""HTML views for the SDR's day: the queue, the lead page and every step of the lifecycle.

Each view parses input with a form from `leads.forms`, calls one service from
`leads.services` and renders or redirects. Domain errors come back as follows:
`ValidationFailed` -> each Problem on its form field (else a non-field error);
`InvalidTransition` -> a message and back to the lead; `StaleVersion` -> a message (and,
for edit forms, the user's input kept next to what changed meanwhile); `NotAllowed` -> 403.
A lead the user may not view is a 404, whatever the method.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.exceptions import DomainError, InvalidTransition, NotAllowed, StaleVersion
from crm.models import User
from leads import services
from leads.forms import (
    ActionForm,
    ActivityForm,
    AssignForm,
    DiscoveryForm,
    HandoffForm,
    LeadFilterForm,
    LeadForm,
    QualificationForm,
    ReasonForm,
    RejectForm,
)
from leads.gate import sql_problems
from leads.models import (
    ALLOWED_TRANSITIONS,
    Activity,
    CriterionStatus,
    Handoff,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
)
from sla.models import SlaTimer

Status = Lead.Status
QUEUE_PAGE_SIZE = 25


# --- helpers ---------------------------------------------------------------------------------


def _visible_lead(request: HttpRequest, pk: int) -> Lead:
    """The lead, or 404 when it does not exist or the user may not see it."""
    lead = get_object_or_404(
        Lead.objects.select_related("owner", "ae", "team", "rejection_reason"), pk=pk
    )
    if not request.user.has_perm("leads.view_lead", lead):
        raise Http404
    return lead


def _require_work(request: HttpRequest, lead: Lead) -> None:
    """For pages that only exist to change the lead (edit, hand-off): 403 up front."""
    if not request.user.has_perm("leads.work_lead", lead):
        raise PermissionDenied


def _add_problems(form: Form, error: DomainError) -> None:
    """Each Problem on its form field when the form has one, else above the form."""
    for problem in error.problems:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, str(problem.message))


def _transition_message(error: InvalidTransition) -> str:
    try:
        status = Status(error.current).label
    except ValueError:
        status = error.current
    return _(
        "That step is not possible while the lead is %(status)s. "
        "The page now shows its current state."
    ) % {"status": status}


STALE_MESSAGE = gettext_lazy(
    "Someone else changed this lead while you had it open, so nothing was saved. "
    "Check its current state below and try again."
)


def _field_label(name: str) -> str:
    for model in (Lead, Qualification, Handoff):
        try:
            return str(capfirst(model._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            continue
    return capfirst(name.replace("_", " "))


def _display_value(name: str, value: Any) -> Any:
    """A stored change value as people read it: choice labels instead of codes."""
    for model in (Lead, Qualification):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if getattr(field, "flatchoices", None):
            return dict(field.flatchoices).get(value, value)
    return value


def _timeline(lead: Lead, *, since: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """Status moves and other events of `lead` as one list, newest first.

    A service stamps all it writes with one instant; within it, "created" comes before
    the status move and the other events (assignment, ...) after it."""
    transitions = LeadTransition.objects.filter(lead=lead).select_related("actor")
    events = LeadEvent.objects.filter(lead=lead).select_related("actor")
    if since is not None:
        transitions = transitions.filter(created_at__gt=since)
        events = events.filter(created_at__gt=since)
    entries = [
        {
            "type": "transition",
            "at": t.created_at,
            "sort": (t.created_at, 1, t.pk),
            "actor": t.actor,
            "from_status": t.from_status,
            "from_label": t.get_from_status_display(),
            "to_status": t.to_status,
            "to_label": t.get_to_status_display(),
            "reason": t.reason,
        }
        for t in transitions
    ]
    entries += [
        {
            "type": "event",
            "kind": e.kind,
            "title": e.get_kind_display(),
            "at": e.created_at,
            "sort": (e.created_at, 0 if e.kind == LeadEvent.Kind.CREATED else 2, e.pk),
            "actor": e.actor,
            "note": e.note,
            "raw_changes": e.changes or {},
            "changes": [
                {
                    "label": _field_label(field),
                    "old": _display_value(field, old),
                    "new": _display_value(field, new),
                }
                for field, (old, new) in (e.changes or {}).items()
            ],
        }
        for e in events
    ]
    entries.sort(key=lambda entry: entry["sort"], reverse=True)
    return entries


def _same(a: Any, b: Any) -> bool:
    """Equal as the form shows them (None and "" alike, dates as ISO text)."""
    return _as_form_value(a) == _as_form_value(b)


def _as_form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _rebase(
    request: HttpRequest,
    form: Form,
    *,
    lead: Lead,
    current: Lead | Qualification,
    fields: tuple[str, ...],
    build: Callable[[Any], Form],
    kind: str | None = None,
) -> tuple[Form, list[dict[str, Any]]]:
    """After a StaleVersion: the user's input rebased on the current row, and what changed.

    Fields only the other person changed take the current value (so saving again does not
    undo their work); fields both changed keep the user's value with a note on the field.
    """
    since = form.cleaned_data.get("loaded_at")
    changes = _timeline(lead, since=since) if since else []
    if kind is not None:
        changes = [entry for entry in changes if entry.get("kind") == kind]
    originals: dict[str, Any] = {}
    for entry in reversed(changes):  # oldest first: keep what the user saw
        for field, (old, _new) in entry.get("raw_changes", {}).items():
            originals.setdefault(field, old)
    data = request.POST.copy()
    conflicts = {}
    for field, original in originals.items():
        if field not in fields:
            continue
        mine, theirs = form.cleaned_data.get(field), getattr(current, field)
        if _same(mine, original):
            data[field] = _as_form_value(theirs)
        elif not _same(mine, theirs):
            conflicts[field] = theirs
    data["version"] = str(current.version)
    data["loaded_at"] = timezone.now().isoformat()
    rebased = build(data)
    rebased.is_valid()
    for field, theirs in conflicts.items():
        rebased.add_error(
            field,
            _("Changed meanwhile to “%(value)s”. Save again to replace it with yours.")
            % {"value": _display_value(field, theirs) or "—"},
        )
    return rebased, changes


def _handed_off_this_round(lead: Lead) -> bool:
    """A reopened lead may be qualified and handed off again."""
    if lead.handed_off_at is None:
        return False
    return lead.qualified_at is None or lead.handed_off_at >= lead.qualified_at


def _lifecycle_steps(lead: Lead) -> list[dict[str, Any]]:
    path = [
        (Status.NEW, lead.created_at),
        (Status.MQL, lead.mql_at),
        (Status.SAL, lead.accepted_at),
        (Status.SQL, lead.qualified_at),
        (Status.CONVERTED, lead.converted_at),
    ]
    current = [s for s, _at in path].index(lead.status) if lead.status in dict(path) else -1
    steps = []
    for index, (status, at) in enumerate(path):
        if index == current:
            state = "current"
        elif (current >= 0 and index < current) or (current < 0 and at is not None):
            state = "done"
        else:
            state = "todo"
        steps.append({"status": status, "label": status.label, "state": state, "at": at})
    return steps


# How the lead page styles each running clock; the state itself is SlaTimer.state(now),
# the same predicate the sweep, the queue filters and the dashboards use.
_CLOCK_STYLE = {
    SlaTimer.State.OVERDUE: "overdue",
    SlaTimer.State.AT_RISK: "warning",
    SlaTimer.State.RUNNING: "ok",
}


def _timer_rows(lead: Lead, now: datetime.datetime) -> tuple[list[dict], list[SlaTimer]]:
    timers = list(lead.sla_timers.select_related("policy").order_by("due_at", "pk"))
    running = [
        {"timer": timer, "state": _CLOCK_STYLE[timer.state(now)]}
        for timer in timers
        if timer.is_running()
    ]
    stopped = sorted(
        (t for t in timers if not t.is_running()), key=lambda t: t.stopped_at, reverse=True
    )
    return running, stopped


def _milestones(lead: Lead) -> list[tuple[str, datetime.datetime | None]]:
    path = ["mql_at", "assigned_at", "first_contacted_at", "accepted_at", "qualified_at"]
    path += ["handed_off_at", "converted_at"]
    off_ramps = ["rejected_at", "nurtured_at", "disqualified_at"]
    rows = [(_field_label(name), getattr(lead, name)) for name in path]
    rows += [(_field_label(name), getattr(lead, name)) for name in off_ramps if getattr(lead, name)]
    return rows


# Forms on the lead page, by action name. `auto_id` keeps ids unique on one page.
DETAIL_FORMS: dict[str, type[Form]] = {
    "accept": ActionForm,
    "qualify": ActionForm,
    "reject": RejectForm,
    "nurture": ReasonForm,
    "disqualify": ReasonForm,
    "reopen": ReasonForm,
    "discovery": DiscoveryForm,
    "activity": ActivityForm,
    "qualification": QualificationForm,
}


def _detail_form(name: str, data: Any = None, **kwargs: Any) -> Form:
    return DETAIL_FORMS[name](data, auto_id=f"{name}-%s", **kwargs)


def _assign_form(data: Any = None) -> AssignForm:
    return AssignForm(data, owners=services.owner_choices(), auto_id="assign-%s")


def _actions(request: HttpRequest, lead: Lead, handoff: Handoff | None) -> dict[str, bool]:
    """The buttons this user may use on this lead now. The services check again."""
    user = request.user
    can_work = user.has_perm("leads.work_lead", lead)
    can_assign = user.has_perm("leads.assign_lead", lead)
    allowed = ALLOWED_TRANSITIONS[lead.status]
    reopen_perm = can_assign if lead.status == Status.REJECTED else can_work
    return {
        "edit": can_work,
        "log": can_work,
        "qualification": can_work and lead.is_open,
        "accept": can_work and Status.SAL in allowed,
        "reject": can_work and Status.REJECTED in allowed,
        "qualify": can_work and Status.SQL in allowed,
        "handoff": can_work and lead.status == Status.SQL and not _handed_off_this_round(lead),
        # The AE's step: the SDR waits for it; a manager or RevOps may record it.
        "discovery": can_work
        and lead.status == Status.SQL
        and _handed_off_this_round(lead)
        and handoff is not None
        and handoff.discovery_held_at is None
        and (user.pk == lead.ae_id or user.is_manager or user.sees_everything),
        "nurture": can_work and Status.NURTURE in allowed,
        "disqualify": can_work and Status.DISQUALIFIED in allowed,
        "reopen": reopen_perm
        and Status.MQL in allowed
        and lead.status in (Status.NURTURE, Status.REJECTED),
        "assign": can_assign and (lead.is_open or lead.status == Status.NURTURE),
    }


def _detail_context(
    request: HttpRequest,
    lead: Lead,
    *,
    bound: dict[str, Form] | None = None,
    open_action: str = "",
    problems: list | None = None,
    stale_changes: list[dict] | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    qualification = Qualification.objects.filter(lead=lead).first()
    handoff = lead.handoffs.select_related("from_user", "to_user").first()
    actions = _actions(request, lead, handoff)
    versioned = {"version": lead.version, "loaded_at": now}
    forms: dict[str, Form | None] = {
        name: _detail_form(name, initial=versioned)
        for name in ("accept", "qualify", "nurture", "disqualify", "reopen")
    }
    forms["reject"] = _detail_form("reject", initial=versioned) if actions["reject"] else None
    forms["assign"] = _assign_form() if actions["assign"] else None
    forms["discovery"] = _detail_form("discovery") if actions["discovery"] else None
    forms["activity"] = _detail_form("activity")
    if qualification is not None:
        forms["qualification"] = _detail_form(
            "qualification",
            initial={f: getattr(qualification, f) for f in services.QUALIFICATION_FIELDS}
            | {"version": qualification.version, "loaded_at": now},
        )
    else:
        forms["qualification"] = None
    forms |= bound or {}

    # The gate is the one definition of "ready for SQL"; the panel only displays it.
    gate_problems = [
        p for p in (sql_problems(lead, qualification) if qualification else []) if p.field
    ]
    missing_for_sql = {p.field.removesuffix("_status") for p in gate_problems} - {"status"}
    criteria = []
    if qualification is not None and forms["qualification"] is not None:
        messages_by_criterion = {
            (p.field or "").removesuffix("_status"): p.message for p in problems or []
        }
        for criterion in forms["qualification"].criteria():
            key = criterion["key"]
            state = qualification.criterion_status(key)
            confirmed = qualification.is_confirmed(key)
            criterion |= {
                "state": state,
                "state_label": CriterionStatus(state).label,
                "confirmed": confirmed,
                "needs_evidence": state == CriterionStatus.CONFIRMED and not confirmed,
                "evidence_text": getattr(qualification, f"{key}_evidence"),
                "problem": messages_by_criterion.get(key, ""),
                "missing_for_sql": key in missing_for_sql,
            }
            criteria.append(criterion)

    activities = list(lead.activities.select_related("owner").order_by("-created_at", "-pk"))
    running_timers, stopped_timers = _timer_rows(lead, now)
    return {
        "lead": lead,
        "now": now,
        "qualification": qualification,
        "criteria": criteria,
        "confirmed_count": qualification.confirmed_count if qualification else 0,
        "sql_ready": qualification is not None and not missing_for_sql,
        "qualify_problems": problems or [],
        "handoff": handoff,
        "actions": actions,
        "forms": forms,
        "open_action": open_action,
        "pending_activities": sorted(
            (a for a in activities if a.due_at and not a.completed_at), key=lambda a: a.due_at
        ),
        "logged_activities": [a for a in activities if not (a.due_at and not a.completed_at)],
        "activity_count": len(activities),
        "running_timers": running_timers,
        "stopped_timers": stopped_timers,
        "milestones": _milestones(lead),
        "steps": _lifecycle_steps(lead),
        "timeline": _timeline(lead),
        "stale_changes": stale_changes,
    }


def _render_detail(request: HttpRequest, lead: Lead, *, status: int = 200, **kwargs: Any):
    return render(
        request, "leads/detail.html", _detail_context(request, lead, **kwargs), status=status
    )


def _lead_action(
    request: HttpRequest,
    pk: int,
    name: str,
    call: Callable[[Lead, dict[str, Any]], Any],
    success: Callable[[Lead], str],
) -> HttpResponse:
    """POST a lifecycle step from the lead page: the form `name`, then `call` (a service)."""
    lead = _visible_lead(request, pk)
    form = _assign_form(request.POST) if name == "assign" else _detail_form(name, request.POST)
    if form.is_valid():
        try:
            call(lead, form.cleaned_data)
        except NotAllowed as error:
            raise PermissionDenied from error
        except InvalidTransition as error:
            messages.error(request, _transition_message(error))
            return redirect("leads:detail", pk=lead.pk)
        except StaleVersion:
            messages.warning(request, STALE_MESSAGE)
            return redirect("leads:detail", pk=lead.pk)
        except DomainError as error:
            _add_problems(form, error)
        else:
            lead.refresh_from_db()
            messages.success(request, success(lead))
            return redirect("leads:detail", pk=lead.pk)
    return _render_detail(request, lead, bound={name: form}, open_action=name, status=400)


# --- the queue -------------------------------------------------------------------------------


def _encode_cursor(lead: Lead) -> str:
    due = lead.next_due.isoformat() if lead.next_due else None
    raw = json.dumps([due, lead.created_at.isoformat(), lead.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(value: str | None) -> tuple[datetime.datetime | None, datetime.datetime, int]:
    """The last row of the previous page; a broken cursor raises ValueError."""
    if not value:
        raise ValueError("no cursor")
    try:
        due, created, pk = json.loads(base64.urlsafe_b64decode(value.encode()))
        cursor = (
            datetime.datetime.fromisoformat(due) if due else None,
            datetime.datetime.fromisoformat(created),
            int(pk),
        )
    except (binascii.Error, TypeError, ValueError, UnicodeDecodeError) as error:
        raise ValueError("bad cursor") from error
    if any(at is not None and at.tzinfo is None for at in cursor[:2]):
        raise ValueError("naive time in cursor")
    return cursor


def _after(cursor: tuple[datetime.datetime | None, datetime.datetime, int]) -> Q:
    """Rows after `cursor` in (next_due nulls last, -created_at, -id) order."""
    due, created, pk = cursor
    older = Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk)
    if due is None:
        return Q(next_due__isnull=True) & older
    return Q(next_due__gt=due) | Q(next_due__isnull=True) | (Q(next_due=due) & older)


def _queue(user: User, form: LeadFilterForm, now: datetime.datetime) -> QuerySet[Lead]:
    """The user's leads, most urgent first: the running SLA timer due soonest, then newest."""
    next_due = (
        SlaTimer.objects.running().filter(lead=OuterRef("pk")).order_by("due_at").values("due_at")
    )
    leads = (
        Lead.objects.visible_to(user)
        .annotate(next_due=Subquery(next_due[:1]))
        .select_related("owner", "ae")
        .order_by(F("next_due").asc(nulls_last=True), "-created_at", "-pk")
    )
    status = form.value("status") or LeadFilterForm.OPEN
    if status == LeadFilterForm.OPEN:
        leads = leads.filter(status__in=Lead.OPEN_STATUSES)
    elif status != LeadFilterForm.ALL:
        leads = leads.filter(status=status)
    if source := form.value("source"):
        leads = leads.filter(source=source)
    owner = form.value("owner")
    if owner == LeadFilterForm.UNASSIGNED:
        leads = leads.filter(owner__isnull=True)
    elif owner:
        leads = leads.filter(owner_id=int(owner))
    due = form.value("due")
    if due == LeadFilterForm.OVERDUE:
        leads = leads.filter(Exists(SlaTimer.objects.overdue(now).filter(lead=OuterRef("pk"))))
    elif due == LeadFilterForm.DUE_TODAY:
        today = timezone.localdate(now)
        start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
        end = timezone.make_aware(
            datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min)
        )
        due_today = SlaTimer.objects.running().filter(
            lead=OuterRef("pk"), due_at__gte=start, due_at__lt=end
        )
        leads = leads.filter(Exists(due_today))
    for term in form.value("q").split()[:5]:
        leads = leads.filter(
            Q(company_name__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
        )
    return leads


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """The queue. Keyset pagination: no COUNT over the table, a `next` link only."""
    user = request.user
    owners = services.owner_choices() if (user.is_manager or user.sees_everything) else None
    form = LeadFilterForm(request.GET, owners=owners)
    form.is_valid()
    now = timezone.now()
    leads = _queue(user, form, now)
    cursor = request.GET.get("after")
    try:
        leads = leads.filter(_after(_decode_cursor(cursor)))
    except ValueError:
        cursor = None
    page = list(leads[: QUEUE_PAGE_SIZE + 1])
    next_url = ""
    if len(page) > QUEUE_PAGE_SIZE:
        page = page[:QUEUE_PAGE_SIZE]
        params = request.GET.copy()
        params["after"] = _encode_cursor(page[-1])
        next_url = f"?{params.urlencode()}"
    # One query for the clocks of the whole page, whatever its length.
    prefetch_related_objects(
        page,
        Prefetch(
            "sla_timers",
            queryset=SlaTimer.objects.running().select_related("policy").order_by("due_at", "pk"),
            to_attr="running_timers",
        ),
    )
    first_params = request.GET.copy()
    first_params.pop("after", None)
    return render(
        request,
        "leads/list.html",
        {
            "leads": page,
            "form": form,
            "now": now,
            "next_url": next_url,
            "first_url": f"?{first_params.urlencode()}" if cursor else "",
            "is_filtered": any(form.value(name) for name in ("q", "source", "owner", "due"))
            or form.value("status") not in ("", LeadFilterForm.OPEN),
            "show_owner": owners is not None or not user.is_sdr,
        },
    )


# --- intake and editing ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = LeadForm(request.POST, intake=True)
        if form.is_valid():
            # An SDR's own lead is theirs; anyone else's goes through routing.
            owner = request.user if request.user.is_sdr else None
            try:
                lead = services.lead_create(by=request.user, data=form.service_data(), owner=owner)
            except DomainError as error:
                _add_problems(form, error)
            else:
                if request.user.has_perm("leads.view_lead", lead):
                    messages.success(request, _("Lead created."))
                    return redirect("leads:detail", pk=lead.pk)
                if lead.owner is not None:
                    messages.success(
                        request,
                        _("Lead created and routed to %(owner)s.") % {"owner": lead.owner},
                    )
                else:
                    messages.warning(
                        request,
                        _("Lead created. No routing rule matched, so it waits for assignment."),
                    )
                return redirect("leads:list")
        status = 400
    else:
        form = LeadForm(intake=True)
        status = 200
    return render(request, "leads/form.html", {"form": form, "lead": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    _require_work(request, lead)
    stale_changes = None
    if request.method == "POST":
        form = LeadForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                services.lead_update(
                    lead_id=lead.pk,
                    by=request.user,
                    data=form.service_data(),
                    expected_version=form.cleaned_data["version"],
                )
            except NotAllowed as error:
                raise PermissionDenied from error
            except StaleVersion:
                lead.refresh_from_db()
                form, stale_changes = _rebase(
                    request,
                    form,
                    lead=lead,
                    current=lead,
                    fields=services.EDITABLE_FIELDS,
                    build=LeadForm,
                )
                status = 409
            except DomainError as error:
                _add_problems(form, error)
            else:
                messages.success(request, _("Lead saved."))
                return redirect("leads:detail", pk=lead.pk)
    else:
        initial = {f: getattr(lead, f) for f in services.EDITABLE_FIELDS}
        form = LeadForm(initial=initial | {"version": lead.version, "loaded_at": timezone.now()})
        status = 200
    return render(
        request,
        "leads/form.html",
        {"form": form, "lead": lead, "stale_changes": stale_changes},
        status=status,
    )


# --- the lead page ---------------------------------------------------------------------------


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible_lead(request, pk))


@login_required
@require_POST
def lead_activity_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call, e-mail, meeting or note, or schedule a follow-up. With htmx the
    activities panel is swapped in place (and the side column and history refreshed out
    of band: the first call or e-mail stops an SLA clock)."""
    lead = _visible_lead(request, pk)
    form = _detail_form("activity", request.POST)
    logged = None
    if form.is_valid():
        try:
            logged = services.activity_log(
                lead_id=lead.pk, by=request.user, **form.service_kwargs()
            )
        except NotAllowed as error:
            raise PermissionDenied from error
        except DomainError as error:
            _add_problems(form, error)
    if logged is not None and not request.htmx:
        messages.success(request, _("Activity logged."))
        return redirect(f"{reverse('leads:detail', args=[lead.pk])}#activities")
    if logged is not None:
        lead.refresh_from_db()
        context = _detail_context(request, lead)
        context["logged"] = logged
        return render(request, "leads/_activity_swap.html", context)
    if request.htmx:
        # htmx 2 swaps only 2xx answers, so the form with its errors comes back as 200.
        context = _detail_context(request, lead, bound={"activity": form})
        return render(request, "leads/_activities.html", context)
    return _render_detail(request, lead, bound={"activity": form}, status=400)


@login_required
@require_POST
def lead_activity_complete(request: HttpRequest, pk: int, activity_pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    activity = get_object_or_404(Activity, pk=activity_pk, lead=lead)
    try:
        services.activity_complete(activity_id=activity.pk, by=request.user)
    except NotAllowed as error:
        raise PermissionDenied from error
    messages.success(request, _("Marked as done: %(subject)s") % {"subject": activity.subject})
    return redirect(f"{reverse('leads:detail', args=[lead.pk])}#activities")


@login_required
@require_POST
def lead_qualification(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not Qualification.objects.filter(lead=lead).exists():
        raise Http404
    form = _detail_form("qualification", request.POST)
    stale_changes = None
    status = 400
    if form.is_valid():
        try:
            services.qualification_update(
                lead_id=lead.pk,
                by=request.user,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            )
        except NotAllowed as error:
            raise PermissionDenied from error
        except InvalidTransition as error:
            messages.error(request, _transition_message(error))
            return redirect("leads:detail", pk=lead.pk)
        except StaleVersion:
            form, stale_changes = _rebase(
                request,
                form,
                lead=lead,
                current=Qualification.objects.get(lead=lead),
                fields=services.QUALIFICATION_FIELDS,
                build=lambda data: _detail_form("qualification", data),
                kind=LeadEvent.Kind.QUALIFICATION,
            )
            status = 409
        except DomainError as error:
            _add_problems(form, error)
        except DjangoValidationError as error:
            # Qualification.full_clean inside the service speaks Django, not Problems.
            form.add_error(None, error)
        else:
            messages.success(request, _("Qualification saved."))
            return redirect(f"{reverse('leads:detail', args=[lead.pk])}#qualification")
    return _render_detail(
        request, lead, bound={"qualification": form}, stale_changes=stale_changes, status=status
    )


@login_required
@require_POST
def lead_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_action(
        request,
        pk,
        "accept",
        lambda lead, data: services.lead_accept(
            lead_id=lead.pk,
            by=request.user,
            reason=data["reason"],
            expected_version=data["version"],
        ),
        lambda lead: (
            _("Accepted: %(company)s is now a sales-accepted lead.")
            % {"company": lead.company_name}
        ),
    )


@login_required
@require_POST
def lead_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_action(
        request,
        pk,
        "reject",
        lambda lead, data: services.lead_reject(
            lead_id=lead.pk,
            by=request.user,
            reason_code=data["reason"],
            note=data["note"],
            expected_version=data["version"],
        ),
        lambda lead: _("Rejected. Marketing hears why."),
    )


@login_required
@require_POST
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    """SAL -> SQL. When the gate says no, the lead page shows every unmet criterion."""
    lead = _visible_lead(request, pk)
    form = _detail_form("qualify", request.POST)
    if not form.is_valid():
        return _render_detail(request, lead, bound={"qualify": form}, status=400)
    try:
        services.lead_qualify(
            lead_id=lead.pk,
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except NotAllowed as error:
        raise PermissionDenied from error
    except InvalidTransition as error:
        messages.error(request, _transition_message(error))
    except StaleVersion:
        messages.warning(request, STALE_MESSAGE)
    except DomainError as error:
        return _render_detail(request, lead, problems=error.problems, status=400)
    else:
        messages.success(request, _("Moved to SQL. Next: hand it off to an account executive."))
    return redirect("leads:detail", pk=lead.pk)


@login_required
@require_http_methods(["GET", "POST"])
def lead_handoff(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    _require_work(request, lead)
    aes = services.ae_choices()
    status = 200
    if request.method == "POST":
        form = HandoffForm(request.POST, aes=aes)
        status = 400
        if form.is_valid():
            kwargs = form.service_kwargs()
            try:
                handoff = services.lead_hand_off(lead_id=lead.pk, by=request.user, **kwargs)
            except NotAllowed as error:
                raise PermissionDenied from error
            except InvalidTransition as error:
                messages.error(request, _transition_message(error))
                return redirect("leads:detail", pk=lead.pk)
            except StaleVersion:
                messages.warning(request, STALE_MESSAGE)
                lead.refresh_from_db()
                data = request.POST.copy()
                data["version"] = str(lead.version)
                form = HandoffForm(data, aes=aes)
                form.is_valid()
                status = 409
            except DomainError as error:
                _add_problems(form, error)
            else:
                when = timezone.localtime(handoff.discovery_meeting_at)
                messages.success(
                    request,
                    _("Handed off to %(ae)s. Discovery meeting on %(when)s.")
                    % {"ae": handoff.to_user, "when": when.strftime("%d %b %Y, %H:%M")},
                )
                return redirect("leads:detail", pk=lead.pk)
    elif lead.status != Status.SQL:
        messages.info(request, _("Only a sales-qualified lead (SQL) can be handed off."))
        return redirect("leads:detail", pk=lead.pk)
    else:
        form = HandoffForm(aes=aes, initial={"version": lead.version, "loaded_at": timezone.now()})
    qualification = Qualification.objects.filter(lead=lead).first()
    return render(
        request,
        "leads/handoff.html",
        {
            "lead": lead,
            "form": form,
            "qualification": qualification,
            "activities": lead.activities.select_related("owner").order_by("-created_at")[:10],
        },
        status=status,
    )


@login_required
@require_POST
def lead_discovery(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_action(
        request,
        pk,
        "discovery",
        lambda lead, data: services.lead_record_discovery(
            lead_id=lead.pk,
            by=request.user,
            held_at=data["held_at"],
            rating=data["rating"],
            repeated_discovery=data["repeated_discovery"],
        ),
        lambda lead: _("Discovery call recorded. The convert-after-discovery clock runs."),
    )


def _reason_action(
    request: HttpRequest,
    pk: int,
    name: str,
    service: Callable[..., Lead],
    success: Callable[[Lead], str],
) -> HttpResponse:
    """The off-ramps and reopen: one service taking a written reason and the version seen."""
    return _lead_action(
        request,
        pk,
        name,
        lambda lead, data: service(
            lead_id=lead.pk,
            by=request.user,
            reason=data["reason"],
            expected_version=data["version"],
        ),
        success,
    )


@login_required
@require_POST
def lead_nurture(request: HttpRequest, pk: int) -> HttpResponse:
    return _reason_action(
        request,
        pk,
        "nurture",
        services.lead_nurture,
        lambda lead: _("Back to marketing for nurturing."),
    )


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    return _reason_action(
        request, pk, "disqualify", services.lead_disqualify, lambda lead: _("Disqualified.")
    )


@login_required
@require_POST
def lead_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _reason_action(
        request,
        pk,
        "reopen",
        services.lead_reopen,
        lambda lead: (
            _("Reopened as MQL and assigned to %(owner)s.")
            % {"owner": lead.owner or _("nobody yet")}
        ),
    )


@login_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_action(
        request,
        pk,
        "assign",
        lambda lead, data: services.lead_assign(
            lead_id=lead.pk,
            by=request.user,
            owner=data["owner"],
            reason=data["reason"],
        ),
        lambda lead: _("Assigned to %(owner)s.") % {"owner": lead.owner},
    )
