"""Browser forms for RevOps: they parse input into Python values; `sla.configuration`
decides what is valid (the same rules as the API) and its problems come back as field
errors."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from typing import Any

from babel import Locale, UnknownLocaleError
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.exceptions import Problem
from crm.models import Team
from crm.web.forms import ReadOnlyCapable
from leads.models import Segment, Source
from sla.configuration import START_EVENTS, STOP_EVENTS, supported_countries
from sla.models import BusinessCalendar, SlaPolicy

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
ESCALATE_TO = [("", "—"), ("manager", _("Manager")), ("revops", _("RevOps"))]
DELAY_UNITS = [("minutes", _("minutes")), ("hours", _("hours")), ("days", _("days"))]
_DELAY_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
ESCALATION_ROWS = 3


def style_widgets(form: forms.Form) -> None:
    """Bootstrap classes on every widget, so templates render fields plainly."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = css


class SettingsForm(ReadOnlyCapable, forms.Form):
    """A form over SLA settings: RevOps edit it, managers see it read-only."""


class PolicyForm(SettingsForm):
    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("A short, permanent identifier, e.g. “first-contact”. Reports use it."),
    )
    name = forms.CharField(label=_("Name"), max_length=150)
    start_event = forms.ChoiceField(
        label=_("The clock starts when"),
        choices=[(e.value, e.label) for e in START_EVENTS],
    )
    stop_event = forms.ChoiceField(
        label=_("It stops when"),
        choices=[(e.value, e.label) for e in STOP_EVENTS],
    )
    target_value = forms.IntegerField(label=_("Target"), min_value=1)
    target_unit = forms.ChoiceField(label=_("Unit"), choices=SlaPolicy.Unit.choices)
    warn_at_percent = forms.IntegerField(
        label=_("Warn at"),
        min_value=1,
        max_value=99,
        help_text=_("Percent of the target, e.g. 75: the owner is warned with a quarter left."),
    )
    calendar = forms.ModelChoiceField(
        label=_("Business calendar"),
        queryset=BusinessCalendar.objects.order_by("name"),
        required=False,
        empty_label=_("None: count round the clock"),
        help_text=_("Business hours and days count only working time on this calendar."),
    )
    applies_to_sources = forms.MultipleChoiceField(
        label=_("Sources"),
        choices=Source.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    applies_to_segments = forms.MultipleChoiceField(
        label=_("Segments"),
        choices=Segment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    applies_to_teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(
        label=_("Active: start this clock for new leads"),
        required=False,
    )
    replan_running = forms.BooleanField(
        label=_("Re-plan running timers"),
        required=False,
        help_text=_(
            "Recompute the warning and due time of every running timer of this policy from "
            "its own start, with the new target. Left unticked, running timers keep the "
            "target they started with."
        ),
    )

    def __init__(self, *args: Any, policy: SlaPolicy | None = None, **kwargs: Any) -> None:
        self.policy = policy
        chain = list(policy.escalation_chain or []) if policy else []
        if policy is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": policy.name,
                "start_event": policy.start_event,
                "stop_event": policy.stop_event,
                "target_value": policy.target_value,
                "target_unit": policy.target_unit,
                "warn_at_percent": policy.warn_at_percent,
                "calendar": policy.calendar_id,
                "applies_to_sources": policy.applies_to_sources,
                "applies_to_segments": policy.applies_to_segments,
                "applies_to_teams": [t.pk for t in policy.applies_to_teams.all()],
                "is_active": policy.is_active,
            }
        kwargs.setdefault("initial", {}).setdefault("warn_at_percent", 75)
        kwargs["initial"].setdefault("is_active", True)
        super().__init__(*args, **kwargs)
        self.escalation_errors: list[str] = []
        if policy is not None:
            del self.fields["key"]
        else:
            del self.fields["replan_running"]
        self.escalation_rows = max(ESCALATION_ROWS, len(chain))
        for index in range(1, self.escalation_rows + 1):
            step = chain[index - 1] if index <= len(chain) else {}
            value, unit = _split_minutes(step.get("after_minutes"))
            self.fields[f"esc_{index}_to"] = forms.ChoiceField(
                label=_("Level %(n)d: tell") % {"n": index},
                choices=ESCALATE_TO,
                required=False,
                initial=step.get("to", ""),
            )
            self.fields[f"esc_{index}_after"] = forms.IntegerField(
                label=_("after"), min_value=0, required=False, initial=value
            )
            self.fields[f"esc_{index}_unit"] = forms.ChoiceField(
                label=_("unit"), choices=DELAY_UNITS, required=False, initial=unit
            )
        style_widgets(self)

    def add_problems(self, problems: Iterable[Problem]) -> None:
        """Field problems on their fields, escalation problems beside the escalation rows
        (where the page shows them); `crm.web.forms.submit` calls this."""
        for problem in problems:
            name = problem.field or ""
            if name.startswith("escalation_chain"):
                self.escalation_errors.append(str(problem.message))
                continue
            self.add_error(name if name in self.fields else None, str(problem.message))

    def escalation_fields(self) -> list[tuple[int, Any, Any, Any]]:
        return [
            (i, self[f"esc_{i}_to"], self[f"esc_{i}_after"], self[f"esc_{i}_unit"])
            for i in range(1, self.escalation_rows + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        chain = []
        for index in range(1, self.escalation_rows + 1):
            to = data.get(f"esc_{index}_to")
            if not to:
                continue
            after = data.get(f"esc_{index}_after")
            if after is None:
                self.escalation_errors.append(
                    str(_("Level %(n)d: say after how long.") % {"n": index})
                )
                continue
            unit = data.get(f"esc_{index}_unit") or "minutes"
            chain.append({"to": to, "after_minutes": after * _DELAY_MINUTES[unit]})
        data["escalation_chain"] = chain
        if self.escalation_errors:
            raise forms.ValidationError(_("Check the escalation chain."))
        return data

    def policy_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data[name]
            for name in (
                "name",
                "start_event",
                "stop_event",
                "target_value",
                "target_unit",
                "warn_at_percent",
                "calendar",
                "applies_to_sources",
                "applies_to_segments",
                "escalation_chain",
                "is_active",
            )
        }
        values["applies_to_teams"] = list(data["applies_to_teams"])
        if "key" in self.fields:
            values["key"] = data["key"]
        return values


def _split_minutes(minutes: Any) -> tuple[int | None, str]:
    if not isinstance(minutes, int):
        return None, "hours"
    if minutes and minutes % 1440 == 0:
        return minutes // 1440, "days"
    if minutes and minutes % 60 == 0:
        return minutes // 60, "hours"
    return minutes, "minutes"


def country_choices() -> list[tuple[str, Any]]:
    try:
        territories = Locale.parse((get_language() or "en").replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        territories = Locale("en").territories
    names = sorted(
        ((code, f"{territories.get(code, code)} ({code})") for code in supported_countries()),
        key=lambda pair: pair[1],
    )
    return [("", _("No public holidays")), *names]


class CalendarForm(SettingsForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.ChoiceField(label=_("Time zone"))
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    work_starts = forms.TimeField(
        label=_("Working day starts"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    work_ends = forms.TimeField(
        label=_("Working day ends"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    holiday_country = forms.ChoiceField(label=_("Public holidays of"), required=False)
    holiday_subdivision = forms.CharField(
        label=_("Region"),
        max_length=10,
        required=False,
        help_text=_("Optional: a state or province code with its own holidays, e.g. “JK”."),
    )

    def __init__(self, *args: Any, calendar: BusinessCalendar | None = None, **kwargs: Any) -> None:
        if calendar is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": calendar.name,
                "time_zone": calendar.time_zone,
                "working_days": calendar.working_days,
                "work_starts": calendar.work_starts,
                "work_ends": calendar.work_ends,
                "holiday_country": calendar.holiday_country,
                "holiday_subdivision": calendar.holiday_subdivision,
            }
        kwargs.setdefault(
            "initial",
            {
                "time_zone": "UTC",
                "working_days": [0, 1, 2, 3, 4],
                "work_starts": datetime.time(9),
                "work_ends": datetime.time(17),
            },
        )
        super().__init__(*args, **kwargs)
        self._choice_field("time_zone").choices = [
            (z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones())
        ]
        self._choice_field("holiday_country").choices = country_choices()
        style_widgets(self)

    def _choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)  # declared so above
        return field

    def calendar_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class HolidayForm(forms.Form):
    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    name = forms.CharField(label=_("Name"), max_length=100)

    prefix = "holiday"  # shares the page with the calendar form's own "name"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
