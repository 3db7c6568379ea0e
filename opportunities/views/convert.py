"""The conversion wizard: a qualified lead becomes an opportunity (or asks a manager to
let it convert with a criterion unmet).

The page lists every problem at once, each on its input: the lead's own gaps on the
readiness checklist, the wizard's fields on their fields, contact-role problems on the
row they came from, with a 4xx status. That is the wizard's job, so it takes the
service's field problems (`_problems_or`); a refusal (403), a missing lead (404) or a
lead converted meanwhile rise to `crm.web.errors.DomainErrorMiddleware`, which sends the
user back here and so on to the deal.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.exceptions import (
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    Problem,
    StaleVersion,
)
from crm.models import Contact, User
from crm.services import account_match, company_domain
from crm.web.errors import set_back_url
from crm.web.requests import AuthedHttpRequest
from leads.access import lead_for
from leads.gate import CRITERIA_LABELS, HANDOFF_FIELDS, conversion_checklist
from leads.models import Handoff, Lead, Qualification
from opportunities import selectors, services
from opportunities.access import require_may_convert
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.exceptions import AlreadyConverted
from opportunities.forms import (
    CORE_REQUIRED,
    BaseContactRoleFormSet,
    ContactRoleFormSet,
    ConversionForm,
    currency_choices,
    form_problems,
)
from opportunities.models import ConversionPolicy, ConversionRequest, Opportunity, field_label
from opportunities.selectors import CRITERIA_CODES

T = TypeVar("T")

# Not the wizard's to show: they rise to the middleware (403 page, back to the deal).
_NOT_WIZARD_PROBLEMS = (NotAllowed, NotFound, InvalidTransition, StaleVersion, AlreadyConverted)


def _problems_or(call: Callable[[], T]) -> T | DomainError:
    """Run a conversion step; a domain error about the input comes back as a value for
    the wizard to place on its fields (`crm.web.forms.submit` for two forms at once)."""
    try:
        return call()
    except _NOT_WIZARD_PROBLEMS:
        raise
    except DomainError as error:
        return error


def _wizard_facts(user: User, lead: Lead) -> dict[str, Any]:
    """Everything the wizard shows besides the form: the gate, the hand-off, the account
    and contact the service will match, the deals already open at the company."""
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
        "stages": selectors.entry_stages(),
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


def _wizard_initial(user: User, facts: dict[str, Any]) -> dict[str, Any]:
    lead, q, stages = facts["lead"], facts["qualification"], facts["stages"]
    initial: dict[str, Any] = {
        # The AE completes the product and use case: "<Company> - ".
        "name": f"{lead.company_name} - ",
        "currency": user.default_currency,
        "next_step_owner": str(facts["ae"].pk),
        "industry_vertical": lead.industry,
    }
    if stages:
        initial["stage"] = str(stages[0].pk)
        initial["probability"] = stages[0].default_probability
    if q is not None:
        initial["decision_criteria"] = q.decision_criteria
        initial["competitive_landscape"] = q.decision_other_vendors
        # The buyer's stated date, unless it has passed since: a past date could only fail.
        if q.timeline_target_date and q.timeline_target_date >= timezone.localdate():
            initial["expected_close_date"] = q.timeline_target_date.isoformat()
    return initial


def _wizard_forms(
    user: User, facts: dict[str, Any], data: QueryDict | None = None
) -> tuple[ConversionForm, BaseContactRoleFormSet]:
    form = ConversionForm(
        data,
        initial=None if data is not None else _wizard_initial(user, facts),
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
    form: ConversionForm, roles: BaseContactRoleFormSet, origin: list[int], problems: list[Problem]
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
            index = int(parts[1]) if parts[1].isascii() and parts[1].isdigit() else -1
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
            capfirst(str(form.fields[name].label))
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
    request: AuthedHttpRequest,
    facts: dict[str, Any],
    form: ConversionForm,
    roles: BaseContactRoleFormSet,
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


def _problem_row(
    problem: Problem, form: ConversionForm, gate_labels: dict[str, str]
) -> dict[str, str]:
    """One line of the summary above the wizard, linking to the input it concerns."""
    field = problem.field or ""
    if field.startswith("contact_roles"):
        parts = field.split(".")
        label = (
            _("Contact role %(n)s") % {"n": int(parts[1]) + 1}
            if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit()
            else _("Contact roles")
        )
        anchor = "roles"
    elif field in gate_labels:
        label, anchor = gate_labels[field], "readiness"
    elif field in form.fields:
        label, anchor = capfirst(str(form.fields[field].label)), f"id_{field}"
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


def _handoff_rows(handoff: Handoff | None) -> list[tuple[str, str]]:
    if handoff is None:
        return []
    return [(field_label(Handoff, name), getattr(handoff, name)) for name in HANDOFF_FIELDS]


@login_required
@require_http_methods(["GET", "POST"])
def lead_convert(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = lead_for(user, pk)
    if lead.status == Lead.Status.CONVERTED:
        return _already_converted(request, lead)
    require_may_convert(user, lead)
    # A lead converted meanwhile comes back here, and so on to its deal.
    set_back_url(request, reverse("opportunities:convert", args=[lead.pk]))
    facts = _wizard_facts(user, lead)
    if request.method == "GET":
        form, roles = _wizard_forms(user, facts)
        return _render_wizard(request, facts, form, roles)

    form, roles = _wizard_forms(user, facts, request.POST)
    form_ok = form.is_valid()
    roles_ok = roles.is_valid()
    raw = form.raw()
    raw["contact_roles"], origin = roles.raw()
    if not (form_ok and roles_ok):
        # Still ask the gate, so the page lists every problem at once.
        _data, problems = services.conversion_check(lead, raw)
        problems = [p for p in problems if not (p.field and form.errors.get(p.field))]
        problems = form_problems(form) + problems
        placed = _place_conversion_problems(form, roles, origin, problems)
        return _render_wizard(
            request, facts, form, roles, problems=problems, placed=placed, status=400
        )
    if form.wants_override:
        asked = _problems_or(
            lambda: services.conversion_request_create(
                lead_id=lead.pk,
                by=user,
                raw=raw,
                rationale=form.cleaned_data["override_rationale"],
            )
        )
        if isinstance(asked, DomainError):
            return _render_refused(request, facts, form, roles, origin, asked)
        messages.success(
            request,
            _(
                "Override requested. The lead waits for a manager's approval; it converts "
                "with the data you entered once approved."
            ),
        )
        return redirect("leads:detail", lead.pk)
    opportunity = _problems_or(lambda: services.lead_convert(lead_id=lead.pk, by=user, raw=raw))
    if isinstance(opportunity, DomainError):
        return _render_refused(request, facts, form, roles, origin, opportunity)
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
    if Opportunity.objects.visible_to(user).filter(pk=opportunity.pk).exists():
        return redirect("opportunities:detail", opportunity.pk)
    return redirect("leads:detail", lead.pk)


def _render_refused(
    request: AuthedHttpRequest,
    facts: dict[str, Any],
    form: ConversionForm,
    roles: BaseContactRoleFormSet,
    origin: list[int],
    error: DomainError,
) -> HttpResponse:
    """The wizard again, every problem the service found on its input, with its status."""
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


def _already_converted(request: AuthedHttpRequest, lead: Lead) -> HttpResponse:
    """A converted lead's wizard sends the user to its deal (or the lead, if the deal is
    not theirs to see)."""
    messages.info(request, _("This lead is already converted."))
    snapshot = getattr(lead, "conversion_snapshot", None)
    if snapshot is not None:
        target = snapshot.opportunity_id
        if Opportunity.objects.visible_to(request.user).filter(pk=target).exists():
            return redirect("opportunities:detail", target)
    return redirect("leads:detail", lead.pk)
