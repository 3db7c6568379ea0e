"""Browser forms for leads. They parse and type-check input only; the business rules
(minimum data, rationale required, complete hand-off package, ...) live in the services and
the gate, whose `Problem`s the views put back onto these forms field by field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.countries import country_choices, country_names
from crm.models import User
from leads import selectors
from leads.gate import HANDOFF_FIELDS
from leads.models import (
    Activity,
    CriterionStatus,
    Handoff,
    Lead,
    LeadStatus,
    Qualification,
    RejectionReason,
    Source,
)
from leads.selectors import QueueFilter
from leads.services import EDITABLE_FIELDS, QUALIFICATION_FIELDS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _model_fields(model: type[models.Model], names: Iterable[str]) -> dict[str, forms.Field]:
    return forms.fields_for_model(model, fields=list(names))


class StyledForm(forms.Form):
    """Bootstrap classes on every widget. Fields in `marked_required` are required by a
    service rule rather than by the form: they get the asterisk, the service has the say."""

    marked_required: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_fields()
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            # Read by templates/leads/_field.html for the asterisk.
            show_required = self.is_marked_required(name)
            field.show_required = show_required  # type: ignore[attr-defined]  # a template flag
            if show_required:
                widget.attrs["aria-required"] = "true"

    def add_fields(self) -> None:
        """Hook for fields built at run time (from a model or the database)."""

    def is_marked_required(self, name: str) -> bool:
        return name in self.marked_required or self.fields[name].required


class VersionedForm(StyledForm):
    """Carries what the user loaded: the row's version, and when (to list later changes)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of `form` whose choices are set at run time."""
    return cast(forms.ChoiceField, form.fields[name])


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _datetime_local() -> forms.DateTimeInput:
    # Parsed by DateTimeField in the active zone, which the middleware sets per user.
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


# --- queue filters ----------------------------------------------------------------------------


class LeadFilterForm(StyledForm):
    OPEN = selectors.OPEN_STATUSES
    ALL = selectors.ALL_STATUSES
    UNASSIGNED = selectors.UNASSIGNED
    OVERDUE = selectors.OVERDUE
    DUE_TODAY = selectors.DUE_TODAY

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("Company, name or e-mail")}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Open (New–SQL)")), (ALL, _("All statuses")), *LeadStatus.choices],
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("All sources")), *Source.choices]
    )
    due = forms.ChoiceField(
        label=_("SLA"),
        required=False,
        choices=[("", _("Any SLA")), (OVERDUE, _("Overdue")), (DUE_TODAY, _("Due today"))],
    )

    def __init__(self, *args: Any, owners: list[User] | None = None, **kwargs: Any) -> None:
        self.owners = owners
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        if self.owners is not None:
            self.fields["owner"] = forms.ChoiceField(
                label=_("Owner"),
                required=False,
                choices=[
                    ("", _("All owners")),
                    (self.UNASSIGNED, _("Unassigned")),
                    *((str(u.pk), str(u)) for u in self.owners),
                ],
            )

    def value(self, name: str) -> str:
        """The cleaned value, or empty when the parameter was absent or invalid."""
        return (getattr(self, "cleaned_data", {}) or {}).get(name) or ""

    def queue_filter(self) -> QueueFilter:
        """The valid parameters as the queue selector takes them (invalid ones ignored)."""
        return QueueFilter(
            status=self.value("status") or self.OPEN,
            source=self.value("source"),
            owner=self.value("owner"),
            due=self.value("due"),
            search=self.value("q"),
        )

    def is_narrowed(self) -> bool:
        """True when the queue shows less than the default (every open lead)."""
        return any(self.value(name) for name in ("q", "source", "owner", "due")) or (
            self.value("status") not in ("", self.OPEN)
        )


# --- lead intake and editing ------------------------------------------------------------------

LEAD_SECTIONS = (
    (_("Company"), ("company_name", "company_domain", "industry", "employee_count", "segment")),
    (_("Region"), ("territory", "country")),
    (_("Contact"), ("first_name", "last_name", "job_title", "email", "phone")),
    (_("Attribution"), ("source", "campaign", "score")),
    (_("Outcome"), ("lost_to_competitor",)),
)
OUTCOME = frozenset({"lost_to_competitor"})


class LeadForm(VersionedForm):
    """The person-editable fields of a lead (leads.services.EDITABLE_FIELDS)."""

    # Checked by leads.gate.intake_problems, so its message is the one shown.
    marked_required = frozenset({"company_name", "last_name", "source"})

    def __init__(self, *args: Any, intake: bool = False, **kwargs: Any) -> None:
        # At intake the outcome fields (lost to a competitor) make no sense yet.
        self.field_names = tuple(f for f in EDITABLE_FIELDS if not (intake and f in OUTCOME))
        self.intake = intake
        super().__init__(*args, **kwargs)
        if intake:
            # Sent by the duplicate warning's "Create anyway" button, never rendered as a
            # field: a likely duplicate is saved only once the person has seen it.
            self.fields["confirm_duplicate"] = forms.BooleanField(
                required=False, widget=forms.HiddenInput
            )

    def add_fields(self) -> None:
        for name, field in _model_fields(Lead, self.field_names).items():
            if name in self.marked_required:
                field.required = False
            if isinstance(field, forms.ChoiceField):
                # A model field's choices come out of the form field as a list of pairs.
                choices = cast("list[tuple[Any, Any]]", field.choices)
                if choices[0][0] == "":
                    blank = _("Choose…") if name in self.marked_required else "—"
                    field.choices = [("", blank), *choices[1:]]
            self.fields[name] = field
        self.fields["email"].help_text = _("An e-mail address or a phone number is required.")
        self.fields["country"] = self._country_field(self.fields["country"])
        self.fields["score"].initial = 0
        self.fields["score"].widget.attrs.update({"min": 0, "max": 100})

    def _country_field(self, typed: forms.Field) -> forms.ChoiceField:
        """A list of countries by name in the user's language, stored as the ISO code; a
        lead's code the list lacks (written before it) stays among the choices."""
        choices = country_choices()
        current = self.initial.get("country") or ""
        if current and current not in dict(choices):
            choices.append((current, current))
        return forms.ChoiceField(label=typed.label, required=False, choices=choices)

    def sections(self) -> list[tuple[StrOrPromise, list[forms.BoundField]]]:
        sections = [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in LEAD_SECTIONS
        ]
        return [(title, fields) for title, fields in sections if fields]

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.field_names}


# --- qualification ----------------------------------------------------------------------------

CRITERIA = (
    (
        "budget",
        _("Budget"),
        _("Confirmed, or a path to it: approval process, who controls it, next budget cycle."),
        ("budget_holder", "budget_cycle", "budget_approval_process"),
    ),
    (
        "authority",
        _("Authority"),
        _("The economic buyer or decision unit is named, not only the champion."),
        ("economic_buyer", "decision_unit"),
    ),
    (
        "need",
        _("Need"),
        _("The specific business problem, the cost of not solving it, why now."),
        ("need_problem", "need_cost_of_inaction", "need_why_now"),
    ),
    (
        "timeline",
        _("Timeline"),
        _("A forcing function and a target date."),
        ("timeline_forcing_event", "timeline_target_date"),
    ),
    (
        "decision",
        _("Decision process"),
        _("Who is involved, the criteria that matter, evaluation timeline, other vendors."),
        (
            "decision_people",
            "decision_criteria",
            "decision_evaluation_timeline",
            "decision_other_vendors",
        ),
    ),
)
# Moving to SQL needs these three (leads.gate.sql_problems); converting needs all five.
SQL_CRITERIA = ("need", "budget", "authority")


class QualificationForm(VersionedForm):
    """The five criteria: status, evidence and detail each, plus framework and notes."""

    def is_marked_required(self, name: str) -> bool:
        # Progress is saved as it comes: nothing in the panel is required on its own.
        return False

    def add_fields(self) -> None:
        for name, field in _model_fields(Qualification, QUALIFICATION_FIELDS).items():
            if name.endswith("_status"):
                field.widget = forms.RadioSelect(choices=CriterionStatus.choices)
            elif isinstance(field.widget, forms.Textarea):
                field.widget = _textarea(2)
            elif name == "timeline_target_date":
                field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            self.fields[name] = field
        self.fields["notes"].widget = _textarea(3)

    def criteria(self) -> list[dict[str, Any]]:
        """The form grouped per criterion, for the panel."""
        return [
            {
                "key": key,
                "label": label,
                "description": description,
                "status": self[f"{key}_status"],
                "evidence": self[f"{key}_evidence"],
                "details": [self[name] for name in details],
                "for_sql": key in SQL_CRITERIA,
                "has_errors": any(
                    self[name].errors for name in (f"{key}_status", f"{key}_evidence", *details)
                ),
            }
            for key, label, description, details in CRITERIA
        ]

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in QUALIFICATION_FIELDS}


# --- activities -------------------------------------------------------------------------------


class ActivityForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=Activity.Kind.choices, initial="call")
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Details"), required=False, widget=_textarea(2))
    occurred_at = forms.DateTimeField(
        label=_("Happened at"),
        required=False,
        widget=_datetime_local(),
        help_text=_("Leave empty for now."),
    )
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=_datetime_local())

    marked_required = frozenset({"subject"})

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        is_task = data["kind"] == Activity.Kind.TASK
        return {
            "kind": data["kind"],
            "subject": data["subject"],
            "body": data["body"],
            # A follow-up is planned (due); everything else happened (occurred).
            "occurred_at": None if is_task else data["occurred_at"],
            "due_at": data["due_at"] if is_task else None,
        }


# --- lifecycle actions ------------------------------------------------------------------------


class ActionForm(VersionedForm):
    """A one-click move (accept, move to SQL): only the version travels."""

    reason = forms.CharField(label=_("Note"), required=False, max_length=500)


class ReasonForm(VersionedForm):
    """Nurture, reopen: a reason is required (by the service)."""

    reason = forms.CharField(label=_("Reason"), required=False, widget=_textarea(2))
    marked_required = frozenset({"reason"})


class RejectForm(VersionedForm):
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    note = forms.CharField(
        label=_("Rationale"),
        required=False,
        widget=_textarea(3),
        help_text=_("Marketing reads this: say what was wrong with the lead."),
    )
    marked_required = frozenset({"reason", "note"})

    def add_fields(self) -> None:
        reasons = RejectionReason.objects.filter(is_active=True).order_by("position", "label")
        _choice_field(self, "reason").choices = [
            ("", _("Choose a reason…")),
            *((r.code, r.label) for r in reasons),
        ]


class DisqualifyForm(VersionedForm):
    """Like rejecting: an active reason from RevOps' list and a written rationale."""

    reason = forms.ChoiceField(label=_("Reason"), required=False)
    note = forms.CharField(
        label=_("Rationale"),
        required=False,
        widget=_textarea(3),
        help_text=_("Marketing reads this: say why this lead will never buy."),
    )
    marked_required = frozenset({"reason", "note"})

    def add_fields(self) -> None:
        _choice_field(self, "reason").choices = [
            ("", _("Choose a reason…")),
            *((r.code, r.label) for r in selectors.active_disqualification_reasons()),
        ]


class AssignForm(StyledForm):
    owner = forms.TypedChoiceField(label=_("New owner"), coerce=int)
    reason = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        self.owners = {u.pk: u for u in owners}
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        _choice_field(self, "owner").choices = [
            ("", _("Choose an SDR…")),
            *((u.pk, str(u)) for u in self.owners.values()),
        ]

    def clean_owner(self) -> User:
        return self.owners[self.cleaned_data["owner"]]


class DiscoveryForm(StyledForm):
    held_at = forms.DateTimeField(
        label=_("Held at"),
        required=False,
        widget=_datetime_local(),
        help_text=_("Leave empty for now."),
    )
    rating = forms.TypedChoiceField(
        label=_("Hand-off quality"),
        coerce=int,
        choices=[(n, str(n)) for n in range(1, 6)],
        widget=forms.RadioSelect,
        help_text=_("1 = no useful context, 5 = everything I needed."),
    )
    repeated_discovery = forms.TypedChoiceField(
        label=_("Did you have to repeat discovery questions?"),
        coerce=lambda value: value == "yes",
        choices=[("no", pgettext_lazy("answer", "No")), ("yes", pgettext_lazy("answer", "Yes"))],
        widget=forms.RadioSelect,
    )


class HandoffForm(VersionedForm):
    """The hand-off package. Completeness is the gate's call (leads.gate.handoff_problems),
    so every field is optional here and each missing one is named by the service."""

    to_user = forms.TypedChoiceField(label=_("Account executive"), coerce=int, required=False)
    discovery_meeting_at = forms.DateTimeField(
        label=_("Discovery meeting"), required=False, widget=_datetime_local()
    )
    marked_required = frozenset({*HANDOFF_FIELDS, "to_user", "discovery_meeting_at"})

    def __init__(self, *args: Any, aes: list[User], **kwargs: Any) -> None:
        self.aes = {u.pk: u for u in aes}
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        for name, field in _model_fields(Handoff, HANDOFF_FIELDS).items():
            field.required = False
            field.widget = _textarea(3)
            self.fields[name] = field
        _choice_field(self, "to_user").choices = [
            ("", _("Choose an account executive…")),
            *(
                (
                    u.pk,
                    _("%(name)s · %(count)s open hand-offs")
                    % {"name": u, "count": getattr(u, "open_handoffs", 0)},
                )
                for u in self.aes.values()
            ),
        ]

    def package_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in HANDOFF_FIELDS]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "to_user": self.aes.get(data["to_user"]) if data.get("to_user") else None,
            "package": {name: data.get(name) or "" for name in HANDOFF_FIELDS},
            "discovery_meeting_at": data.get("discovery_meeting_at"),
            "expected_version": data.get("version"),
        }


# --- merge ------------------------------------------------------------------------------------


class MergePickForm(StyledForm):
    """Which lead to merge into this one: a lead number, or a name, company or e-mail."""

    q = forms.CharField(
        label=_("Lead number, name, company or e-mail"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("e.g. 1042 or budi@acme.com")}),
    )


class MergeForm(StyledForm):
    """The side-by-side chooser: for each field whose values differ, whose value the
    merged lead keeps (`choice_<field>`), plus why and the versions both pages showed."""

    CHOICES = (("survivor", _("This lead")), ("duplicate", _("The duplicate")))

    reason = forms.CharField(
        label=_("Why merge?"),
        required=False,
        max_length=2000,
        widget=_textarea(2),
        help_text=_("Kept with the merge on both leads' history."),
    )
    survivor_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    duplicate_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(
        self, *args: Any, survivor: Lead, duplicate: Lead, fields: Iterable[str], **kwargs: Any
    ) -> None:
        self.survivor, self.duplicate = survivor, duplicate
        self.choice_names = tuple(fields)
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        for name in self.choice_names:
            # Default: keep this lead's value, unless it has none and the duplicate has one.
            mine, theirs = getattr(self.survivor, name), getattr(self.duplicate, name)
            blank = mine in (None, "") and theirs not in (None, "")
            self.fields[f"choice_{name}"] = forms.ChoiceField(
                label=selectors.field_label(name),
                choices=self.CHOICES,
                initial="duplicate" if blank else "survivor",
                widget=forms.RadioSelect,
                # Left unanswered, the service keeps this lead's value (or fills a blank).
                required=False,
            )

    def rows(self) -> list[dict[str, Any]]:
        """One row per differing field: its label, both values, and its radio buttons."""
        rows = []
        for name in self.choice_names:
            bound = self[f"choice_{name}"]
            radios = list(bound)
            rows.append(
                {
                    "name": name,
                    "label": bound.label,
                    "survivor": merge_value_shown(self.survivor, name),
                    "duplicate": merge_value_shown(self.duplicate, name),
                    "survivor_radio": radios[0],
                    "duplicate_radio": radios[1],
                    "errors": bound.errors,
                }
            )
        return rows

    def add_problems(self, problems: Iterable[Any]) -> None:
        """A service problem on `values.<field>` goes onto that field's choice."""
        for problem in problems:
            name = (problem.field or "").removeprefix("values.")
            field = f"choice_{name}" if f"choice_{name}" in self.fields else None
            if problem.field in self.fields:
                field = problem.field
            self.add_error(field, str(problem.message))

    def service_values(self) -> dict[str, str]:
        chosen = {name: self.cleaned_data.get(f"choice_{name}") for name in self.choice_names}
        return {name: choice for name, choice in chosen.items() if choice}


def merge_value_shown(lead: Lead, name: str) -> Any:
    """A lead's field as the merge page shows it: the choice's label for coded fields, a
    country's name in the reader's language for its code ("Indonesia", not "ID"). Only
    what is shown: the page posts which lead's value to keep, so the code is what is kept."""
    if name == "country" and lead.country:
        return country_names().get(lead.country, lead.country)
    display = getattr(lead, f"get_{name}_display", None)
    return display() if callable(display) else getattr(lead, name)
