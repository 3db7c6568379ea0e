"""Conversion: the one path from a qualified lead to an opportunity.

`lead_convert` serves the browser wizard, the API and approved override requests: it
locks the lead row, re-checks the gate, finds or creates the account and contacts,
creates the opportunity with its roles, marks the lead CONVERTED, schedules the
follow-up and notifies, all in one transaction. The lead row lock plus the unique
opportunity-per-lead constraint mean a lead converts once, whatever the concurrency.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.exceptions import Problem
from crm.models import Account, Contact, Notification, User
from crm.services import (
    account_create,
    account_match,
    company_domain,
    contact_find_or_create,
    notify,
)
from leads import gate
from leads import services as lead_services
from leads.models import Activity, Handoff, Lead, Qualification
from opportunities.access import lead_to_convert
from opportunities.conversion import CUSTOM_FIELDS, ConversionData, input_problems, parse_input
from opportunities.exceptions import AlreadyConverted, NotReady
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    StageChange,
)


def lock_lead_to_convert(lead_id: int, *, by: User) -> Lead:
    """The lead, locked for the caller's transaction, if `by` may convert it; a lead
    converted already is refused here, before anything is checked or written."""
    lead_services.lead_lock_row(lead_id)  # bare row first: leads.services._locking.lock_row
    # The qualification is one-to-one with the lead: read along, not in a query of its own.
    lead = lead_to_convert(
        by, lead_id, queryset=Lead.objects.select_related("owner", "ae", "team", "qualification")
    )
    if lead.status == Lead.Status.CONVERTED:
        raise AlreadyConverted(_("This lead is already converted."))
    return lead


# --- reading the gate ---------------------------------------------------------------------


class ConversionReads:
    """What a conversion reads about its lead, each at most once, when first needed.

    Checking the gate, creating the deal and freezing the snapshot all look at the
    qualification, the hand-off, the policy and the company's account; reading each
    once keeps a conversion near the writes it needs (tests pin the statement count)."""

    def __init__(self, lead: Lead, by: User | None = None) -> None:
        self.lead = lead
        self.by = by

    @cached_property
    def qualification(self) -> Qualification | None:
        if Lead.qualification.is_cached(self.lead):  # read with the locked lead
            # None when it has none: the missing row's error is an AttributeError.
            read: Qualification | None = getattr(self.lead, "qualification", None)
            return read
        return Qualification.objects.filter(lead=self.lead).first()

    @cached_property
    def handoff(self) -> Handoff | None:
        """`gate.current_handoff`, without reading its two people again when they are the
        lead's SDR and AE, loaded with the lead (as they are, but for a reassignment)."""
        if not self.lead.pk:
            return None
        handoff = _current_handoff(self.lead.pk)
        if handoff is None:
            return None
        loaded = {
            person.pk: person
            for name in ("owner", "ae")
            if Lead._meta.get_field(name).is_cached(self.lead)  # type: ignore[union-attr]
            and (person := getattr(self.lead, name)) is not None
        }
        missing = {handoff.from_user_id, handoff.to_user_id} - loaded.keys()
        if missing:  # the lead changed hands since: one query for whom it was between
            loaded |= User.objects.in_bulk(missing)
        handoff.from_user = loaded[handoff.from_user_id]
        handoff.to_user = loaded[handoff.to_user_id]
        return handoff

    @cached_property
    def policy(self) -> ConversionPolicy:
        row = _first_compiled(
            ConversionPolicy, "policy", lambda pk: ConversionPolicy.objects.filter(pk=pk), 1
        )
        return row or ConversionPolicy.current()  # the one row, made on first use

    @cached_property
    def domain(self) -> str:
        return company_domain(domain=self.lead.company_domain, email=self.lead.email)

    @cached_property
    def account(self) -> Account | None:
        """The company's existing account, if there is one."""
        return account_match(name=self.lead.company_name, domain=self.domain)


M = TypeVar("M", bound=Model)
# Where the varying id goes in a compiled query: a bigint no row is given.
_PLACEHOLDER = 2**62 + 14
_compiled: dict[tuple[str, str], tuple[str, list[Any], int] | None] = {}


def _first_compiled(
    model: type[M], name: str, rows: Callable[[int], QuerySet[M]], pk: int
) -> M | None:
    """The first row of `rows(pk)`, with its SQL compiled once per process and database.

    The conversion's reads by key have a fixed shape, and Django spends more CPU building
    and compiling them than PostgreSQL spends running them (the hand-off's NOT EXISTS over
    reopenings most of all). `rows` — plain rows of `model`, ordered if more than one can
    match — is compiled once with a placeholder id, which is swapped for `pk` on each
    call. If the placeholder is not among the parameters exactly once, or the query
    selects more than the model's columns, the queryset runs as is every time."""
    alias = router.db_for_read(model)
    if (name, alias) not in _compiled:
        query = rows(_PLACEHOLDER)[:1].query
        text, values = query.get_compiler(using=alias).as_sql()
        found = [i for i, value in enumerate(values) if value == _PLACEHOLDER]
        plain = query.model is model and not query.select_related and not query.annotations
        _compiled[name, alias] = (
            (text, list(values), found[0]) if plain and len(found) == 1 else None
        )
    compiled = _compiled[name, alias]
    if compiled is None:
        return rows(pk).first()
    sql, constants, where = compiled
    params = [*constants[:where], pk, *constants[where + 1 :]]
    return next(iter(model._default_manager.db_manager(alias).raw(sql, params)), None)


def _current_handoff(lead_id: int) -> Handoff | None:
    """The newest hand-off of this pass (`gate.handoffs_this_pass`), without its people."""
    return _first_compiled(
        Handoff, "handoff", lambda pk: gate.handoffs_this_pass(Lead(pk=pk)), lead_id
    )


def conversion_check(
    lead: Lead,
    raw: dict[str, Any] | None = None,
    *,
    today: datetime.date | None = None,
    reads: ConversionReads | None = None,
) -> tuple[ConversionData | None, list[Problem]]:
    """Lead-side gate plus, when `raw` is given, the wizard's input: all problems at once."""
    reads = reads or ConversionReads(lead)
    problems = gate.conversion_problems(lead, reads.qualification, handoff=reads.handoff)
    if raw is None:
        return None, problems
    data, parse_problems = parse_input(raw, people=[lead.ae, reads.by])
    problems += parse_problems
    problems += input_problems(data, policy=reads.policy, today=today or timezone.localdate())
    if data.attach_to is not None:
        problems += _attach_problems(data.attach_to, data, account=reads.account)
    problems += _role_contact_problems(data, account=reads.account)
    return data, problems


def _role_contact_problems(data: ConversionData, *, account: Account | None) -> list[Problem]:
    """An existing contact given a role must work at the lead's company (or nowhere yet)."""
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


def _attach_problems(
    deal: Opportunity, data: ConversionData, *, account: Account | None
) -> list[Problem]:
    problems = []
    if account != deal.account:
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
        lead = lock_lead_to_convert(lead_id, by=by)
        reads = ConversionReads(lead, by)
        # An approved override replays what the rep entered: judge dates as of that day.
        asked = override_request.requested_at if override_request is not None else now
        data, problems = conversion_check(lead, raw, today=timezone.localdate(asked), reads=reads)
        waived: list[str] = []
        if override_request is not None:
            waived = gate.unmet_criteria(problems)
            problems = [p for p in problems if p.code not in waived]
        if problems:
            raise NotReady(problems=problems)
        assert data is not None
        policy = reads.policy
        account = reads.account or _new_account(lead, reads.domain, by=by)
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
                qualification=reads.qualification,
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
            reads=reads,
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
            _after_conversion(lead, opportunity, by=by, policy=policy, approved_by=approved_by)
        if override_request is not None:
            override_request.state = ConversionRequest.State.APPROVED
            override_request.decided_by = approved_by
            override_request.decided_at = now
            override_request.opportunity = opportunity
            override_request.save(
                update_fields=["state", "decided_by", "decided_at", "decision_note", "opportunity"]
            )
    return opportunity


def _new_account(lead: Lead, domain: str, *, by: User) -> Account:
    """The lead's company as a new account (or the one a racing conversion just made)."""
    account, _created = account_create(
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
    return account


def _resolve_roles(
    data: ConversionData, *, account: Account, lead_contact: Contact
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
    account: Account,
    roles: list[tuple[Contact, str]],
    policy: ConversionPolicy,
    now: datetime.datetime,
    is_override: bool,
    qualification: Qualification | None,
) -> Opportunity:
    # `input_problems` refused the conversion when any of these was missing.
    assert data.stage is not None
    assert data.amount is not None
    assert data.expected_close_date is not None
    assert data.next_step_owner is not None
    assert data.next_step_due is not None
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
    reads: ConversionReads,
    by: User,
    attached: bool,
    waived: list[str],
    rationale: str,
) -> None:
    """Freeze the gate as it stood, for audit and premature-conversion analysis."""
    q = reads.qualification or Qualification(lead=lead)
    # The hand-off the gate converted on: this pass's, never one from before a reopening.
    handoff = reads.handoff
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
    lead: Lead,
    opportunity: Opportunity,
    *,
    by: User,
    policy: ConversionPolicy,
    approved_by: User | None = None,
) -> None:
    """The follow-up activity, the account plan for big deals, the manager's heads-up —
    not to the manager who approved this very conversion (no one is told of their own
    action)."""
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
            recipients=[
                manager
                for manager in managers_of(opportunity.owner)
                if approved_by is None or manager.pk != approved_by.pk
            ],
            kind=Notification.Kind.APPROVAL,
            message=lambda: (
                (
                    _("Approve %(name)s: %(amount)s %(currency)s is above the threshold")
                    if pending
                    else _("Large deal converted: %(name)s, %(amount)s %(currency)s")
                )
                % {
                    "name": opportunity.name,
                    "amount": number_format(opportunity.amount, 0, force_grouping=True),
                    "currency": opportunity.currency,
                }
            ),
            url=url,
            email=True,
            by=by,
        )
    if lead.owner_id and lead.owner_id != by.pk:
        notify(
            recipients=[lead.owner],
            kind=Notification.Kind.CONVERSION,
            message=lambda: (
                _("%(company)s became an opportunity: %(name)s")
                % {"company": lead.company_name, "name": opportunity.name}
            ),
            url=url,
        )


def managers_of(user: User) -> list[User]:
    """Whom to ask about `user`'s deals: their manager and their team's; RevOps if none."""
    managers: list[User] = []
    if user.manager is not None:
        managers.append(user.manager)
    if user.team is not None and user.team.manager is not None:
        managers.append(user.team.manager)
    return managers or list(User.objects.filter(role=User.Role.REVOPS, is_active=True))
