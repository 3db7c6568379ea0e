"""What stands between a lead and its next step, as data. Each function lists every
unmet requirement (empty means go); UI, API and services all ask these, never re-derive."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.countries import country_code
from crm.exceptions import Problem
from crm.placeholders import is_placeholder
from leads.models import Handoff, Lead, LeadTransition, Qualification, Source


def is_blank(value: Any) -> bool:
    """Blank, or a placeholder that only pretends to be an answer ("TBD", "N/A", "?"):
    the one rule of `crm.placeholders`, for every required field of the funnel."""
    return is_placeholder(value)


def _criterion_hint(q: Qualification, criterion: str, hint: str) -> str:
    """What to do about an unmet criterion; when it is marked confirmed on a placeholder,
    say so, or the rep sees "confirmed" and cannot tell why it does not count."""
    if not q.has_placeholder_evidence(criterion):
        return hint
    return _(
        "%(criterion)s is marked confirmed, but “%(evidence)s” is a placeholder, not "
        "evidence. Write down what you learned: who said what, and when."
    ) % {
        "criterion": CRITERIA_NAMES[criterion],
        "evidence": getattr(q, f"{criterion}_evidence").strip(),
    }


def canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with the source and the country as a lead stores them, whichever way they
    were written: "Inbound" or the label in the user's language -> "inbound",
    "Indonesia" -> "ID" (`crm.countries`). Every channel reads them so; a value that
    names nothing is left as given, for `intake_problems` to name."""
    values = dict(data)
    source = values.get("source")
    if isinstance(source, str) and source.strip() and source not in Source.values:
        wanted = source.strip().casefold()
        for value, label in Source.choices:
            if wanted in (value.casefold(), str(label).casefold()):
                values["source"] = value
    country = values.get("country")
    if isinstance(country, str) and country.strip():
        values["country"] = country_code(country) or country.strip()
    return values


def intake_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Minimum data every lead carries (DOMAIN.md: company, contact, source)."""
    problems = []
    if is_blank(data.get("company_name")):
        problems.append(Problem("required", "company_name", _("Enter the company name.")))
    if is_blank(data.get("last_name")):
        problems.append(Problem("required", "last_name", _("Enter the contact's last name.")))
    # Someone must be reachable: an e-mail address or a phone number.
    if is_blank(data.get("email")) and is_blank(data.get("phone")):
        problems.append(
            Problem("contact_unreachable", "email", _("Enter an e-mail address or a phone number."))
        )
    source = data.get("source")
    if is_blank(source):
        problems.append(Problem("required", "source", _("Choose the lead source.")))
    elif source not in Source.values:
        problems.append(
            Problem(
                "invalid_choice",
                "source",
                _("“%(value)s” is not a lead source.") % {"value": source},
            )
        )
    country = data.get("country")
    if not is_blank(country) and country_code(str(country)) != country:
        problems.append(
            Problem(
                "invalid_country",
                "country",
                _("“%(value)s” is not a country: give its name or two-letter code (e.g. ID).")
                % {"value": country},
            )
        )
    score = data.get("score")
    score_text = "" if score is None else str(score)
    whole = score_text.isascii() and score_text.isdigit()  # "¹" is a digit int() refuses
    if score_text and not (whole and 0 <= int(score_text) <= 100):
        problems.append(Problem("out_of_range", "score", _("The lead score runs from 0 to 100.")))
    return problems


def sql_problems(lead: Lead, qualification: Qualification) -> list[Problem]:
    """Moving to SQL needs a real problem, budget capability and decision authority."""
    problems = []
    if lead.status != Lead.Status.SAL:
        problems.append(
            Problem("not_sal", "status", _("Accept the lead (SAL) before qualifying it."))
        )
    q = qualification
    if not q.is_confirmed("need"):
        problems.append(
            Problem(
                "need_unconfirmed",
                "need_status",
                _criterion_hint(q, "need", _("Confirm the business need, with evidence.")),
            )
        )
    if not q.is_confirmed("budget"):
        problems.append(
            Problem(
                "budget_unconfirmed",
                "budget_status",
                _criterion_hint(
                    q, "budget", _("Confirm the budget or the path to it, with evidence.")
                ),
            )
        )
    # Someone who can sign, not only a champion.
    if not q.is_confirmed("authority"):
        problems.append(
            Problem(
                "authority_unconfirmed",
                "authority_status",
                _criterion_hint(
                    q,
                    "authority",
                    _("Identify the economic buyer or decision unit, with evidence."),
                ),
            )
        )
    return problems


def is_sql_ready(lead: Lead, qualification: Qualification | None) -> bool:
    """The gate's yes to "Move to SQL": the lead page offers the button only then."""
    return not sql_problems(lead, qualification or Qualification(lead=lead))


HANDOFF_FIELDS = {
    "company_background": gettext_lazy("Describe the company's background and fit."),
    "contacts_org_chart": gettext_lazy("List the contacts and the org chart."),
    "pain_points": gettext_lazy("Describe the pain points and business context."),
    "engagement_history": gettext_lazy("Summarise the engagement history."),
    "qualification_notes": gettext_lazy("Add the qualification notes (BANT/MEDDIC)."),
    "recommended_next_step": gettext_lazy("Recommend the next step."),
}


def handoff_problems(
    lead: Lead, package: Mapping[str, Any], *, now: datetime.datetime | None = None
) -> list[Problem]:
    """A hand-off package is complete or it is refused, with everything missing named."""
    now = now or timezone.now()
    problems = []
    if lead.status != Lead.Status.SQL:
        problems.append(
            Problem("not_sql", "status", _("Qualify the lead (SQL) before handing it off."))
        )
    for field, message in HANDOFF_FIELDS.items():
        if is_blank(package.get(field)):
            problems.append(Problem("required", field, str(message)))
    ae = package.get("to_user")
    if ae is None:
        problems.append(Problem("required", "to_user", _("Choose the account executive.")))
    elif not (ae.is_active and ae.is_ae):
        problems.append(
            Problem("not_an_ae", "to_user", _("Hand off to an active account executive."))
        )
    meeting = package.get("discovery_meeting_at")
    if meeting is None:
        problems.append(
            Problem(
                "required", "discovery_meeting_at", _("Book the discovery meeting with the AE.")
            )
        )
    elif meeting <= now:
        problems.append(
            Problem(
                "in_the_past",
                "discovery_meeting_at",
                _("The discovery meeting must be in the future."),
            )
        )
    return problems


CRITERIA_LABELS = {
    "budget": gettext_lazy("Budget confirmed, or a path to budget"),
    "authority": gettext_lazy("Authority identified (economic buyer or decision unit)"),
    "need": gettext_lazy("Need validated (problem, cost of inaction, why now)"),
    "timeline": gettext_lazy("Timeline defined (forcing event and target date)"),
    "decision": gettext_lazy("Decision process understood"),
}
# The criterion as a sentence names it ("Budget is marked confirmed, but ...").
CRITERIA_NAMES = {
    "budget": gettext_lazy("Budget"),
    "authority": gettext_lazy("Authority"),
    "need": gettext_lazy("Need"),
    "timeline": gettext_lazy("Timeline"),
    "decision": gettext_lazy("Decision process"),
}
CRITERIA_HINTS = {
    "budget": gettext_lazy("Confirm the budget or the path to it, with evidence."),
    "authority": gettext_lazy("Name the economic buyer or decision unit, with evidence."),
    "need": gettext_lazy("Validate the business need, with evidence."),
    "timeline": gettext_lazy("Define the forcing event and target date, with evidence."),
    "decision": gettext_lazy(
        "Map who decides, on what criteria, by when, against whom, with evidence."
    ),
}


@dataclass(frozen=True)
class Check:
    """One line of the readiness checklist: met or not, and why."""

    code: str
    field: str
    label: str
    met: bool
    message: str

    def as_problem(self) -> Problem:
        return Problem(self.code, self.field, self.message)


class _Unread:
    """The hand-off was not read by the caller: the gate reads it."""


UNREAD = _Unread()


def conversion_checklist(
    lead: Lead, qualification: Qualification | None, *, handoff: Handoff | None | _Unread = UNREAD
) -> list[Check]:
    """Everything on the lead's side of the conversion gate, met or not. A caller that
    read the current hand-off already (the conversion does) passes it in.

    The opportunity's own required fields (amount, close date, ...) are checked against
    the wizard's input by `opportunities.conversion.input_problems`.
    """
    q = qualification or Qualification(lead=lead)
    checks = [
        Check(
            "not_sql",
            "status",
            _("Lead is sales-qualified (SQL)"),
            lead.status == Lead.Status.SQL,
            _("Only an SQL lead converts; this one is %(status)s.")
            % {"status": lead.get_status_display()},
        )
    ]
    for criterion in Qualification.CRITERIA:
        checks.append(
            Check(
                f"{criterion}_unconfirmed",
                f"{criterion}_status",
                str(CRITERIA_LABELS[criterion]),
                q.is_confirmed(criterion),
                _criterion_hint(q, criterion, str(CRITERIA_HINTS[criterion])),
            )
        )
    # A recycled lead starts over: only a hand-off made since its latest reopening counts.
    if isinstance(handoff, _Unread):
        handoff = current_handoff(lead)
    checks.append(
        Check(
            "no_handoff",
            "handoff",
            _("Handed off to an AE with the full package"),
            handoff is not None,
            _("The SDR hands the lead off to an AE first.")
            if handoff is not None or latest_reopening(lead) is None
            else _(
                "The SDR hands the lead off to an AE: it was reopened, so a hand-off from "
                "before does not count."
            ),
        )
    )
    # An opportunity exists only after a meaningful discovery conversation, in this pass.
    checks.append(
        Check(
            "discovery_not_held",
            "discovery_held_at",
            _("Discovery call held by the AE"),
            handoff is not None and handoff.discovery_held_at is not None,
            _("Record the discovery call before converting."),
        )
    )
    checks.append(
        Check(
            "contact_unreachable",
            "email",
            _("The contact has an e-mail address"),
            not is_blank(lead.email),
            _("Add the contact's e-mail: contacts are matched on it, never duplicated."),
        )
    )
    return checks


def _reopenings(lead_ref: Any) -> QuerySet[LeadTransition]:
    """The lead's returns from nurture or rejection to MQL: each starts a new pass."""
    return LeadTransition.objects.filter(
        lead=lead_ref,
        to_status=Lead.Status.MQL,
        from_status__in=(Lead.Status.NURTURE, Lead.Status.REJECTED),
    )


def latest_reopening(lead: Lead) -> datetime.datetime | None:
    """When the lead last came back from nurture or rejection (None: it never did)."""
    if not lead.pk:
        return None
    return (
        _reopenings(lead)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def handoffs_this_pass(lead: Lead) -> QuerySet[Handoff]:
    """The lead's hand-offs made since its latest reopening, newest first: a hand-off
    and a discovery call from before a reopening belong to an earlier pass."""
    earlier_pass = _reopenings(OuterRef("lead")).filter(created_at__gte=OuterRef("created_at"))
    return (
        Handoff.objects.filter(lead=lead)
        .filter(~Exists(earlier_pass))
        .order_by("-created_at", "-id")
    )


def current_handoff(lead: Lead) -> Handoff | None:
    """The hand-off this pass through the funnel converts on, if there is one yet."""
    if not lead.pk:
        return None
    return handoffs_this_pass(lead).select_related("from_user", "to_user").first()


def conversion_problems(
    lead: Lead, qualification: Qualification | None, *, handoff: Handoff | None | _Unread = UNREAD
) -> list[Problem]:
    """Every reason on the lead's side that it cannot become an opportunity yet."""
    checks = conversion_checklist(lead, qualification, handoff=handoff)
    return [c.as_problem() for c in checks if not c.met]


def unmet_criteria(problems: list[Problem]) -> list[str]:
    """The five-criteria problems among `problems`: the only ones an override may waive."""
    codes = {f"{c}_unconfirmed" for c in Qualification.CRITERIA}
    return [p.code for p in problems if p.code in codes]
