"""How to read one file: the mapping and defaults of an import, as the services, the run,
the forms and the API pass them around (kept apart so the run does not import the
services that queue it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.models import Team, User
from imports.models import ImportJob, OnDuplicate


@dataclass
class ImportConfig:
    """How to read a file: a target per column ("" for none), the date format of the
    created-date column, the file's picklist values mapped onto ours, and the defaults."""

    columns: list[str]
    date_formats: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    default_source: str = ""
    default_campaign: str = ""
    default_owner: User | None = None
    default_team: Team | None = None
    on_duplicate: str = OnDuplicate.SKIP
    dry_run: bool = False

    @classmethod
    def of(cls, job: ImportJob) -> ImportConfig:
        return cls(
            columns=list(job.columns),
            date_formats=dict(job.date_formats or {}),
            value_maps={k: dict(v) for k, v in (job.value_maps or {}).items()},
            default_source=job.default_source,
            default_campaign=job.default_campaign,
            default_owner=job.default_owner,
            default_team=job.default_team,
            on_duplicate=job.on_duplicate,
            dry_run=job.dry_run,
        )

    def apply(self, job: ImportJob) -> None:
        job.columns = self.columns
        job.date_formats = self.date_formats
        job.value_maps = self.value_maps
        job.default_source = self.default_source
        job.default_campaign = self.default_campaign
        job.default_owner = self.default_owner
        job.default_team = self.default_team
        job.on_duplicate = self.on_duplicate
        job.dry_run = self.dry_run
