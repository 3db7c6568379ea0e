"""HTML views for the AE's half: the conversion wizard, deals, the pipeline board, approvals.

Each view parses input with a form from `opportunities.forms`, calls one service from
`opportunities.services` and renders or redirects. Domain errors come back as follows:
`NotReady`/`ValidationFailed` -> every Problem on its input (the rest above the form);
`StaleVersion` -> a clear message, nothing saved; `NotAllowed` -> 403. An opportunity or
lead the user may not view is a 404, whatever the method. Requests from the board's
script (`Accept: application/json`) get JSON instead of a page.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from babel.numbers import UnknownCurrencyError
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.exceptions import DomainError, NotAllowed, Problem, StaleVersion
from crm.models import Contact, Team, User
from crm.services import account_match, company_domain
from leads.gate import CRITERIA_LABELS, HANDOFF_FIELDS, conversion_checklist, is_blank
from leads.models import Handoff, Lead, Qualification
from opportunities import services
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.forms import (
    CORE_REQUIRED,
    BoardFilterForm,
    ContactRoleFormSet,
    ConversionForm,
    DecisionForm,
    OpportunityEditForm,
    OpportunityFilterForm,
    StageMoveForm,
    currency_choices,
)
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    Opportunity,
    OpportunityContactRole,
    Stage,
)
from opportunities.templatetags.money import format_money, format_totals, is_stale

PAGE_SIZE = 25
BOARD_CARDS_PER_COLUMN = 50
CRITERIA_CODES = {f"{c}_unconfirmed": c for c in Qualification.CRITERIA}


# --- helpers ---------------------------------------------------------------------------------


def _visible_lead(request: HttpRequest, pk: int) -> Lead:
    lead = get_object_or_404(Lead.objects.select_related("owner", "ae", "team"), pk=pk)
    if not request.user.has_perm("leads.view_lead", lead):
        raise Http404
    return lead


def _visible_opportunity(request: HttpRequest, pk: int) -> Opportunity:
    """The deal, or 404 when it does not exist or the user may not see it."""
    return get_object_or_404(
        Opportunity.objects.visible_to(request.user).select_related(
            "account",
            "owner",
            "owner__team",
            "stage",
            "primary_contact",
            "next_step_owner",
            "lead",
            "created_by",
        ),
        pk=pk,
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _problem_json(problems: Iterable[Problem], status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"errors": [p.as_dict() for p in problems], **extra}, status=status)


def _form_problems(form: Form) -> list[Problem]:
    return [
        Problem("invalid", None if field == "__all__" else field, str(message))
        for field, errors in form.errors.items()
        for message in errors
    ]


def _put_on_form(form: Form, problems: Iterable[Problem]) -> list[Problem]:
    """Each Problem on its field when the form has one; returns the others."""
    rest = []
    for problem in problems:
        if problem.field and problem.field in form.fields:
            form.add_error(problem.field, str(problem.message))
        else:
            rest.append(problem)
    return rest


def _people(user: User) -> QuerySet[User]:
    """Whom `user` may filter deals by: RevOps everyone selling, a manager their people."""
    sellers = User.objects.filter(is_active=True, role__in=[User.Role.AE, User.Role.MANAGER])
    if user.sees_everything:
        return sellers.order_by("first_name", "last_name", "username")
    if user.is_manager:
        return sellers.filter(Q(manager=user) | Q(team__manager=user) | Q(pk=user.pk)).order_by(
            "first_name", "last_name", "username"
        )
    return User.objects.filter(pk=user.pk)


def _teams(user: User) -> QuerySet[Team]:
    if user.sees_everything:
        return Team.objects.order_by("name")
    if user.is_manager:
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()


def _currencies(user: User) -> list[str]:
    policy = ConversionPolicy.current()
    return [c for c, _label in currency_choices(user.default_currency, *policy.approval_thresholds)]


# --- the conversion wizard -------------------------------------------------------------------


def _wizard_facts(request: HttpRequest, lead: Lead) -> dict[str, Any]:
    """Everything the wizard shows besides the form: the gate, the hand-off, the account
    and contact the service will match, the deals already open at the company."""
    user = request.user
    qualification = Qualification.objects.filter(lead=lead).first()
    handoff = lead.handoffs.select_related("from_user", "to_user").order_by("-created_at").first()
    domain = company_domain(domain=lead.company_domain, email=lead.email)
    account = account_match(name=lead.company_name, domain=domain)
    email = (lead.email or "").strip().lower()
    lead_contact = (
        Contact.objects.filter(normalized_email=email).select_related("account").first()
        if email
        else None
    )
    account_contacts = []
    if account is not None:
        contacts = account.contacts.order_by("last_name", "first_name")
        if lead_contact is not None:
            contacts = contacts.exclude(pk=lead_contact.pk)
        account_contacts = list(contacts[:200])
    ae = user if user.is_ae else (lead.ae or user)
    owners = list(
        User.objects.filter(
            Q(is_active=True, role__in=[User.Role.AE, User.Role.MANAGER, User.Role.SDR])
            | Q(pk=ae.pk)
        ).order_by("first_name", "last_name", "username")
    )
    policy = ConversionPolicy.current()
    return {
        "lead": lead,
        "qualification": qualification,
        "handoff": handoff,
        "policy": policy,
        "stages": services.entry_stages(),
        "account": account,
        "lead_contact": lead_contact,
        "account_contacts": account_contacts,
        "ae": ae,
        "owners": owners,
        "currencies": currency_choices(user.default_currency, *policy.approval_thresholds),
        "pending_request": lead.conversion_requests.filter(state=ConversionRequest.State.PENDING)
        .select_related("requested_by")
        .first(),
    }


def _wizard_initial(request: HttpRequest, facts: dict[str, Any]) -> dict[str, Any]:
    lead, q, stages = facts["lead"], facts["qualification"], facts["stages"]
    initial: dict[str, Any] = {
        # The AE completes the product and use case: "<Company> - ".
        "name": f"{lead.company_name} - ",
        "currency": request.user.default_currency,
        "next_step_owner": str(facts["ae"].pk),
        "industry_vertical": lead.industry,
    }
    if stages:
        initial["stage"] = str(stages[0].pk)
        initial["probability"] = stages[0].default_probability
    if q is not None:
        initial["decision_criteria"] = q.decision_criteria
        initial["competitive_landscape"] = q.decision_other_vendors
        if q.timeline_target_date:
            initial["expected_close_date"] = q.timeline_target_date.isoformat()
    return initial


def _wizard_forms(
    request: HttpRequest, facts: dict[str, Any], data: Any = None
) -> tuple[ConversionForm, Any]:
    form = ConversionForm(
        data,
        initial=None if data is not None else _wizard_initial(request, facts),
        stages=facts["stages"],
        owners=facts["owners"],
        currencies=facts["currencies"],
        required_custom=[f for f in facts["policy"].required_fields if f in CUSTOM_FIELDS],
        auto_id="id_%s",
    )
    roles = ContactRoleFormSet(
        data,
        prefix="roles",
        initial=None if data is not None else [{"kind": "lead"}],
        form_kwargs={"contacts": facts["account_contacts"]},
    )
    return form, roles


def _place_conversion_problems(
    form: ConversionForm, roles: Any, origin: list[int], problems: list[Problem]
) -> dict[str, list[Problem]]:
    """Map each Problem to its input: `contact_roles.N.*` to the form row it came from,
    wizard fields to their field, the lead's own gaps to the checklist, the rest on top."""
    placed: dict[str, list[Problem]] = {"roles": [], "gate": [], "general": []}
    gate_fields = {"status", "handoff", "discovery_held_at", "email"} | {
        f"{c}_status" for c in Qualification.CRITERIA
    }
    for problem in problems:
        field = problem.field or ""
        message = str(problem.message)
        if field.startswith("contact_roles."):
            parts = field.split(".")
            index = int(parts[1]) if parts[1].isdigit() else -1
            if 0 <= index < len(origin):
                row = roles.forms[origin[index]]
                name = parts[2] if len(parts) > 2 and parts[2] in row.fields else None
                row.add_error(name, message)
                continue
            placed["roles"].append(problem)
        elif field == "contact_roles":
            placed["roles"].append(problem)
        elif field in gate_fields:
            placed["gate"].append(problem)
        elif field in form.fields and field != "action":
            if message not in form.errors.get(field, []):
                form.add_error(field, message)
        else:
            placed["general"].append(problem)
    return placed


def _required_data(
    form: ConversionForm, facts: dict[str, Any], problems: list[Problem] | None
) -> list[dict[str, Any]]:
    """The opportunity's required data, each met or not once the wizard was submitted."""
    names = [*CORE_REQUIRED]
    names += [f for f in facts["policy"].required_fields if f in CUSTOM_FIELDS]
    by_field: dict[str, str] = {}
    for problem in problems or []:
        key = (problem.field or "").split(".")[0]
        by_field.setdefault(key, str(problem.message))
    rows = []
    for name in [*names, "contact_roles"]:
        label = (
            capfirst(form.fields[name].label)
            if name in form.fields
            else _("At least one contact with a role")
        )
        if problems is None:
            state, message = "todo", ""
        elif name in by_field:
            state, message = "unmet", by_field[name]
        else:
            state, message = "met", ""
        rows.append({"field": name, "label": label, "state": state, "message": message})
    return rows


def _render_wizard(
    request: HttpRequest,
    facts: dict[str, Any],
    form: ConversionForm,
    roles: Any,
    *,
    problems: list[Problem] | None = None,
    placed: dict[str, list[Problem]] | None = None,
    status: int = 200,
) -> HttpResponse:
    lead, policy = facts["lead"], facts["policy"]
    checks = conversion_checklist(lead, facts["qualification"])
    unmet = [c for c in checks if not c.met]
    only_criteria = bool(unmet) and all(c.code in CRITERIA_CODES for c in unmet)
    today = timezone.localdate()
    product_line = form.data.get("product_line", "") if form.is_bound else ""
    deals = services.existing_deals(lead, product_line)
    attach_to = (form.data.get("attach_to") or "") if form.is_bound else ""
    required = _required_data(form, facts, problems)
    labels = {c.field: c.label for c in checks}
    context = {
        "problem_rows": [_problem_row(p, form, labels) for p in problems or []],
        **facts,
        "form": form,
        "roles": roles,
        "checks": checks,
        "unmet_checks": unmet,
        "lead_ready": not unmet,
        "data_ready": problems is not None and all(r["state"] == "met" for r in required),
        "required_data": required,
        "can_override": only_criteria and facts["pending_request"] is None,
        "problems": problems or [],
        "placed": placed or {"roles": [], "gate": [], "general": []},
        "deals": deals,
        "attach_to": attach_to,
        "visible_deal_ids": set(
            Opportunity.objects.visible_to(request.user)
            .filter(pk__in=[d.pk for d in deals])
            .values_list("pk", flat=True)
        )
        if deals
        else set(),
        "window_min": today + datetime.timedelta(days=policy.close_window_min_days),
        "window_max": today + datetime.timedelta(days=policy.close_window_max_days),
        "today": today,
        "criteria": _criteria_rows(facts["qualification"]),
        "handoff_rows": _handoff_rows(facts["handoff"]),
        "wants_override": form.is_bound
        and form.data.get("action") == ConversionForm.ACTION_OVERRIDE,
    }
    return render(request, "opportunities/convert.html", context, status=status)


def _problem_row(problem: Problem, form: ConversionForm, gate_labels: dict[str, str]) -> dict:
    """One line of the summary above the wizard, linking to the input it concerns."""
    field = problem.field or ""
    if field.startswith("contact_roles"):
        parts = field.split(".")
        label = (
            _("Contact role %(n)s") % {"n": int(parts[1]) + 1}
            if len(parts) > 1 and parts[1].isdigit()
            else _("Contact roles")
        )
        anchor = "roles"
    elif field in gate_labels:
        label, anchor = gate_labels[field], "readiness"
    elif field in form.fields:
        label, anchor = capfirst(form.fields[field].label), f"id_{field}"
    else:
        label, anchor = "", ""
    return {"label": label, "message": str(problem.message), "anchor": anchor}


def _criteria_rows(q: Qualification | None) -> list[dict[str, Any]]:
    q = q or Qualification()
    return [
        {
            "key": c,
            "label": CRITERIA_LABELS[c],
            "status": getattr(q, f"get_{c}_status_display")(),
            "confirmed": q.is_confirmed(c),
            "evidence": getattr(q, f"{c}_evidence"),
        }
        for c in Qualification.CRITERIA
    ]


def _handoff_rows(handoff: Any) -> list[tuple[str, str]]:
    if handoff is None:
        return []
    return [
        (capfirst(Handoff._meta.get_field(name).verbose_name), getattr(handoff, name))
        for name in HANDOFF_FIELDS
    ]


@login_required
@require_http_methods(["GET", "POST"])
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if lead.status == Lead.Status.CONVERTED:
        return _already_converted(request, lead)
    if not request.user.has_perm("opportunities.convert_lead", lead):
        raise PermissionDenied
    facts = _wizard_facts(request, lead)
    if request.method == "GET":
        form, roles = _wizard_forms(request, facts)
        return _render_wizard(request, facts, form, roles)

    form, roles = _wizard_forms(request, facts, request.POST)
    form_ok = form.is_valid()
    roles_ok = roles.is_valid()
    raw = form.raw()
    raw["contact_roles"], origin = roles.raw()
    if not (form_ok and roles_ok):
        # Still ask the gate, so the page lists every problem at once.
        _data, problems = services.conversion_check(lead, raw)
        problems = [p for p in problems if not (p.field and form.errors.get(p.field))]
        problems = _form_problems(form) + problems
        placed = _place_conversion_problems(form, roles, origin, problems)
        return _render_wizard(
            request, facts, form, roles, problems=problems, placed=placed, status=400
        )
    try:
        if form.wants_override:
            services.conversion_request_create(
                lead_id=lead.pk,
                by=request.user,
                raw=raw,
                rationale=form.cleaned_data["override_rationale"],
            )
        else:
            opportunity = services.lead_convert(lead_id=lead.pk, by=request.user, raw=raw)
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.AlreadyConverted as error:
        messages.info(request, str(error.problems[0].message))
        return redirect("opportunities:convert", lead.pk)
    except DomainError as error:
        placed = _place_conversion_problems(form, roles, origin, error.problems)
        return _render_wizard(
            request,
            facts,
            form,
            roles,
            problems=error.problems,
            placed=placed,
            status=error.http_status,
        )
    if form.wants_override:
        messages.success(
            request,
            _(
                "Override requested. The lead waits for a manager's approval; it converts "
                "with the data you entered once approved."
            ),
        )
        return redirect("leads:detail", lead.pk)
    if opportunity.lead_id != lead.pk:
        messages.success(
            request,
            _("%(company)s joined the existing deal %(name)s.")
            % {"company": lead.company_name, "name": opportunity.name},
        )
    else:
        messages.success(
            request,
            _("Converted. %(name)s is in the pipeline; the next step is on %(owner)s's list.")
            % {"name": opportunity.name, "owner": opportunity.next_step_owner},
        )
    if Opportunity.objects.visible_to(request.user).filter(pk=opportunity.pk).exists():
        return redirect("opportunities:detail", opportunity.pk)
    return redirect("leads:detail", lead.pk)


def _already_converted(request: HttpRequest, lead: Lead) -> HttpResponse:
    snapshot = getattr(lead, "conversion_snapshot", None)
    if snapshot is not None:
        target = snapshot.opportunity_id
        if Opportunity.objects.visible_to(request.user).filter(pk=target).exists():
            messages.info(request, _("This lead is already converted."))
            return redirect("opportunities:detail", target)
    messages.info(request, _("This lead is already converted."))
    return redirect("leads:detail", lead.pk)


# --- list ------------------------------------------------------------------------------------


def _encode_cursor(opportunity: Opportunity) -> str:
    value = f"{opportunity.created_at.isoformat()}|{opportunity.pk}"
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime.datetime, int] | None:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        created, pk = text.split("|")
        at = datetime.datetime.fromisoformat(created)
        return (at, int(pk)) if timezone.is_aware(at) else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _filtered(user: User, form: OpportunityFilterForm) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.visible_to(user)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    state = data.get("state") or OpportunityFilterForm.STATE_OPEN
    closed = Q(stage__is_won=True) | Q(stage__is_lost=True)
    if state == OpportunityFilterForm.STATE_OPEN:
        qs = qs.exclude(closed)
    elif state == OpportunityFilterForm.STATE_CLOSED:
        qs = qs.filter(closed)
    elif state == OpportunityFilterForm.STATE_WON:
        qs = qs.filter(stage__is_won=True)
    elif state == OpportunityFilterForm.STATE_LOST:
        qs = qs.filter(stage__is_lost=True)
    elif state == OpportunityFilterForm.STATE_STALE:
        qs = qs.stale(timezone.now())
    if data.get("q"):
        qs = qs.filter(Q(name__icontains=data["q"]) | Q(account__name__icontains=data["q"]))
    if data.get("stage"):
        qs = qs.filter(stage=data["stage"])
    if data.get("owner"):
        qs = qs.filter(owner=data["owner"])
    if data.get("source"):
        qs = qs.filter(source=data["source"])
    if data.get("currency"):
        qs = qs.filter(currency=data["currency"])
    if data.get("approval") == "override":
        qs = qs.filter(is_override=True)
    elif data.get("approval"):
        qs = qs.filter(approval=data["approval"])
    return qs


@login_required
@require_http_methods(["GET"])
def opportunity_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = OpportunityFilterForm(
        request.GET or None,
        initial={"state": OpportunityFilterForm.STATE_OPEN},
        owners=_people(user),
        currencies=_currencies(user),
    )
    qs = _filtered(user, form).select_related("account", "owner", "stage")
    cursor = _decode_cursor(request.GET.get("cursor", "")) if request.GET.get("cursor") else None
    if cursor is not None:
        at, pk = cursor
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    # Keyset pagination: one row more than a page says whether a next page exists.
    rows = list(qs.order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if form.is_bound:
        form.is_valid()
    next_url = f"?{form.querystring(cursor=_encode_cursor(rows[-1]))}" if has_next and rows else ""
    first_url = f"?{form.querystring()}" if cursor is not None else ""
    return render(
        request,
        "opportunities/list.html",
        {
            "form": form,
            "opportunities": rows,
            "next_url": next_url,
            "first_url": first_url,
            "show_owner_filter": user.is_manager or user.sees_everything,
            "filtered": bool(request.GET.get("q") or request.GET.get("stage")),
        },
    )


# --- one opportunity -------------------------------------------------------------------------


def _snapshot_rows(opportunity: Opportunity) -> list[dict[str, Any]]:
    snapshots = opportunity.conversion_snapshots.select_related("lead", "converted_by").order_by(
        "created_at"
    )
    rows = []
    for snapshot in snapshots:
        criteria = snapshot.criteria or {}
        rows.append(
            {
                "snapshot": snapshot,
                "framework": str(criteria.get("framework", "")).upper(),
                "criteria": [
                    {
                        "label": CRITERIA_LABELS[c],
                        "status": (criteria.get(c) or {}).get("status", "unknown"),
                        "evidence": (criteria.get(c) or {}).get("evidence", ""),
                        "waived": f"{c}_unconfirmed" in (snapshot.unmet_overridden or []),
                    }
                    for c in Qualification.CRITERIA
                ],
                "handoff": [
                    (_handoff_label(name), snapshot.handoff.get(name))
                    for name in HANDOFF_FIELDS
                    if snapshot.handoff.get(name)
                ],
                "handoff_people": (
                    snapshot.handoff.get("from_user"),
                    snapshot.handoff.get("to_user"),
                ),
            }
        )
    return rows


def _handoff_label(name: str) -> str:
    return capfirst(Handoff._meta.get_field(name).verbose_name)


def _detail_context(
    request: HttpRequest,
    opportunity: Opportunity,
    *,
    move_form: StageMoveForm | None = None,
    move_problems: list[Problem] | None = None,
) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    stages = list(Stage.objects.filter(is_active=True))
    changes = list(
        opportunity.stage_changes.select_related("from_stage", "to_stage", "actor").order_by(
            "-changed_at", "-id"
        )
    )
    exit_rows = [
        {
            "label": capfirst(Opportunity._meta.get_field(name).verbose_name),
            "met": not is_blank(getattr(opportunity, name, "")),
        }
        for name in opportunity.stage.exit_required_fields
        if hasattr(opportunity, name)
    ]
    return {
        "opportunity": opportunity,
        "now": now,
        "can_work": user.has_perm("opportunities.work_opportunity", opportunity),
        "can_approve": opportunity.approval == Opportunity.Approval.PENDING
        and (user.is_manager or user.is_revops),
        "stale": is_stale(opportunity),
        "roles": list(
            opportunity.contact_roles.select_related("contact").order_by(
                "role", "contact__last_name"
            )
        ),
        "changes": changes,
        "activities": list(
            opportunity.activities.select_related("owner").order_by(
                F("due_at").asc(nulls_last=True), "-created_at"
            )
        ),
        "snapshots": _snapshot_rows(opportunity),
        "override_request": ConversionRequest.objects.filter(opportunity=opportunity)
        .select_related("requested_by", "decided_by")
        .first(),
        "custom_fields": [
            (capfirst(Opportunity._meta.get_field(name).verbose_name), getattr(opportunity, name))
            for name in CUSTOM_FIELDS
        ],
        "move_form": move_form
        or StageMoveForm(current=opportunity.stage, initial={"version": opportunity.version}),
        "move_problems": move_problems or [],
        "lost_stage_ids": [s.pk for s in stages if s.is_lost],
        "exit_rows": exit_rows,
        "weighted": opportunity.amount * opportunity.probability / 100,
    }


def _render_detail(
    request: HttpRequest, opportunity: Opportunity, *, status: int = 200, **kwargs: Any
) -> HttpResponse:
    return render(
        request,
        "opportunities/detail.html",
        _detail_context(request, opportunity, **kwargs),
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible_opportunity(request, pk))


def _edit_form(request: HttpRequest, opportunity: Opportunity, data: Any = None):
    initial = {name: getattr(opportunity, name) for name in services.EDITABLE_FIELDS}
    initial["next_step_owner"] = opportunity.next_step_owner_id
    initial["version"] = opportunity.version
    owners = User.objects.filter(Q(is_active=True) | Q(pk=opportunity.next_step_owner_id)).order_by(
        "first_name", "last_name", "username"
    )
    return OpportunityEditForm(
        data,
        initial=initial,
        owners=owners,
        currencies=currency_choices(opportunity.currency, *_currencies(request.user)),
    )


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = _visible_opportunity(request, pk)
    if not request.user.has_perm("opportunities.work_opportunity", opportunity):
        raise PermissionDenied
    if request.method == "GET":
        form = _edit_form(request, opportunity)
        return render(
            request, "opportunities/edit.html", {"opportunity": opportunity, "form": form}
        )

    form = _edit_form(request, opportunity, request.POST)
    conflicts: list[dict[str, Any]] = []
    status = 400
    if form.is_valid():
        changes = form.changes()
        if not changes and form.cleaned_data["version"] == opportunity.version:
            messages.info(request, _("Nothing changed."))
            return redirect("opportunities:detail", opportunity.pk)
        try:
            services.opportunity_update(
                opportunity_id=opportunity.pk,
                by=request.user,
                data=changes,
                expected_version=form.cleaned_data["version"],
            )
        except NotAllowed as error:
            raise PermissionDenied(str(error)) from error
        except StaleVersion:
            status = 409
            opportunity.refresh_from_db()
            # Keep what the user typed; show what is stored now next to each such field.
            conflicts = [
                {
                    "label": form.fields[name].label,
                    "now": _display(opportunity, name),
                    "yours": form.cleaned_data[name],
                }
                for name in changes
            ]
            data = request.POST.copy()
            data["version"] = str(opportunity.version)
            form = _edit_form(request, opportunity, data)
            form.is_valid()
            messages.error(
                request,
                _(
                    "Someone else changed this deal while you were editing, so nothing was "
                    "saved. Check the values stored now and save again."
                ),
            )
        except DomainError as error:
            status = error.http_status
            for problem in _put_on_form(form, error.problems):
                form.add_error(None, str(problem.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("opportunities:detail", opportunity.pk)
    return render(
        request,
        "opportunities/edit.html",
        {"opportunity": opportunity, "form": form, "conflicts": conflicts},
        status=status,
    )


def _display(opportunity: Opportunity, name: str) -> Any:
    value = getattr(opportunity, name)
    if name == "amount":
        return format_money(value, opportunity.currency)
    return value if value not in (None, "") else "—"


@login_required
@require_POST
def opportunity_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal: from the detail page's form, or the board's drag and drop (JSON)."""
    as_json = _wants_json(request)
    opportunity = _visible_opportunity(request, pk)
    form = StageMoveForm(request.POST, current=opportunity.stage)
    if not form.is_valid():
        if as_json:
            return _problem_json(_form_problems(form), 400)
        return _render_detail(request, opportunity, move_form=form, status=400)
    target = form.cleaned_data["stage"]
    try:
        moved = services.opportunity_move_stage(
            opportunity_id=opportunity.pk,
            by=request.user,
            to=target,
            reason=form.cleaned_data["reason"],
            lost_reason=form.cleaned_data["lost_reason"],
            lost_to_competitor=form.cleaned_data["lost_to_competitor"],
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        # Someone moved the deal meanwhile: a conflict with what the user saw.
        status = 409 if isinstance(error, StaleVersion) else error.http_status
        if as_json:
            return _problem_json(error.problems, status)
        if isinstance(error, NotAllowed):
            raise PermissionDenied(str(error)) from error
        if isinstance(error, StaleVersion):
            messages.error(
                request,
                _("Someone else moved or edited this deal meanwhile; nothing was changed."),
            )
            return redirect("opportunities:detail", opportunity.pk)
        rest = _put_on_form(form, error.problems)
        return _render_detail(
            request, opportunity, move_form=form, move_problems=rest, status=status
        )
    if as_json:
        board = BoardFilterForm(
            request.POST, owners=_people(request.user), teams=_teams(request.user)
        )
        totals = _column_totals(_board_queryset(request.user, board))
        return JsonResponse(
            {
                "ok": True,
                "opportunity": {
                    "id": moved.pk,
                    "stage": moved.stage_id,
                    "stage_name": moved.stage.name,
                    "version": moved.version,
                    "probability": moved.probability,
                },
                "columns": {
                    str(stage_id): {"count": column["count"], "totals": column["label"]}
                    for stage_id, column in totals.items()
                },
            }
        )
    messages.success(request, _("Moved to %(stage)s.") % {"stage": target.name})
    return redirect("opportunities:detail", opportunity.pk)


@login_required
@require_POST
def opportunity_approval(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = _visible_opportunity(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or to send back."))
        return redirect("opportunities:detail", opportunity.pk)
    try:
        services.opportunity_approve(
            opportunity_id=opportunity.pk, by=request.user, approve=form.approves
        )
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except DomainError as error:
        messages.error(request, " ".join(str(p.message) for p in error.problems))
    else:
        messages.success(
            request,
            _("Approved: the deal counts in the forecast.")
            if form.approves
            else _("Sent back to the owner."),
        )
    return redirect("opportunities:detail", opportunity.pk)


# --- override requests -----------------------------------------------------------------------


def _decidable_requests(user: User) -> QuerySet[ConversionRequest]:
    """Requests a manager decides: their people's, or for their team's leads."""
    qs = ConversionRequest.objects.all()
    if user.sees_everything:
        return qs
    return qs.filter(
        Q(requested_by__manager=user)
        | Q(requested_by__team__manager=user)
        | Q(lead__team__manager=user)
        | Q(lead__owner__manager=user)
    )


def _request_rows(requests: list[ConversionRequest]) -> list[dict[str, Any]]:
    stages = {s.pk: s for s in Stage.objects.all()}
    role_labels = dict(OpportunityContactRole.Role.choices)
    rows = []
    for item in requests:
        data = item.data or {}
        stage = stages.get(_as_int(data.get("stage")))
        unmet = [
            CRITERIA_LABELS.get(CRITERIA_CODES.get(p.get("code", ""), ""), p.get("message", ""))
            for p in item.unmet or []
        ]
        rows.append(
            {
                "request": item,
                "unmet": unmet,
                "name": data.get("name", ""),
                "amount": _requested_amount(data),
                "stage": stage.name if stage else "",
                "close": _as_date(data.get("expected_close_date")),
                "next_step": data.get("next_step", ""),
                "next_step_due": _as_date(data.get("next_step_due")),
                "roles": [
                    role_labels.get(r.get("role", ""), r.get("role", ""))
                    for r in data.get("contact_roles") or []
                    if isinstance(r, dict)
                ],
                "attach": bool(data.get("attach_to")),
            }
        )
    return rows


def _requested_amount(data: dict[str, Any]) -> str:
    """The amount as typed, formatted when it parses (the request stores raw input)."""
    amount, currency = str(data.get("amount") or ""), str(data.get("currency") or "").upper()
    try:
        return format_money(Decimal(amount.replace(",", "")), currency, cents=False)
    except (InvalidOperation, ValueError, KeyError, AttributeError, UnknownCurrencyError):
        return f"{amount} {currency}".strip()


def _as_date(value: Any) -> datetime.date | str:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _require_approver(user: User) -> None:
    if not (user.is_manager or user.is_revops):
        raise PermissionDenied


@login_required
@require_http_methods(["GET"])
def override_list(request: HttpRequest) -> HttpResponse:
    _require_approver(request.user)
    base = _decidable_requests(request.user).select_related(
        "lead", "lead__owner", "requested_by", "decided_by", "opportunity"
    )
    pending = list(base.filter(state=ConversionRequest.State.PENDING).order_by("requested_at"))
    decided = list(
        base.exclude(state=ConversionRequest.State.PENDING).order_by("-decided_at", "-id")[:20]
    )
    return render(
        request,
        "opportunities/overrides.html",
        {"pending": _request_rows(pending), "decided": _request_rows(decided)},
    )


@login_required
@require_POST
def override_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require_approver(request.user)
    item = get_object_or_404(_decidable_requests(request.user).select_related("lead"), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or to decline."))
        return redirect("opportunities:overrides")
    try:
        decided = services.conversion_request_decide(
            request_id=item.pk,
            by=request.user,
            approve=form.approves,
            note=form.cleaned_data["note"],
        )
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except DomainError as error:
        messages.error(
            request,
            _("Nothing was decided for %(company)s: %(problems)s")
            % {
                "company": item.lead.company_name,
                "problems": " ".join(str(p.message) for p in error.problems),
            },
        )
        return redirect("opportunities:overrides")
    if form.approves:
        messages.success(
            request,
            _("Approved: %(company)s converted with the override flagged.")
            % {"company": item.lead.company_name},
        )
        if decided.opportunity_id:
            return redirect("opportunities:detail", decided.opportunity_id)
    else:
        messages.success(
            request, _("Declined: %(company)s stays a lead.") % {"company": item.lead.company_name}
        )
    return redirect("opportunities:overrides")


# --- the pipeline board ----------------------------------------------------------------------


def _board_queryset(user: User, form: BoardFilterForm) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.visible_to(user).filter(stage__is_active=True)
    if (user.is_manager or user.sees_everything) and form.is_bound and form.is_valid():
        if form.cleaned_data.get("owner"):
            qs = qs.filter(owner=form.cleaned_data["owner"])
        if form.cleaned_data.get("team"):
            qs = qs.filter(owner__team=form.cleaned_data["team"])
    return qs


def _column_totals(qs: QuerySet[Opportunity]) -> dict[int, dict[str, Any]]:
    """Count and amount per stage, per currency: one aggregate query."""
    columns: dict[int, dict[str, Any]] = {}
    rows = (
        qs.order_by()
        .values("stage", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("stage", "currency")
    )
    for row in rows:
        column = columns.setdefault(row["stage"], {"count": 0, "totals": []})
        column["count"] += row["count"]
        column["totals"].append((row["currency"], row["total"]))
    for column in columns.values():
        column["label"] = format_totals(column["totals"])
    return columns


@login_required
@require_http_methods(["GET"])
def pipeline_board(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_filter = user.is_manager or user.sees_everything
    form = BoardFilterForm(request.GET or None, owners=_people(user), teams=_teams(user))
    qs = _board_queryset(user, form)
    stages = list(Stage.objects.filter(is_active=True).order_by("position"))
    totals = _column_totals(qs)
    # The newest cards of every column in one query: rank within the stage, keep the top.
    cards = (
        qs.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=BOARD_CARDS_PER_COLUMN)
        .select_related("account", "owner", "stage")
        .order_by("-created_at", "-id")
    )
    by_stage: dict[int, list[Opportunity]] = {s.pk: [] for s in stages}
    for card in cards:
        by_stage.setdefault(card.stage_id, []).append(card)
    owner = form.cleaned_data.get("owner") if can_filter and form.is_valid() else None
    team = form.cleaned_data.get("team") if can_filter and form.is_valid() else None
    filters = urlencode({k: v.pk for k, v in (("owner", owner), ("team", team)) if v is not None})
    columns = []
    for stage in stages:
        column = totals.get(stage.pk, {"count": 0, "label": ""})
        shown = by_stage.get(stage.pk, [])
        more_params = f"stage={stage.pk}&state=all" + (f"&owner={owner.pk}" if owner else "")
        columns.append(
            {
                "stage": stage,
                "cards": shown,
                "count": column["count"],
                "totals": column["label"],
                "more": column["count"] - len(shown),
                "more_url": f"{reverse('opportunities:list')}?{more_params}",
            }
        )
    return render(
        request,
        "opportunities/board.html",
        {
            "form": form,
            "columns": columns,
            "can_filter": can_filter,
            "can_drag": user.is_ae or user.is_manager or user.sees_everything,
            "filters": filters,
            "cap": BOARD_CARDS_PER_COLUMN,
            "lost_stage_ids": [s.pk for s in stages if s.is_lost],
            "board_messages": {
                "failed": _("%(name)s was not moved."),
                "moved": _("%(name)s moved to %(stage)s."),
                "open": _("Open the deal"),
                "network": _("The server did not answer; the deal was not moved."),
                "close": _("Close"),
            },
            "stages_admin_url": reverse("admin:opportunities_stage_changelist")
            if user.is_revops
            else "",
        },
    )
