"""Import pages: upload, map and preview, watch the run (htmx polls the job row), cancel,
download the error file; and RevOps' import settings. Views parse, call a service or a
selector, render; refusals rise to `crm.web.errors.DomainErrorMiddleware`."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.exceptions import DomainError
from crm.web.errors import set_back_url
from crm.web.forms import put_on_form
from crm.web.requests import AuthedHttpRequest
from imports import files, selectors, services
from imports.access import job_for, jobs_visible_to, require
from imports.forms import MappingForm, SettingsForm, UploadForm
from imports.models import ImportJob
from imports.run import import_preview, sample_values

RECENT_JOBS = 20
# An upload never started for this long was left behind: "Recent imports" no longer lists
# it (its page still opens, and it can still be started from there).
LEFT_BEHIND = datetime.timedelta(days=1)


def _list_page(request: AuthedHttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    left_behind = {
        "status": ImportJob.Status.PENDING,
        "queued_at__isnull": True,
        "created_at__lt": timezone.now() - LEFT_BEHIND,
    }
    jobs = jobs_visible_to(request.user).exclude(**left_behind)[:RECENT_JOBS]
    return render(request, "imports/list.html", {"form": form, "jobs": jobs}, status=status)


# The CSRF check reads the body, so it runs in `_upload` once the upload is limited: a file
# past the limit is refused before its body is read (Content-Length) or stored (the rest).
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: AuthedHttpRequest) -> HttpResponse:
    """The recent imports and the upload form; a good file goes on to its mapping."""
    require(request.user, "imports.import_leads")
    if request.method != "POST":
        return _list_page(request, UploadForm())
    if files.declares_too_large(request):
        return _too_large(request)
    files.limit_upload(request)
    return _upload(request)


def _too_large(request: AuthedHttpRequest) -> HttpResponse:
    """The upload form again, its file refused: past the size limit, it never arrived."""
    error = files.too_large()
    form = UploadForm(data=QueryDict(), files=MultiValueDict())
    form.errors["file"] = form.error_class([str(p.message) for p in error.problems])
    return _list_page(request, form, status=error.http_status)


@csrf_protect
def _upload(request: AuthedHttpRequest) -> HttpResponse:
    data, uploads = request.POST, request.FILES  # read here, through `LimitedUpload`
    if files.upload_stopped(request):
        return _too_large(request)
    form = UploadForm(data, uploads)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_upload(
                by=request.user, file=upload.file, name=upload.name, size=upload.size
            )
        except DomainError as error:
            put_on_form(form, error.problems)
        else:
            return redirect("imports:mapping", job.pk)
    return _list_page(request, form, status=400)


def _values_in_file(job: ImportJob, columns: list[str]) -> list[tuple[str, str]]:
    """(kind, value) for each source and status value in the file's first rows."""
    found = []
    for kind in ("source", "status"):
        if kind in columns:
            found += [(kind, value) for value in sample_values(job, columns.index(kind))]
    return found


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Map the columns, preview the first rows, start. "Preview" saves and shows; "Start"
    saves, remembers the mapping for these headers and queues the run."""
    job = job_for(request.user, pk)
    set_back_url(request, reverse("imports:detail", args=[job.pk]))
    if not job.is_configurable:
        return redirect("imports:detail", job.pk)
    values = _values_in_file(job, job.columns)
    preview = None
    status = 200
    if request.method == "POST":
        form = MappingForm(request.POST, job=job, values=values, by=request.user)
        if form.is_valid():
            config = form.config()
            starting = request.POST.get("action") == "start"
            try:
                if starting:
                    services.import_start(job_id=job.pk, by=request.user, config=config)
                else:
                    services.import_configure(job_id=job.pk, by=request.user, config=config)
            except DomainError as error:
                form.add_problems(error.problems)
                status = 400
            else:
                if starting:
                    # The job's page says it has started, while it runs (not a message
                    # that would outlive the run on a page that polls).
                    return redirect("imports:detail", job.pk)
                job.refresh_from_db()
                values = _values_in_file(job, job.columns)
                form = MappingForm(job=job, values=values, by=request.user)
                preview = import_preview(job, config, by=request.user)
        else:
            status = 400
    else:
        form = MappingForm(job=job, values=values, by=request.user)
    context = {
        "job": job,
        "form": form,
        "preview": preview,
        "remembered": selectors.is_remembered(job),
        "columns": list(zip(form.column_fields(), selectors.column_samples(job), strict=False)),
    }
    return render(request, "imports/mapping.html", context, status=status)


@login_required
@require_GET
def import_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = job_for(request.user, pk)
    return render(request, "imports/detail.html", _progress_context(request, job))


@login_required
@require_GET
def import_progress(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The progress card alone: htmx fetches it every second while the run is going and
    stops when the card it gets back no longer asks to be polled."""
    job = job_for(request.user, pk)
    return render(request, "imports/_progress.html", _progress_context(request, job))


def _progress_context(request: AuthedHttpRequest, job: ImportJob) -> dict[str, object]:
    return {
        "job": job,
        "can_cancel": not job.is_finished and request.user.has_perm("imports.cancel_job", job),
        "can_map": job.is_configurable and request.user.has_perm("imports.import_leads"),
        "can_run_for_real": selectors.can_run_for_real(job, request.user),
        "real_run": selectors.real_run(job, request.user),
        "error_count": job.row_errors.count() if job.failed else 0,
    }


@login_required
@require_POST
def import_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    set_back_url(request, reverse("imports:detail", args=[pk]))
    job = services.import_cancel(job_id=pk, by=request.user)
    if job.status == ImportJob.Status.CANCELLED and job.queued_at is None:
        messages.info(request, _("The upload is discarded: nothing of it was imported."))
    elif job.status == ImportJob.Status.CANCELLED:
        messages.info(request, _("Import cancelled."))
    else:
        messages.info(request, _("Stopping the import after the rows it is writing now."))
    if request.htmx:
        return render(request, "imports/_progress.html", _progress_context(request, job))
    return redirect("imports:detail", pk)


@login_required
@require_POST
def import_run_for_real(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """A finished dry run, run for real with the same file and mapping: a new import."""
    set_back_url(request, reverse("imports:detail", args=[pk]))
    job = services.import_run_for_real(job_id=pk, by=request.user)
    return redirect("imports:detail", job.pk)


@login_required
@require_GET
def import_errors(request: AuthedHttpRequest, pk: int) -> StreamingHttpResponse:
    """The failed rows as uploaded, each with the problems that kept it out."""
    job = job_for(request.user, pk)
    return selectors.error_file_response(job)


@login_required
@require_http_methods(["GET", "POST"])
def import_settings(request: AuthedHttpRequest) -> HttpResponse:
    """RevOps lets SDRs import their own leads (or not); managers read it."""
    require(request.user, "imports.view_settings")
    can_edit = request.user.has_perm("imports.change_settings")
    current = services.import_settings()
    form = SettingsForm(initial={"sdrs_may_import": current.sdrs_may_import})
    status = 200
    if request.method == "POST":
        require(request.user, "imports.change_settings")
        form = SettingsForm(request.POST)
        if form.is_valid():
            change = services.import_settings_update(
                by=request.user, sdrs_may_import=form.cleaned_data["sdrs_may_import"]
            )
            messages.success(request, _("Saved.") if change else _("Nothing changed."))
            return redirect("imports:settings")
        status = 400
    context = {
        "form": form,
        "can_edit": can_edit,
        "current": current,
        "history": selectors.settings_history(),
    }
    return render(request, "imports/settings.html", context, status=status)
