"""The run: the file's rows through the bulk intake, a batch at a time, and the preview.

Each batch is one transaction: its leads (`leads.services.bulk_intake`), its failed rows
(the error file) and the job's counters commit together. So whatever stops a run (a
cancel, an error, a killed worker) the first `processed` rows of the file are in, each
counted, and no other; a worker that died mid-batch is redelivered the task (Celery acks
late) and the run resumes after the last committed row. Cancelling takes effect between
batches: the run reads the job row, locked, before each one.

The file is read as a stream (`imports.files`) and held a batch at a time (two, with the
one read ahead in a worker: `imports.ahead`), so memory stays flat whatever its size.
"""

from __future__ import annotations

import enum
import gc
import io
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from functools import partial

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.exceptions import Problem
from crm.models import Notification, User
from crm.placeholders import is_placeholder
from crm.preferences import language_of
from crm.services import notify
from imports.ahead import read_ahead
from imports.columns import column_name, field_columns
from imports.config import ImportConfig
from imports.files import ChunkStream, read_rows
from imports.models import ImportFileChunk, ImportJob, ImportRowError
from imports.rows import Converted, RowReader
from leads.models import Lead
from leads.services.bulk_intake import BulkOutcome, leads_bulk_intake
from leads.services.bulk_rehearsal import Rehearsal
from leads.services.bulk_routing import Assignment
from leads.services.bulk_rows import write_rows

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000
PREVIEW_ROWS = 20
PREVIEW_CHARS = 120
ERROR_COLUMNS = ("job_id", "row", "values", "problems")
Batch = list[tuple[int, list[str], Converted]]


def job_chunks(job_id: int) -> Iterator[bytes]:
    """The uploaded file's bytes, a stored chunk at a time (one query each)."""
    for seq in itertools.count():
        chunk = (
            ImportFileChunk.objects.filter(job_id=job_id, seq=seq)
            .values_list("data", flat=True)
            .first()
        )
        if chunk is None:
            return
        yield bytes(chunk)


def delete_file(job_id: int) -> None:
    """Let the stored upload go: one DELETE (the ORM's would load every chunk first)."""
    table = connection.ops.quote_name(ImportFileChunk._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE job_id = %s", [job_id])


def file_rows(job: ImportJob, *, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    stream = io.BufferedReader(ChunkStream(job_chunks(job.pk)), buffer_size=256 * 1024)
    return read_rows(stream, encoding=job.encoding, delimiter=job.delimiter, skip=skip)


def _owners() -> list[User]:
    """Whom an owner column may name: active SDRs and managers."""
    return list(User.objects.filter(is_active=True, role__in=(User.Role.SDR, User.Role.MANAGER)))


def _assignment(job: ImportJob) -> Assignment:
    importer = job.created_by
    owner = job.default_owner or (importer if importer.is_sdr else None)
    return Assignment(owner=owner, team=job.default_team, after=job.team_after)


# --- the run ----------------------------------------------------------------------------------


def import_run(*, job_id: int) -> ImportJob:
    """Run (or resume) the import `job_id` to its end; never raises for the file's sake.

    In the importer's language: the problems it writes for the error file (and the job's
    error) are read by them, whatever language the worker starts in."""
    job = _begin(job_id)
    if job.is_finished:
        return job
    with translation.override(language_of(job.created_by.language)):
        return _run(job)


def _run(job: ImportJob) -> ImportJob:
    job_id = job.pk
    importer = job.created_by
    reader = RowReader(job, owners=_owners(), now=timezone.now())
    assignment = _assignment(job)
    batches = read_ahead(partial(_converted, job, reader, skip=job.processed))
    status = ImportJob.Status.DONE
    error = ""
    # A dry run writes no lead: its memory of the ones it would have made spans batches.
    rehearsal = Rehearsal() if job.dry_run else None
    collecting = gc.isenabled()
    done = job.processed  # where this run stands: each batch checks the job is still here
    try:
        # A batch allocates a few hundred thousand objects, none in a cycle: the cyclic
        # collector would rescan the whole heap again and again (a fifth of the run's
        # Python time) for nothing. It runs once per batch instead, on the young objects,
        # so whatever cycle a batch leaves is still freed and memory stays flat.
        gc.disable()
        with closing(batches):
            for converted in batches:
                step = _run_batch(job.pk, converted, importer, assignment, rehearsal, at=done)
                if step is Step.SUPERSEDED:
                    # Another delivery of this task is taking the file in: it finishes it.
                    logger.info("import %s: another run is at a later row; this one stops", job_id)
                    return ImportJob.objects.get(pk=job_id)
                if step is Step.CANCELLED:
                    status = ImportJob.Status.CANCELLED
                    break
                done += len(converted)
                del converted
                gc.collect(1)
    except Exception as exc:  # noqa: BLE001 - the job records it; the rows before stay in
        logger.exception("import %s failed", job_id)
        status = ImportJob.Status.FAILED
        error = _("An unexpected error stopped the import (%(kind)s).") % {
            "kind": type(exc).__name__
        }
    finally:
        if collecting:
            gc.enable()
        if rehearsal is not None:
            rehearsal.close()
    return _finish(job_id, status, error)


def _converted(job: ImportJob, reader: RowReader, *, skip: int) -> Iterator[Batch]:
    """The file's rows after the first `skip`, converted, a batch at a time."""
    rows = file_rows(job, skip=skip)
    while batch := list(itertools.islice(rows, BATCH_SIZE)):
        yield [(row, values, reader.convert(values)) for row, values in batch]


def _begin(job_id: int) -> ImportJob:
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("created_by", "default_owner", "default_team")
            .get(pk=job_id)
        )
        if job.is_finished:
            return job
        if job.status == ImportJob.Status.PENDING:
            job.status = ImportJob.Status.RUNNING
            job.started_at = timezone.now()
            job.save(update_fields=["status", "started_at"])
    return job


class Step(enum.Enum):
    """What became of one batch (`_run_batch`)."""

    WRITTEN = "written"
    CANCELLED = "cancelled"  # the user asked to stop: nothing of the batch was written
    SUPERSEDED = "superseded"  # another run of the job got past this row: nothing written


def _run_batch(
    job_id: int,
    batch: Batch,
    importer: User,
    assignment: Assignment,
    rehearsal: Rehearsal | None = None,
    *,
    at: int,
) -> Step:
    """Take one batch in, in one transaction with its counters, if the job still stands
    at row `at` (this run's count of rows in).

    That check, on the locked job row, is what makes two runs of one job safe: the task
    can be delivered twice (a redelivery, or the watchdog queueing again a task the broker
    lost), and whichever run commits a batch first moves `processed` on, so the other
    finds the job past its row and stops without writing."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.cancel_requested_at is not None:
            return Step.CANCELLED
        if job.processed != at or job.is_finished:
            return Step.SUPERSEDED
        result = leads_bulk_intake(
            rows=[c.row for _row, _values, c in batch if c.row is not None],
            by=importer,
            on_duplicate=job.on_duplicate,  # type: ignore[arg-type]
            assignment=assignment,
            may_update=lambda lead: importer.has_perm("leads.work_lead", lead),
            dry_run=job.dry_run,
            rehearsal=rehearsal,
        )
        outcomes = iter(unseen_leads_unnamed(result.outcomes, importer))
        counts: Counter[str] = Counter()
        errors = []
        for row, values, converted in batch:
            problems: tuple[Problem, ...] | list[Problem] = converted.problems
            if converted.row is not None:
                outcome: BulkOutcome = next(outcomes)
                counts[outcome.outcome] += 1
                problems = outcome.problems
            else:
                counts["failed"] += 1
            if problems:
                errors.append((job_id, row, values, [p.as_dict() for p in problems]))
        write_rows(ImportRowError, ERROR_COLUMNS, errors)
        for name in ("created", "updated", "skipped", "failed"):
            setattr(job, name, getattr(job, name) + counts[name])
        job.processed += len(batch)
        job.last_row = batch[-1][0]
        owners = Counter({int(k): v for k, v in job.owner_counts.items()}) + result.owners
        job.owner_counts = {str(k): v for k, v in owners.items()}
        job.team_after = assignment.after
        job.save()
    return Step.WRITTEN


def _finish(job_id: int, status: str, error: str) -> ImportJob:
    """End the run: its status, the file let go, and each new lead's owner told once."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            return job
        job.status = status
        job.error = error
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        if not (job.dry_run and status == ImportJob.Status.DONE):
            delete_file(job.pk)
        # A finished dry run keeps its file for a while (DRY_RUN_KEPT_FOR): the user runs
        # it for real from its page without uploading again (`import_run_for_real`).
        if not job.dry_run:
            _tell_owners(job)
    return job


def _tell_owners(job: ImportJob) -> None:
    """One notification per owner for the whole import, not one per lead."""
    counts = {int(k): v for k, v in job.owner_counts.items() if v}
    for owner in User.objects.filter(pk__in=counts):
        notify(
            recipients=[owner],
            kind=Notification.Kind.ASSIGNMENT,
            message=partial(_new_leads_message, counts[owner.pk], job.file_name),
            url=reverse("leads:list"),
        )


def _new_leads_message(count: int, file_name: str) -> str:
    """Composed by `notify` in the owner's language, not the importer's."""
    return ngettext(
        "%(count)d new lead for you from the import of “%(file)s”.",
        "%(count)d new leads for you from the import of “%(file)s”.",
        count,
    ) % {"count": count, "file": file_name}


# --- the preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A line of the preview about a row: its problem or warning, named by the file's
    column (`column` is "" for the row as a whole)."""

    column: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class PreviewRow:
    row: int
    values: list[str]
    outcome: str  # "created" | "updated" | "skipped" | "failed"
    problems: tuple[Problem, ...]
    notes: tuple[Note, ...] = ()

    @property
    def summary(self) -> str:
        """The row's values on one line, cut as text (the page escapes it once, after)."""
        return Truncator(" · ".join(self.values)).chars(PREVIEW_CHARS)


def import_preview(job: ImportJob, config: ImportConfig, *, by: User) -> list[PreviewRow]:
    """The file's first rows as the run would take them with `config`: what each would
    become, its problems (each named by the column it comes from), what it loses on the
    way and why a skipped row is skipped. Reads the database, writes nothing."""
    draft = ImportJob(
        pk=job.pk, headers=job.headers, created_by=job.created_by, encoding=job.encoding
    )
    config.apply(draft)
    reader = RowReader(draft, owners=_owners(), now=timezone.now())
    sample = list(itertools.islice(file_rows(job), PREVIEW_ROWS))
    converted = [(row, values, reader.convert(values)) for row, values in sample]
    result = leads_bulk_intake(
        rows=[c.row for _row, _values, c in converted if c.row is not None],
        by=by,
        on_duplicate=config.on_duplicate,  # type: ignore[arg-type]
        assignment=Assignment(owner=config.default_owner, team=config.default_team),
        may_update=lambda lead: by.has_perm("leads.work_lead", lead),
        dry_run=True,
    )
    names = field_columns(job.headers, config.columns)
    seen = _seen_leads(result.outcomes, by)
    outcomes = iter(unseen_leads_unnamed(result.outcomes, by, seen))
    preview = []
    taken: list[int] = []  # the file's row of each row the batch took, by its index there
    for row, values, c in converted:
        if c.row is None:
            preview.append(
                PreviewRow(row, values, "failed", tuple(c.problems), _notes(c.problems, names))
            )
            continue
        outcome = next(outcomes)
        notes = _notes(outcome.problems, names)
        if outcome.outcome != "failed":
            notes += _notes(reader.warnings(values), names, warning=True)
        if outcome.outcome == "skipped":
            earlier = taken[outcome.follows] if outcome.follows is not None else None
            named = outcome.lead_id in seen
            notes += (Note("", _skip_reason(outcome, earlier, config.on_duplicate, named)),)
        taken.append(row)
        preview.append(PreviewRow(row, values, outcome.outcome, outcome.problems, notes))
    return preview


def _notes(
    problems: Iterable[Problem], names: dict[str, str], *, warning: bool = False
) -> tuple[Note, ...]:
    return tuple(
        Note(column_name(problem.field, names), str(problem.message), warning)
        for problem in problems
    )


def _skip_reason(outcome: BulkOutcome, earlier: int | None, mode: str, named: bool) -> str:
    """Why a row is skipped: its person has a lead already (its number `named` when the
    importer may see that lead), or is the person of `earlier`, a row before it in the
    file (the batch's own matching, `BulkOutcome.follows`)."""
    nothing_new = mode != "skip"  # fill or overwrite: the row had nothing to change
    if earlier is not None:
        if nothing_new:
            return _(
                "The same person as row %(row)d of the file, and this row adds nothing to it."
            ) % {"row": earlier}
        return _("The same person as row %(row)d of the file: a person is added once.") % {
            "row": earlier
        }
    if outcome.lead_id is not None and not named:
        return _("This person already has a lead: it is kept as it is.")
    if outcome.lead_id is not None:
        if nothing_new:
            return _(
                "This person already has a lead (#%(id)d), and this row changes nothing in it."
            ) % {"id": outcome.lead_id}
        return _("This person already has a lead (#%(id)d): it is kept as it is.") % {
            "id": outcome.lead_id
        }
    return _("The same person as a row before it in the file: a person is added once.")


def _seen_leads(outcomes: Iterable[BulkOutcome], user: User) -> set[int]:
    """Which of the outcomes' leads `user` may see: one query for the batch."""
    ids = {outcome.lead_id for outcome in outcomes if outcome.lead_id is not None}
    if not ids:
        return set()
    return set(Lead.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


def unseen_leads_unnamed(
    outcomes: list[BulkOutcome], user: User, seen: set[int] | None = None
) -> list[BulkOutcome]:
    """`outcomes`, a row refused for a lead that `user` may not change worded without that
    lead's number when they may not see it either: another rep's lead is not theirs to
    look up (`seen`: the leads they may see, if known; else one query for the batch)."""
    refused = {
        index
        for index, outcome in enumerate(outcomes)
        if any(p.code == "not_yours" for p in outcome.problems)
    }
    if not refused:
        return outcomes
    if seen is None:
        seen = _seen_leads((outcomes[index] for index in refused), user)
    hidden = _("This person already has a lead that you may not change.")
    unnamed = list(outcomes)
    for index in refused:
        outcome = outcomes[index]
        if outcome.lead_id not in seen:
            problems = tuple(
                Problem(p.code, p.field, hidden) if p.code == "not_yours" else p
                for p in outcome.problems
            )
            unnamed[index] = replace(outcome, problems=problems)
    return unnamed


def sample_values(job: ImportJob, index: int, *, rows: int = 2_000, limit: int = 30) -> list[str]:
    """The distinct values of column `index` among the file's first `rows` rows, most
    frequent first (the mapping page maps them onto ours)."""
    counts: Counter[str] = Counter()
    for _row, values in itertools.islice(file_rows(job), rows):
        if index < len(values) and values[index].strip():
            counts[values[index].strip()] += 1
    # A placeholder ("N/A") is a blank cell, whatever the column: nothing to map.
    for value in [value for value in counts if is_placeholder(value)]:
        del counts[value]
    return [value for value, _count in counts.most_common(limit)]
