"""The changes a person makes to an import: upload a file, set its mapping and start it,
cancel it; and RevOps' import setting. The run itself is `imports.run`; ending a run
whose worker died, `imports.watchdog`.

Each is one transaction that checks who may act (`imports.access`, `imports.rules`) and
refuses bad input with every problem named (`crm.exceptions.ValidationFailed`, field by
field), the same for the browser and the API.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import IO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import DomainError, Problem, ValidationFailed
from crm.models import User
from imports.access import job_for, require
from imports.columns import (
    DATE_FORMATS,
    TARGETS,
    auto_map,
    detect_date_format,
    header_key,
)
from imports.config import ImportConfig
from imports.files import inspect_file
from imports.models import (
    ImportFileChunk,
    ImportJob,
    ImportMapping,
    ImportSettings,
    ImportSettingsChange,
    OnDuplicate,
)
from imports.rules import chooses_owners
from imports.run import delete_file
from imports.selectors import is_rehearsal_kept
from leads.models import Lead, Source
from leads.services.assignment import may_own_leads
from leads.services.bulk_rows import IMPORT_STATUSES

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


class JobNotConfigurable(DomainError):
    """The import has started or ended: its mapping is settled, it cannot start again."""

    http_status = 409
    code = "invalid_transition"


# --- upload -----------------------------------------------------------------------------------


def import_upload(*, by: User, file: IO[bytes], name: str, size: int) -> ImportJob:
    """Take a file in: refuse it at once if it cannot be read (`imports.files`), else keep
    it with a proposed mapping: the one last used for these headers, or the automatic one."""
    require(by, "imports.import_leads")
    facts = inspect_file(file, size=size)
    key = header_key(facts.headers)
    width = len(facts.headers)
    columns = auto_map(facts.headers)
    detected = {}
    for index in range(width):
        found = detect_date_format(
            [row[index] for row in facts.sample if index < len(row)], delimiter=facts.delimiter
        )
        if found:
            detected[str(index)] = found
    value_maps: dict[str, dict[str, str]] = {}
    remembered_formats: dict[str, str] = {}
    remembered = ImportMapping.objects.filter(header_key=key).first()
    if remembered is not None and len(remembered.columns) == width:
        columns = list(remembered.columns)
        remembered_formats = remembered.date_formats
        value_maps = remembered.value_maps
    date_formats = _date_formats(detected, remembered_formats)
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=by,
            file_name=name[:255],
            file_size=size,
            encoding=facts.encoding,
            delimiter=facts.delimiter,
            headers=facts.headers,
            header_key=key,
            columns=columns,
            date_formats=date_formats,
            value_maps=value_maps,
            total=facts.total,
        )
        file.seek(0)
        seq = 0
        while chunk := file.read(CHUNK_BYTES):
            ImportFileChunk.objects.create(job=job, seq=seq, data=chunk)
            seq += 1
    return job


_DAY_MONTH_ORDERS = frozenset({"dmy", "mdy"})


def _date_formats(
    detected: dict[str, tuple[str, bool]], remembered: dict[str, str]
) -> dict[str, str]:
    """Each column's date format: what its own values show. The format remembered for
    these headers only settles a column whose values could be read either way (every day
    and month 12 or less): the file in hand wins over an earlier one."""
    formats = {index: style for index, (style, _sure) in detected.items()}
    for index, style in remembered.items():
        found = detected.get(index)
        if found is None or (not found[1] and style in _DAY_MONTH_ORDERS):
            formats[index] = style
    return formats


# --- mapping and start ------------------------------------------------------------------------


def config_problems(job: ImportJob, config: ImportConfig, *, by: User) -> list[Problem]:
    """Everything that keeps this mapping from importing the file, each naming its field."""
    problems = []
    if len(config.columns) != len(job.headers):
        return [Problem("invalid", "columns", _("Give one field (or none) per column."))]
    seen: dict[str, int] = {}
    for index, target in enumerate(config.columns):
        if target and target not in TARGETS:
            problems.append(
                Problem("invalid_choice", f"columns.{index}", _("Not a field a column can fill."))
            )
        elif target in seen:
            problems.append(
                Problem(
                    "duplicate_target",
                    f"columns.{index}",
                    _("“%(header)s” and “%(other)s” are both mapped to %(field)s: keep one.")
                    % {
                        "header": job.headers[index],
                        "other": job.headers[seen[target]],
                        "field": TARGETS[target],
                    },
                )
            )
        elif target:
            seen[target] = index
    problems += _required_mapped(set(seen), config)
    created = seen.get("created_at")
    if created is not None and config.date_formats.get(str(created), "iso") not in DATE_FORMATS:
        problems.append(
            Problem("invalid_choice", "date_formats", _("Choose how the dates are written."))
        )
    problems += _value_map_problems(config)
    problems += _default_problems(config, by=by, owner_mapped="owner" in seen)
    return problems


def _required_mapped(mapped: set[str], config: ImportConfig) -> list[Problem]:
    """What every lead needs (the intake rules), as columns: a file that maps none of them
    would fail on every row."""
    problems = []
    if "company_name" not in mapped:
        problems.append(Problem("unmapped", "company_name", _("Map a column to Company.")))
    if not mapped & {"last_name", "full_name"}:
        problems.append(
            Problem("unmapped", "last_name", _("Map a column to Last name (or Full name)."))
        )
    if not mapped & {"email", "phone"}:
        problems.append(
            Problem("unmapped", "email", _("Map a column to E-mail or Phone: leads need one."))
        )
    if "source" not in mapped and not config.default_source:
        problems.append(
            Problem(
                "unmapped",
                "source",
                _("Map a column to Lead source, or choose the source of every lead."),
            )
        )
    return problems


def _value_map_problems(config: ImportConfig) -> list[Problem]:
    allowed = {"source": set(Source.values), "status": {*IMPORT_STATUSES, ""}}
    problems = []
    for name, mapping in config.value_maps.items():
        if name not in allowed or not isinstance(mapping, dict):
            problems.append(Problem("invalid", "value_maps", _("Unknown value mapping.")))
            continue
        for raw, value in mapping.items():
            if value not in allowed[name]:
                problems.append(
                    Problem(
                        "invalid_choice",
                        f"value_maps.{name}",
                        _("“%(raw)s” cannot become “%(value)s”.") % {"raw": raw, "value": value},
                    )
                )
    return problems


def _default_problems(config: ImportConfig, *, by: User, owner_mapped: bool) -> list[Problem]:
    problems = []
    if config.default_source and config.default_source not in Source.values:
        problems.append(
            Problem("invalid_choice", "default_source", _("Choose a lead source from the list."))
        )
    if len(config.default_campaign) > Lead._meta.get_field("campaign").max_length:  # type: ignore[operator]
        problems.append(Problem("max_length", "default_campaign", _("The campaign is too long.")))
    if config.on_duplicate not in OnDuplicate.values:
        problems.append(
            Problem("invalid_choice", "on_duplicate", _("Choose skip, fill or overwrite."))
        )
    owner, team = config.default_owner, config.default_team
    if not chooses_owners(by) and (owner_mapped or team is not None or owner not in (None, by)):
        problems.append(
            Problem(
                "own_leads_only",
                "default_owner",
                _("Leads you import are yours: leave the owner and the team as they are."),
            )
        )
        return problems
    if owner is not None and team is not None:
        # The owner would take every lead and the team none: one of the two is a mistake.
        problems.append(
            Problem(
                "owner_and_team",
                "default_team",
                _(
                    "Both an owner for every new lead and a team to share them round robin "
                    "are chosen, and only one can apply: clear the owner or the team."
                ),
            )
        )
    if owner is not None and not may_own_leads(owner):
        problems.append(
            Problem(
                "not_an_sdr",
                "default_owner",
                _(
                    "%(name)s cannot own leads: new leads go to an active SDR or manager. "
                    "Choose one of them, or leave the owner to the routing rules."
                )
                % {"name": owner},
            )
        )
    if team is not None and not team.members.filter(is_active=True, role=User.Role.SDR).exists():
        problems.append(
            Problem(
                "no_sdr",
                "default_team",
                _("%(team)s has no active SDR to give leads to.") % {"team": team.name},
            )
        )
    return problems


def import_configure(*, job_id: int, by: User, config: ImportConfig) -> ImportJob:
    """Save the mapping and defaults of an import that has not started."""
    with transaction.atomic():
        job = _lock_configurable(job_id, by)
        problems = config_problems(job, config, by=by)
        if problems:
            raise ValidationFailed(problems=problems)
        config.apply(job)
        job.save()
    return job


def import_start(*, job_id: int, by: User, config: ImportConfig) -> ImportJob:
    """Save the mapping, remember it for files with these headers, and queue the run (on
    the "imports" queue, after the commit)."""
    with transaction.atomic():
        job = _lock_configurable(job_id, by)
        problems = config_problems(job, config, by=by)
        if problems:
            raise ValidationFailed(problems=problems)
        config.apply(job)
        job.queued_at = timezone.now()
        job.error = ""
        job.save()
        ImportMapping.objects.update_or_create(
            header_key=job.header_key,
            defaults={
                "headers": job.headers,
                "columns": job.columns,
                "date_formats": job.date_formats,
                "value_maps": job.value_maps,
                "updated_by": by,
            },
        )
        transaction.on_commit(partial(queue_run, job.pk))
    return job


def queue_run(job_id: int) -> None:
    """Hand the run to a worker; if the broker refuses, the job says so and may be started
    again (nothing ran). The watchdog queues it again if the broker took it but no run
    ever began (`imports.watchdog.imports_queue_lost`)."""
    from crm.enqueue import enqueue_now
    from imports.tasks import import_run_task

    if not enqueue_now(import_run_task, job_id=job_id):
        ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(
            queued_at=None,
            error=_("The task queue could not be reached, so the import did not start. Try again."),
        )


def _lock_configurable(job_id: int, by: User) -> ImportJob:
    job_for(by, job_id)
    require(by, "imports.import_leads")
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if not job.is_configurable:
        raise JobNotConfigurable(_("This import has already started; its mapping is settled."))
    return job


def import_cancel(*, job_id: int, by: User) -> ImportJob:
    """Stop an import. A run stops after the batch it is writing (each batch commits
    whole); one that has not started is cancelled at once."""
    with transaction.atomic():
        job_for(by, job_id, to="cancel")
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            raise JobNotConfigurable(_("This import has already ended."))
        now = timezone.now()
        job.cancel_requested_at = now
        job.cancelled_by = by
        if job.status == ImportJob.Status.PENDING:
            job.status = ImportJob.Status.CANCELLED
            job.finished_at = now
            delete_file(job.pk)
        job.save()
    return job


# --- settings -------------------------------------------------------------------------------


def import_settings() -> ImportSettings:
    """The settings row, or the defaults when RevOps never saved it."""
    return ImportSettings.objects.filter(pk=ImportSettings.SINGLETON_ID).first() or ImportSettings(
        pk=ImportSettings.SINGLETON_ID
    )


@transaction.atomic
def import_settings_update(*, by: User, sdrs_may_import: bool) -> ImportSettingsChange | None:
    """RevOps lets SDRs import their own leads, or stops them; audited (who, when, old ->
    new). None when nothing changed."""
    require(by, "imports.change_settings")
    row, _created = ImportSettings.objects.select_for_update().get_or_create(
        pk=ImportSettings.SINGLETON_ID
    )
    if row.sdrs_may_import == sdrs_may_import and not _created:
        return None
    old = {"sdrs_may_import": row.sdrs_may_import}
    row.sdrs_may_import = sdrs_may_import
    row.updated_by = by
    row.save()
    return ImportSettingsChange.objects.create(
        actor=by, old=old, new={"sdrs_may_import": sdrs_may_import}
    )


# --- a dry run, then for real ---------------------------------------------------------------


def import_run_for_real(*, job_id: int, by: User) -> ImportJob:
    """Run a finished dry run's file for real, with its mapping and defaults: a new import
    (the rehearsal's counts stay as they were), the stored file moved over to it in one
    statement, then started as `import_start` starts one."""
    with transaction.atomic():
        job_for(by, job_id)
        require(by, "imports.import_leads")
        rehearsal = ImportJob.objects.select_for_update().get(pk=job_id)
        if not is_rehearsal_kept(rehearsal):
            raise JobNotConfigurable(
                _(
                    "Only a finished dry run whose file is still kept can be run for real; "
                    "upload the file again."
                )
            )
        job = ImportJob.objects.create(
            created_by=by,
            file_name=rehearsal.file_name,
            file_size=rehearsal.file_size,
            encoding=rehearsal.encoding,
            delimiter=rehearsal.delimiter,
            headers=rehearsal.headers,
            header_key=rehearsal.header_key,
            total=rehearsal.total,
            rehearsal=rehearsal,
        )
        ImportFileChunk.objects.filter(job_id=rehearsal.pk).update(job=job)
        config = ImportConfig.of(rehearsal)
        config.dry_run = False
        return import_start(job_id=job.pk, by=by, config=config)
