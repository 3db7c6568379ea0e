"""The import's browser forms: the upload, the mapping step (a field per column, the date
format, the file's source and status values, defaults) and RevOps' setting.

The mapping form is built from the job: one select per column of the file, one per
source or status value found in the file's first rows. It parses; `imports.services`
judges (`config_problems`), and its problems come back onto these fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.exceptions import Problem
from crm.models import Team, User
from imports.columns import DATE_FORMATS, TARGETS, normalized, source_index, status_index
from imports.config import ImportConfig
from imports.models import ImportJob, OnDuplicate
from imports.rules import chooses_owners
from leads.models import Source
from leads.services.bulk_rows import IMPORT_STATUSES

_NOT_IMPORTED = ("", _("— not imported —"))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 or Windows-1252, separated by commas, semicolons or tabs, the first row naming "
            "the columns; up to 1,000,000 rows or 200 MB. Salesforce, HubSpot and Pipedrive "
            "exports are read as they are."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "class": "form-control"}),
    )


def _styled(field: forms.Field) -> forms.Field:
    widget = field.widget
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()
    return field


class MappingForm(forms.Form):
    """See the module docstring. `values` lists (kind, value) pairs found in the file.
    For someone who may not give the leads to others (`rules.chooses_owners`, `by`: an
    SDR) there is no owner column, default owner or team to choose: the service would
    refuse them."""

    def __init__(
        self,
        *args: Any,
        job: ImportJob,
        values: list[tuple[str, str]],
        by: User | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        self.values = values
        self.chooses_owners = by is None or chooses_owners(by)
        targets = [_NOT_IMPORTED, *TARGETS.items()]
        if not self.chooses_owners:
            targets = [(key, label) for key, label in targets if key != "owner"]
        for index, header in enumerate(job.headers):
            proposed = job.columns[index] if index < len(job.columns) else ""
            if proposed == "owner" and not self.chooses_owners:
                proposed = ""
            self.fields[f"col_{index}"] = _styled(
                forms.ChoiceField(
                    label=header or _("Column %(n)d") % {"n": index + 1},
                    choices=targets,
                    required=False,
                    initial=proposed,
                    widget=forms.Select(attrs={"class": "import-target"}),
                )
            )
        created = job.columns.index("created_at") if "created_at" in job.columns else None
        formats = job.date_formats or {}
        detected = formats.get(str(created), next(iter(formats.values()), "iso"))
        self.fields["date_format"] = _styled(
            forms.ChoiceField(
                label=_("Dates in the created-date column are written"),
                choices=list(DATE_FORMATS.items()),
                initial=detected,
            )
        )
        maps = job.value_maps or {}
        choices = {
            "source": [("", _("— not a source: the row fails —")), *Source.choices],
            "status": [
                ("", _("— refuse the row —")),
                *[(s.value, s.label) for s in IMPORT_STATUSES],
            ],
        }
        known = {"source": source_index(), "status": status_index()}
        for n, (kind, raw) in enumerate(values):
            proposed = known[kind].get(normalized(raw), "")
            self.fields[f"value_{n}"] = _styled(
                forms.ChoiceField(
                    label=raw,
                    choices=choices[kind],
                    required=False,
                    initial=maps.get(kind, {}).get(raw, proposed),
                )
            )
        self.fields["default_source"] = _styled(
            forms.ChoiceField(
                label=_("Source of rows without one"),
                choices=[("", _("— none: such rows fail —")), *Source.choices],
                required=False,
                initial=job.default_source,
            )
        )
        self.fields["default_campaign"] = _styled(
            forms.CharField(
                label=_("Campaign of rows without one"),
                required=False,
                max_length=150,
                initial=job.default_campaign,
            )
        )
        if self.chooses_owners:
            self._owner_fields()
        self.fields["on_duplicate"] = _styled(
            forms.ChoiceField(
                label=_("When a person already has a lead"),
                choices=OnDuplicate.choices,
                widget=forms.RadioSelect,
                initial=job.on_duplicate,
            )
        )
        self.fields["dry_run"] = _styled(
            forms.BooleanField(
                label=_("Dry run: check every row and write nothing"),
                required=False,
                initial=job.dry_run,
            )
        )

    def _owner_fields(self) -> None:
        job = self.job
        people = User.objects.filter(
            is_active=True, role__in=(User.Role.SDR, User.Role.MANAGER)
        ).order_by("first_name", "last_name")
        self.fields["default_owner"] = _styled(
            forms.ModelChoiceField(
                label=_("Give every new lead to"),
                queryset=people,
                required=False,
                empty_label=_("— the routing rules decide —"),
                initial=job.default_owner_id,
            )
        )
        self.fields["default_team"] = _styled(
            forms.ModelChoiceField(
                label=_("Or round robin within the team"),
                queryset=Team.objects.order_by("name"),
                required=False,
                empty_label=_("— no —"),
                initial=job.default_team_id,
            )
        )

    @property
    def maps_created_date(self) -> bool:
        """A column is mapped to the created date, as the page stands (posted or saved)."""
        if self.is_bound:
            names = (f"col_{i}" for i in range(len(self.job.headers)))
            return "created_at" in (self.data.get(name) for name in names)
        return "created_at" in self.job.columns

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{i}"] for i in range(len(self.job.headers))]

    def value_fields(self) -> list[forms.BoundField]:
        return [self[f"value_{n}"] for n in range(len(self.values))]

    def config(self) -> ImportConfig:
        """The mapping as the service takes it (call after `is_valid`)."""
        data = self.cleaned_data
        columns = [data.get(f"col_{i}", "") for i in range(len(self.job.headers))]
        date_formats = dict(self.job.date_formats or {})
        if "created_at" in columns:
            date_formats[str(columns.index("created_at"))] = data["date_format"]
        value_maps: dict[str, dict[str, str]] = {}
        for n, (kind, raw) in enumerate(self.values):
            value = data.get(f"value_{n}", "")
            if value or kind == "status":  # a status left blank refuses its rows
                value_maps.setdefault(kind, {})[raw] = value
        return ImportConfig(
            columns=columns,
            date_formats=date_formats,
            value_maps=value_maps,
            default_source=data.get("default_source", ""),
            default_campaign=data.get("default_campaign", ""),
            default_owner=data.get("default_owner"),
            default_team=data.get("default_team"),
            on_duplicate=data.get("on_duplicate", OnDuplicate.SKIP),
            dry_run=bool(data.get("dry_run")),
        )

    def add_problems(self, problems: list[Problem]) -> None:
        """The service's problems on their fields: a column's on its select, the rest above."""
        for problem in problems:
            field = problem.field or ""
            if field.startswith("columns."):
                field = f"col_{field.split('.', 1)[1]}"
            self.add_error(field if field in self.fields else None, str(problem.message))


class SettingsForm(forms.Form):
    sdrs_may_import = forms.BooleanField(
        label=_("SDRs may import their own leads"),
        required=False,
        help_text=_(
            "Leads an SDR imports are theirs, and a file can update only leads they work. "
            "Managers and RevOps may always import."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
