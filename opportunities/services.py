"""Conversion and the pipeline: every write to an opportunity goes through here.

`lead_convert` is the one conversion path (browser wizard, API, approved overrides): it
locks the lead row, re-checks the gate, finds or creates the account and contacts, creates
the opportunity with its roles, marks the lead CONVERTED, schedules the follow-up and
notifies, all in one transaction. The lead row lock plus the unique opportunity-per-lead
constraint mean a lead converts once, whatever the concurrency.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import DomainError, NotAllowed, Problem, StaleVersion, ValidationFailed
from crm.models import Contact, Notification, User
from crm.services import (
    account_find_or_create,
    account_match,
    company_domain,
    contact_find_or_create,
    notify,
)
from leads import gate
from leads import services as lead_services
from leads.models import Activity, Lead, Qualification
from opportunities.conversion import (
    CURRENCIES,
    CUSTOM_FIELDS,
    ConversionData,
    input_problems,
    parse_input,
)
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    Stage,
    StageChange,
)


class NotReady(DomainError):
    """The gate said no: every problem is listed (HTTP 422)."""

    http_status = 422
    code = "not_ready"


class AlreadyConverted(DomainError):
    http_status = 409
    code = "already_converted"


class OverridePending(DomainError):
    http_status = 409
    code = "override_pending"


class OverrideNotAllowed(DomainError):
    http_status = 422
    code = "override_not_allowed"


# --- reading the gate ---------------------------------------------------------------------


def conversion_check(
    lead: Lead, raw: dict[str, Any] | None = None, *, today: datetime.date | None = None
) -> tuple[ConversionData | None, list[Problem]]:
    """Lead-side gate plus, when `raw` is given, the wizard's input: all problems at once."""
    qualification = Qualification.objects.filter(lead=lead).first()
    problems = gate.conversion_problems(lead, qualification)
    if raw is None:
        return None, problems
    data, parse_problems = parse_input(raw)
    policy = ConversionPolicy.current()
    problems += parse_problems
    problems += input_problems(data, policy=policy, today=today or timezone.localdate())
    if data.attach_to is not None:
        problems += _attach_problems(lead, data.attach_to, data)
    problems += _role_contact_problems(lead, data)
    return data, problems


def _role_contact_problems(lead: Lead, data: ConversionData) -> list[Problem]:
    """An existing contact given a role must work at the lead's company (or nowhere yet)."""
    account = account_match(
        name=lead.company_name, domain=company_domain(domain=lead.company_domain, email=lead.email)
    )
    allowed = {None, account.pk if account else None}
    return [
        Problem(
            "contact_other_account",
            f"contact_roles.{i}.contact",
            _("That contact works for another company."),
        )
        for i, row in enumerate(data.contact_roles)
        if row.contact is not None and row.contact.account_id not in allowed
    ]


def existing_deals(lead: Lead, product_line: str = "") -> list[Opportunity]:
    """Open opportunities at the lead's company (same product line first): the wizard
    offers to attach the lead to one of them instead of opening a second deal."""
    account = account_match(
        name=lead.company_name, domain=company_domain(domain=lead.company_domain, email=lead.email)
    )
    if account is None:
        return []
    deals = list(
        Opportunity.objects.filter(account=account).open().select_related("stage", "owner")
    )
    deals.sort(key=lambda o: (o.product_line.lower() != product_line.lower(), o.created_at))
    return deals


def _attach_problems(lead: Lead, deal: Opportunity, data: ConversionData) -> list[Problem]:
    problems = []
    domain = company_domain(domain=lead.company_domain, email=lead.email)
    if account_match(name=lead.company_name, domain=domain) != deal.account:
        problems.append(
            Problem("attach_other_account", "attach_to", _("That deal belongs to another company."))
        )
    if deal.stage.is_closed:
        problems.append(Problem("attach_closed", "attach_to", _("That deal is already closed.")))
    product_line = data.custom.get("product_line", "")
    if product_line and deal.product_line and deal.product_line.lower() != product_line.lower():
        problems.append(
            Problem(
                "attach_other_product",
                "attach_to",
                _("That deal is for %(line)s, not %(other)s.")
                % {"line": deal.product_line, "other": product_line},
            )
        )
    return problems


# --- conversion ---------------------------------------------------------------------------


def lead_convert(
    *,
    lead_id: int,
    by: User,
    raw: dict[str, Any],
    override_rationale: str = "",
    override_request: ConversionRequest | None = None,
    approved_by: User | None = None,
) -> Opportunity:
    """Convert an SQL lead into an opportunity (or attach it to an existing one).

    Raises NotReady (422) with every problem, AlreadyConverted (409), NotAllowed (403).
    With an approved override request, unmet criteria are waived and flagged.
    """
    now = timezone.now()
    with transaction.atomic():
        lead = lead_services.lead_lock(lead_id)
        if lead.status == Lead.Status.CONVERTED:
            raise AlreadyConverted(_("This lead is already converted."))
        if not by.has_perm("opportunities.convert_lead", lead):
            raise NotAllowed(_("Only the lead's AE, their manager or RevOps may convert it."))
        # An approved override replays what the rep entered: judge dates as of that day.
        asked = override_request.requested_at if override_request is not None else now
        data, problems = conversion_check(lead, raw, today=timezone.localdate(asked))
        waived: list[str] = []
        if override_request is not None:
            waived = gate.unmet_criteria(problems)
            problems = [p for p in problems if p.code not in waived]
        if problems:
            raise NotReady(problems=problems)
        assert data is not None
        policy = ConversionPolicy.current()

        domain = company_domain(domain=lead.company_domain, email=lead.email)
        account, _created = account_find_or_create(
            name=lead.company_name,
            domain=domain,
            defaults={
                "industry": lead.industry,
                "employee_count": lead.employee_count,
                "country": lead.country,
                "owner": by if by.is_ae else lead.ae,
                "is_demo": lead.is_demo,
            },
        )
        lead_contact, _created = contact_find_or_create(
            account=account,
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            phone=lead.phone,
            job_title=lead.job_title,
            is_demo=lead.is_demo,
        )
        roles = _resolve_roles(data, account=account, lead_contact=lead_contact)
        if data.attach_to is not None:
            opportunity = Opportunity.objects.select_for_update().get(pk=data.attach_to.pk)
            attached = True
        else:
            opportunity = _create_opportunity(
                lead,
                data,
                by=by,
                account=account,
                roles=roles,
                policy=policy,
                now=now,
                is_override=bool(waived),
            )
            attached = False
        OpportunityContactRole.objects.bulk_create(
            [OpportunityContactRole(opportunity=opportunity, contact=c, role=r) for c, r in roles],
            ignore_conflicts=True,
        )
        _snapshot(
            lead,
            opportunity,
            by=by,
            attached=attached,
            waived=waived,
            rationale=override_rationale
            or (override_request.rationale if override_request else ""),
        )
        lead_services.lead_mark_converted(
            lead=lead,
            by=by,
            at=now,
            account=account,
            contact=lead_contact,
            reason=_("Attached to %s") % opportunity.name
            if attached
            else _("Converted to %s") % opportunity.name,
        )
        if not attached:
            _after_conversion(lead, opportunity, by=by, policy=policy)
        if override_request is not None:
            override_request.state = ConversionRequest.State.APPROVED
            override_request.decided_by = approved_by
            override_request.decided_at = now
            override_request.opportunity = opportunity
            override_request.save(
                update_fields=["state", "decided_by", "decided_at", "opportunity"]
            )
    return opportunity


def _resolve_roles(
    data: ConversionData, *, account: Any, lead_contact: Contact
) -> list[tuple[Contact, str]]:
    resolved = []
    for row in data.contact_roles:
        if row.lead_contact:
            contact = lead_contact
        elif row.contact is not None:
            contact = row.contact
        else:
            contact, _created = contact_find_or_create(
                account=account,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                job_title=row.job_title,
            )
        resolved.append((contact, row.role))
    return resolved


def _primary_contact(roles: list[tuple[Contact, str]], fallback: Contact) -> Contact:
    """The economic buyer if named, else the champion, else the first role given."""
    for wanted in (
        OpportunityContactRole.Role.ECONOMIC_BUYER,
        OpportunityContactRole.Role.CHAMPION,
    ):
        for contact, role in roles:
            if role == wanted:
                return contact
    return roles[0][0] if roles else fallback


def _create_opportunity(
    lead: Lead,
    data: ConversionData,
    *,
    by: User,
    account: Any,
    roles: list[tuple[Contact, str]],
    policy: ConversionPolicy,
    now: datetime.datetime,
    is_override: bool,
) -> Opportunity:
    assert data.stage is not None
    assert data.amount is not None
    qualification = Qualification.objects.filter(lead=lead).first()
    needs_manager = policy.needs_manager(data.amount, data.currency)
    approval = Opportunity.Approval.NOT_NEEDED
    if needs_manager and policy.approval_required:
        approval = Opportunity.Approval.PENDING
    opportunity = Opportunity.objects.create(
        name=data.name,
        lead=lead,
        account=account,
        primary_contact=_primary_contact(roles, fallback=roles[0][0]),
        owner=lead.ae if lead.ae and not by.is_ae else by,
        amount=data.amount,
        currency=data.currency,
        discount_notes=data.discount_notes,
        expected_close_date=data.expected_close_date,
        close_date_reason=data.close_date_reason,
        stage=data.stage,
        probability=data.probability
        if data.probability is not None
        else data.stage.default_probability,
        next_step=data.next_step,
        next_step_owner=data.next_step_owner,
        next_step_due=data.next_step_due,
        source=lead.source,
        campaign=lead.campaign,
        lead_score_at_conversion=lead.score,
        qualification_framework=qualification.framework if qualification else "",
        qualification_summary=_qualification_summary(qualification),
        approval=approval,
        is_override=is_override,
        is_demo=lead.is_demo,  # a demo session's deals stay demo data (seed_demo --reset)
        stage_entered_at=now,
        created_by=by,
        **{f: data.custom.get(f, "") for f in CUSTOM_FIELDS},
    )
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=None,
        to_stage=data.stage,
        actor=by,
        changed_at=now,
        reason=_("Converted from lead"),
    )
    if needs_manager:
        account.is_strategic = True
        account.save(update_fields=["is_strategic", "updated_at"])
    return opportunity


def _qualification_summary(q: Qualification | None) -> str:
    if q is None:
        return ""
    lines = [f"{q.get_framework_display()}:"]
    for criterion in Qualification.CRITERIA:
        status = q.criterion_status(criterion)
        evidence = getattr(q, f"{criterion}_evidence").strip()
        lines.append(f"- {gate.CRITERIA_LABELS[criterion]}: {status}. {evidence}".rstrip())
    if q.notes.strip():
        lines.append(q.notes.strip())
    return "\n".join(lines)


def _snapshot(
    lead: Lead,
    opportunity: Opportunity,
    *,
    by: User,
    attached: bool,
    waived: list[str],
    rationale: str,
) -> None:
    """Freeze the gate as it stood, for audit and premature-conversion analysis."""
    q = Qualification.objects.filter(lead=lead).first() or Qualification(lead=lead)
    handoff = lead.handoffs.order_by("-created_at").first()
    ConversionSnapshot.objects.create(
        opportunity=opportunity,
        lead=lead,
        converted_by=by,
        attached=attached,
        criteria={
            c: {"status": q.criterion_status(c), "evidence": getattr(q, f"{c}_evidence")}
            for c in Qualification.CRITERIA
        }
        | {"framework": q.framework},
        lead_score=lead.score,
        qualification_notes=q.notes,
        handoff={
            f: getattr(handoff, f)
            for f in (*gate.HANDOFF_FIELDS, "ae_rating", "ae_repeated_discovery")
        }
        | {"to_user": str(handoff.to_user), "from_user": str(handoff.from_user)}
        if handoff
        else {},
        unmet_overridden=waived,
        override_rationale=rationale,
    )


def _after_conversion(
    lead: Lead, opportunity: Opportunity, *, by: User, policy: ConversionPolicy
) -> None:
    """The follow-up activity, the account plan for big deals, the manager's heads-up."""
    owner_zone = zoneinfo.ZoneInfo(opportunity.next_step_owner.time_zone or "UTC")
    due = datetime.datetime.combine(opportunity.next_step_due, datetime.time(9), tzinfo=owner_zone)
    Activity.objects.create(
        kind=Activity.Kind.TASK,
        opportunity=opportunity,
        lead=lead,
        owner=opportunity.next_step_owner,
        subject=opportunity.next_step,
        due_at=due,
    )
    url = reverse("opportunities:detail", args=[opportunity.pk])
    if policy.needs_manager(opportunity.amount, opportunity.currency):
        Activity.objects.create(
            kind=Activity.Kind.TASK,
            opportunity=opportunity,
            owner=opportunity.owner,
            subject=_("Start the account plan for %s") % opportunity.account.name,
            due_at=timezone.now() + datetime.timedelta(days=7),
        )
        pending = opportunity.approval == Opportunity.Approval.PENDING
        notify(
            recipients=_managers_of(opportunity.owner),
            kind=Notification.Kind.APPROVAL,
            message=(
                _("Approve %(name)s: %(amount)s %(currency)s is above the threshold")
                if pending
                else _("Large deal converted: %(name)s, %(amount)s %(currency)s")
            )
            % {
                "name": opportunity.name,
                "amount": f"{opportunity.amount:,.0f}",
                "currency": opportunity.currency,
            },
            url=url,
            email=True,
        )
    if lead.owner_id and lead.owner_id != by.pk:
        notify(
            recipients=[lead.owner],
            kind=Notification.Kind.CONVERSION,
            message=_("%(company)s became an opportunity: %(name)s")
            % {"company": lead.company_name, "name": opportunity.name},
            url=url,
        )


def _managers_of(user: User) -> list[User]:
    managers = []
    if user.manager_id:
        managers.append(user.manager)
    if user.team_id and user.team.manager_id:
        managers.append(user.team.manager)
    return managers or list(User.objects.filter(role=User.Role.REVOPS, is_active=True))


# --- overrides and approvals --------------------------------------------------------------


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
        lead = lead_services.lead_lock(lead_id)
        if lead.status == Lead.Status.CONVERTED:
            raise AlreadyConverted(_("This lead is already converted."))
        if not by.has_perm("opportunities.convert_lead", lead):
            raise NotAllowed(_("Only the lead's AE, their manager or RevOps may convert it."))
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
            recipients=_managers_of(by),
            kind=Notification.Kind.APPROVAL,
            message=_("%(who)s asks to convert %(company)s with %(n)s criteria unmet")
            % {"who": by, "company": lead.company_name, "n": len(waivable)},
            url=reverse("opportunities:overrides"),
            email=True,
        )
    return request


def conversion_request_decide(
    *, request_id: int, by: User, approve: bool, note: str = ""
) -> ConversionRequest:
    if not (by.is_manager or by.is_revops):
        raise NotAllowed(_("Only a manager decides on override requests."))
    with transaction.atomic():
        request = (
            ConversionRequest.objects.select_for_update(of=("self",))
            .select_related("requested_by__team", "lead__team", "lead__owner")
            .get(pk=request_id)
        )
        asker = request.requested_by
        if not (
            by.sees_everything
            or asker.manager_id == by.pk
            or (asker.team_id is not None and asker.team.manager_id == by.pk)
            or by.has_perm("leads.assign_lead", request.lead)
        ):
            raise NotAllowed(_("Only the requester's manager decides on this request."))
        if request.state != ConversionRequest.State.PENDING:
            raise AlreadyConverted(_("This request was already decided."))
        if request.requested_by_id == by.pk:
            raise NotAllowed(_("You cannot approve your own request."))
        request.decision_note = note
        if approve:
            lead_convert(
                lead_id=request.lead_id,
                by=request.requested_by,
                raw=request.data,
                override_request=request,
                approved_by=by,
            )
        else:
            request.state = ConversionRequest.State.DECLINED
            request.decided_by = by
            request.decided_at = timezone.now()
            request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        notify(
            recipients=[request.requested_by],
            kind=Notification.Kind.APPROVAL,
            message=(
                _("Override approved: %s converted") if approve else _("Override declined: %s")
            )
            % request.lead.company_name,
            url=reverse("leads:detail", args=[request.lead_id]),
        )
    return request


def opportunity_approve(*, opportunity_id: int, by: User, approve: bool) -> Opportunity:
    """A manager lets a large deal into the forecast (or sends it back)."""
    if not (by.is_manager or by.is_revops):
        raise NotAllowed(_("Only a manager approves deals."))
    with transaction.atomic():
        opportunity = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("owner__team")
            .get(pk=opportunity_id)
        )
        if opportunity.owner_id == by.pk or not by.has_perm(
            "opportunities.work_opportunity", opportunity
        ):
            raise NotAllowed(_("Only the owner's manager approves this deal."))
        if opportunity.approval != Opportunity.Approval.PENDING:
            raise AlreadyConverted(_("This deal is not waiting for approval."))
        opportunity.approval = (
            Opportunity.Approval.APPROVED if approve else Opportunity.Approval.REJECTED
        )
        opportunity.version += 1
        opportunity.save(update_fields=["approval", "version", "updated_at"])
    return opportunity


# --- the pipeline -------------------------------------------------------------------------

EDITABLE_FIELDS = (
    "name",
    "amount",
    "currency",
    "discount_notes",
    "expected_close_date",
    "close_date_reason",
    "probability",
    "next_step",
    "next_step_owner",
    "next_step_due",
    *CUSTOM_FIELDS,
)


def stage_exit_problems(opportunity: Opportunity, to: Stage) -> list[Problem]:
    """What must be filled before the deal moves forward out of its stage. Moving back, or
    closing lost, never waits on the current stage's exit fields."""
    if to.is_lost or to.position < opportunity.stage.position:
        return []
    problems = []
    for name in opportunity.stage.exit_required_fields:
        if gate.is_blank(getattr(opportunity, name, "")):
            label = Opportunity._meta.get_field(name).verbose_name
            problems.append(
                Problem(
                    "exit_field_missing",
                    name,
                    _("Fill in %(field)s before leaving %(stage)s.")
                    % {"field": label, "stage": opportunity.stage.name},
                )
            )
    return problems


def opportunity_move_stage(
    *,
    opportunity_id: int,
    by: User,
    to: Stage,
    reason: str = "",
    lost_reason: str = "",
    lost_to_competitor: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move a deal to another stage: exit criteria enforced, closing lost asks why and to
    whom, time in the previous stage recorded, probability reset to the stage default."""
    now = timezone.now()
    with transaction.atomic():
        opportunity = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("stage", "owner")
            .get(pk=opportunity_id)
        )
        if not by.has_perm("opportunities.work_opportunity", opportunity):
            raise NotAllowed(_("You may not move this deal."))
        if expected_version is not None and int(expected_version) != opportunity.version:
            raise StaleVersion(_("Someone moved or edited this deal meanwhile. Reload and retry."))
        if to.pk == opportunity.stage_id:
            return opportunity
        if not to.is_active:
            raise ValidationFailed(
                problems=[Problem("invalid_choice", "stage", _("That stage is retired."))]
            )
        problems = stage_exit_problems(opportunity, to)
        if to.is_lost and gate.is_blank(lost_reason):
            problems.append(Problem("required", "lost_reason", _("Why was the deal lost?")))
        if to.is_lost and gate.is_blank(lost_to_competitor):
            problems.append(
                Problem(
                    "required",
                    "lost_to_competitor",
                    _("Name the competitor it was lost to (or 'No decision')."),
                )
            )
        if problems:
            raise ValidationFailed(problems=problems)
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=opportunity.stage,
            to_stage=to,
            actor=by,
            changed_at=now,
            time_in_previous_stage=now - opportunity.stage_entered_at,
            reason=reason,
        )
        opportunity.stage = to
        opportunity.stage_entered_at = now
        opportunity.probability = to.default_probability
        opportunity.closed_at = (opportunity.closed_at or now) if to.is_closed else None
        fields = ["stage", "stage_entered_at", "probability", "closed_at"]
        if to.is_lost:
            opportunity.lost_reason = lost_reason.strip()
            opportunity.lost_to_competitor = lost_to_competitor.strip()
            fields += ["lost_reason", "lost_to_competitor"]
        opportunity.version += 1
        opportunity.save(update_fields=[*fields, "version", "updated_at"])
    return opportunity


def opportunity_update(
    *, opportunity_id: int, by: User, data: dict[str, Any], expected_version: int | None = None
) -> Opportunity:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("read_only", f, _("This field cannot be edited here."))
                for f in sorted(unknown)
            ]
        )
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).get(pk=opportunity_id)
        if not by.has_perm("opportunities.work_opportunity", opportunity):
            raise NotAllowed(_("You may not edit this deal."))
        if expected_version is not None and int(expected_version) != opportunity.version:
            raise StaleVersion(_("Someone edited this deal meanwhile. Reload and retry."))
        problems = []
        for name in ("name", "next_step"):
            if name in data and gate.is_blank(data[name]):
                problems.append(Problem("required", name, _("This field is required.")))
        if "amount" in data and (data["amount"] is None or data["amount"] <= 0):
            problems.append(
                Problem("amount_not_positive", "amount", _("The deal size must be positive."))
            )
        if "currency" in data and str(data["currency"]).upper() not in CURRENCIES:
            problems.append(
                Problem(
                    "invalid_currency", "currency", _("Use an ISO 4217 currency code, e.g. USD.")
                )
            )
        for name in ConversionPolicy.current().required_fields:
            if name in data and gate.is_blank(data[name]):
                problems.append(Problem("required", name, _("This field is required.")))
        if "probability" in data and not 0 <= int(data["probability"]) <= 100:
            problems.append(
                Problem("out_of_range", "probability", _("Probability runs from 0 to 100."))
            )
        if problems:
            raise ValidationFailed(problems=problems)
        for name, value in data.items():
            setattr(opportunity, name, value)
        opportunity.version += 1
        opportunity.save(update_fields=[*data, "version", "updated_at"])
    return opportunity


def entry_stages() -> list[Stage]:
    return list(Stage.objects.filter(is_entry=True, is_active=True))
