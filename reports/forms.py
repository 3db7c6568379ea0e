"""The filter bar every report shares (dashboard, report pages, drill-downs, CSV, API),
and the RevOps settings forms (benchmarks, MQL targets).

It only parses: which period, team, owner and source. What the reader may see at all is
decided by the querysets' `visible_to`; the team and owner lists offered here are the
reader's own scope so nobody is offered a filter that can only come back empty.
"""

from __future__ import annotations

import datetime
from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet
from django.forms import BaseModelFormSet, modelformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.dates import EARLIEST, LATEST, is_recordable
from crm.exceptions import Problem
from crm.models import Team, User
from leads.models import Source
from reports import formatting
from reports.filters import DEFAULT_PERIOD, PERIOD_CHOICES, ReportFilters, period_dates, user_zone
from reports.models import BenchmarkRange, ReportPolicy
from reports.services import MAX_MQL_TARGET, RangeEdit, TargetEdit, ThresholdsEdit

MAX_PERIOD_DAYS = 3 * 366


def people_in_scope(user: User) -> QuerySet[User]:
    """Whom `user` may filter reports by: RevOps everyone, a manager their people."""
    people = User.objects.filter(is_active=True).exclude(role__in=[User.Role.ADMIN])
    if user.sees_everything:
        people = people.exclude(role=User.Role.REVOPS)
    elif user.is_manager:
        people = people.filter(Q(manager=user) | Q(team__manager=user) | Q(pk=user.pk))
    else:
        people = people.filter(pk=user.pk)
    return people.order_by("first_name", "last_name", "username")


def teams_in_scope(user: User) -> QuerySet[Team]:
    if user.sees_everything:
        return Team.objects.order_by("name")
    if user.is_manager:
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()


def source_choices() -> list[tuple[str, Any]]:
    return [("", _("All sources")), *Source.choices]


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False, choices=PERIOD_CHOICES)
    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=Team.objects.none(), empty_label=_("All teams")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), required=False, queryset=User.objects.none(), empty_label=_("Everyone")
    )
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(self, data: Any = None, *, user: User, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.user = user
        self.can_filter_people = user.has_perm("reports.filter_by_people")
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams_in_scope(user)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people_in_scope(user)
        cast(forms.ChoiceField, self.fields["source"]).choices = source_choices()
        if not self.can_filter_people:
            del self.fields["team"]
            del self.fields["owner"]
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )

    def _bounded(self, name: str) -> datetime.date | None:
        """A date inside the years reports can hold; 0001-01-01 or 9999-12-31 would overflow
        the day arithmetic of a period, so they are a field error, not a 500."""
        value: datetime.date | None = self.cleaned_data.get(name)
        if value is not None and not is_recordable(value):
            raise forms.ValidationError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
                code="out_of_range",
            )
        return value

    def clean_start(self) -> datetime.date | None:
        return self._bounded("start")

    def clean_end(self) -> datetime.date | None:
        return self._bounded("end")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        elif start and end and (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("start", _("Choose a period of at most three years."))
        return data

    def filters(self) -> ReportFilters:
        """The filters asked for; any part that did not parse falls back to its default
        (the bar then shows the error next to it)."""
        tz = user_zone(self.user) if self.user.is_authenticated else datetime.UTC
        today = timezone.localdate(timezone.now(), tz)
        valid = self.is_valid()
        data = self.cleaned_data if valid else {}
        if not valid:
            # Keep the parts that did parse.
            data = {
                k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors
            }
        period = data.get("period") or ""
        start, end = data.get("start"), data.get("end")
        if period and period != "custom":
            start, end = period_dates(period, today)
        elif start or end:
            period = "custom"
            end = end or today
            start = start or end - datetime.timedelta(days=89)
            if start > end:
                start, end = period_dates(DEFAULT_PERIOD, today)
        else:
            period = DEFAULT_PERIOD
            start, end = period_dates(period, today)
        return ReportFilters(
            start=start,
            end=end,
            tz=tz,
            team=data.get("team"),
            owner=data.get("owner"),
            source=data.get("source") or None,
            period=period,
        )


# --- RevOps settings ----------------------------------------------------------------------------


class BenchmarkRangeForm(forms.ModelForm):
    """One source's typical conversion range; `overall` is the whole funnel's."""

    source = forms.ChoiceField(label=_("Source"))

    class Meta:
        model = BenchmarkRange
        fields = ["source", "low_percent", "high_percent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), ("overall", _("Overall (all sources)")), *Source.choices]
        current = self.instance.source if self.instance.pk else None
        if current and current not in dict(choices):
            choices.append((current, current))
        source = cast(forms.ChoiceField, self.fields["source"])
        source.choices = choices
        source.required = False
        for name, field in self.fields.items():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )
            if name != "source":
                field.widget.attrs.update({"step": "0.5", "min": "0", "max": "100"})

    def has_changed(self) -> bool:
        # A blank extra row is not a new range.
        return super().has_changed() and bool(self.data.get(self.add_prefix("source")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("low_percent"), data.get("high_percent")
        if low is not None and high is not None and low > high:
            self.add_error("high_percent", _("The upper end is below the lower end."))
        if not data.get("source") and not data.get("DELETE"):
            self.add_error("source", _("Choose a source."))
        return data


class ReportPolicyForm(forms.ModelForm):
    class Meta:
        model = ReportPolicy
        fields = ["pipeline_to_won_low", "pipeline_to_won_high"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({"class": "form-control form-control-sm", "step": "0.5"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("pipeline_to_won_low"), data.get("pipeline_to_won_high")
        if low is not None and high is not None and low > high:
            self.add_error("pipeline_to_won_high", _("The upper end is below the lower end."))
        return data

    def thresholds(self) -> ThresholdsEdit:
        """The thresholds as submitted (call after `is_valid()`)."""
        return ThresholdsEdit(
            pipeline_to_won_low=self.cleaned_data["pipeline_to_won_low"],
            pipeline_to_won_high=self.cleaned_data["pipeline_to_won_high"],
        )


class BaseBenchmarkRangeFormSet(BaseModelFormSet):
    """The benchmark table: every range, plus a blank row to add one."""

    def edits(self) -> list[RangeEdit]:
        """What the valid formset asks for, for `reports.services.benchmarks_update`:
        the changed, added and deleted rows (unchanged rows and the blank row left out)."""
        edits = []
        deleted = set(map(id, self.deleted_forms))
        for form in cast(list[BenchmarkRangeForm], self.forms):
            is_new = form.instance.pk is None
            if id(form) in deleted:
                if not is_new:
                    edits.append(_range_edit(form, delete=True))
            elif form.has_changed():
                edits.append(_range_edit(form, delete=False))
        return edits


def _range_edit(form: BenchmarkRangeForm, *, delete: bool) -> RangeEdit:
    instance, data = form.instance, form.cleaned_data
    return RangeEdit(
        benchmark_id=instance.pk,
        source=data.get("source") or instance.source,
        low_percent=data.get("low_percent", instance.low_percent),
        high_percent=data.get("high_percent", instance.high_percent),
        delete=delete,
    )


# The factory returns a subclass of `formset` (its stubs only say BaseModelFormSet).
BenchmarkRangeFormSet = cast(
    type[BaseBenchmarkRangeFormSet],
    modelformset_factory(
        BenchmarkRange,
        form=BenchmarkRangeForm,
        formset=BaseBenchmarkRangeFormSet,
        extra=1,
        can_delete=True,
    ),
)


# --- MQL targets ------------------------------------------------------------------------------


def target_field_name(month: datetime.date, source: str) -> str:
    return f"t_{month:%Y_%m}_{source}"


class MqlTargetGridForm(forms.Form):
    """A year of MQL targets: a number per month and source, blank for none."""

    def __init__(
        self,
        data: Any = None,
        *,
        year: int,
        targets: dict[tuple[datetime.date, str], int],
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.year = year
        self.months = [datetime.date(year, number, 1) for number in range(1, 13)]
        self.cells: dict[str, tuple[datetime.date, str]] = {}
        labels = dict(Source.choices)
        for month in self.months:
            for source in Source.values:
                name = target_field_name(month, source)
                self.cells[name] = (month, source)
                self.fields[name] = forms.IntegerField(
                    label=f"{labels[source]}, {formatting.month(month)}",
                    required=False,
                    min_value=0,
                    max_value=MAX_MQL_TARGET,
                    initial=targets.get((month, source)),
                    widget=forms.NumberInput(
                        attrs={
                            "class": "form-control form-control-sm text-end",
                            "min": "0",
                            "step": "1",
                            "inputmode": "numeric",
                        }
                    ),
                )

    def grid(self) -> list[tuple[datetime.date, list[Any]]]:
        """For the template: each month with its sources' fields, in the columns' order."""
        return [
            (month, [self[target_field_name(month, source)] for source in Source.values])
            for month in self.months
        ]

    def edits(self) -> list[TargetEdit]:
        """The cells changed from what was shown (call after `is_valid()`): only those, so
        two editors of different cells do not undo each other."""
        return [
            TargetEdit(*self.cells[name], self.cleaned_data[name])
            for name in self.changed_data
            if name in self.cells
        ]

    def add_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.add_error(None, str(problem.message))
