"""Reads for the import pages and the API: the error file, the mapping page's samples, the
settings history."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from crm.csv_safe import BOM, CONTENT_TYPE, safe_row
from crm.models import User
from imports.columns import TARGETS, column_name, field_columns
from imports.models import (
    ImportFileChunk,
    ImportJob,
    ImportMapping,
    ImportRowError,
    ImportSettingsChange,
)
from imports.run import file_rows

SAMPLES_PER_COLUMN = 3
HISTORY = 20


def is_rehearsal_kept(job: ImportJob) -> bool:
    """A finished dry run whose file is still kept: what `services.import_run_for_real`
    runs for real."""
    return (
        job.dry_run
        and job.status == ImportJob.Status.DONE
        and ImportFileChunk.objects.filter(job_id=job.pk).exists()
    )


def can_run_for_real(job: ImportJob, user: User) -> bool:
    """The button's predicate: the service's own check, for someone who may import."""
    return user.has_perm("imports.import_leads") and is_rehearsal_kept(job)


def real_run(job: ImportJob, user: User) -> ImportJob | None:
    """The import that ran dry run `job` for real (its latest), if `user` may see it."""
    if not job.dry_run:
        return None
    run = job.real_runs.select_related("created_by").order_by("-pk").first()
    return run if run is not None and user.has_perm("imports.view_job", run) else None


def is_remembered(job: ImportJob) -> bool:
    """A mapping is remembered for files with these headers (this one was proposed from it)."""
    return ImportMapping.objects.filter(header_key=job.header_key).exists()


def column_samples(job: ImportJob) -> list[list[str]]:
    """The first non-blank values of each column, to recognise it by."""
    samples: list[list[str]] = [[] for _ in job.headers]
    for _row, values in itertools.islice(file_rows(job), 50):
        for index, value in enumerate(values[: len(samples)]):
            if value.strip() and len(samples[index]) < SAMPLES_PER_COLUMN:
                samples[index].append(value.strip()[:60])
    return samples


def settings_history() -> list[ImportSettingsChange]:
    return list(ImportSettingsChange.objects.select_related("actor")[:HISTORY])


# --- the error file ---------------------------------------------------------------------------


class _Line:
    def write(self, value: str) -> str:
        return value


def problems_cell(problems: list[dict[str, str | None]], names: dict[str, str]) -> str:
    """`Email: Enter a valid email address.; ...`: the file's column (as
    `columns.field_columns` names it) and the message, as the preview shows them; the
    field names and codes are the API's, not words for the person fixing the file."""
    return "; ".join(_problem_text(p, names) for p in problems)


def _problem_text(problem: dict[str, str | None], names: dict[str, str]) -> str:
    field = problem.get("field")
    text = str(problem["message"])
    if not field:
        return text
    return f"{column_name(field, names)}: {text}"


def error_file_lines(job: ImportJob) -> Iterator[str]:
    """The header as uploaded plus "Row" and "Problems", then each failed row as uploaded
    (padded to the header) and its problems; the upload's delimiter, a BOM for Excel, every
    cell spreadsheet-safe (`crm.csv_safe`). Streamed: rows are read as they are sent, after
    the view has returned and its language is gone, so the header is worded now, in the
    downloader's language (the problems are in the importer's: `run.import_run`)."""
    header = [*job.headers, _("Row"), _("Problems")]
    names = {field: str(name) for field, name in field_columns(job.headers, job.columns).items()}
    names |= {field: str(label) for field, label in TARGETS.items() if field not in names}
    return _error_lines(job, header, names)


def _error_lines(job: ImportJob, header: list[str], names: dict[str, str]) -> Iterator[str]:
    writer = csv.writer(_Line(), delimiter=job.delimiter or ",")
    width = len(job.headers)
    yield BOM + writer.writerow(safe_row(header))
    errors = (
        ImportRowError.objects.filter(job=job)
        .order_by("row")
        .values_list("row", "values", "problems")
        .iterator(chunk_size=2_000)
    )
    buffer: list[str] = []
    for row, values, problems in errors:
        cells = list(values) + [""] * max(0, width - len(values))
        buffer.append(writer.writerow(safe_row([*cells, row, problems_cell(problems, names)])))
        if len(buffer) >= 500:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def error_file_name(job: ImportJob) -> str:
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return get_valid_filename(f"{stem}-errors.csv") or "import-errors.csv"


def error_file_response(job: ImportJob) -> StreamingHttpResponse:
    response = StreamingHttpResponse(error_file_lines(job), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{error_file_name(job)}"'
    return response
