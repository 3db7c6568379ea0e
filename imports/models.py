"""An import of leads from a CSV file: the job (its file, mapping, progress and outcome),
the rows it could not take in (the error file), the mappings remembered per header set,
and the one setting RevOps keeps (may SDRs import their own leads)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from leads.models import Source


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row: keep the lead as it is")
    FILL = "fill", _("Fill in the lead's blank fields")
    OVERWRITE = (
        "overwrite",
        _(
            "Overwrite the lead's fields with the file's values (empty and “N/A” cells change "
            "nothing)"
        ),
    )


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def unfinished(self) -> ImportJobQuerySet:
        return self.filter(status__in=(ImportJob.Status.PENDING, ImportJob.Status.RUNNING))

    def stalled(self, *, since: datetime.datetime) -> ImportJobQuerySet:
        """Running, yet neither started nor written (a batch committed) after `since`."""
        return self.filter(status=ImportJob.Status.RUNNING, started_at__lt=since).filter(
            Q(updated_at__isnull=True) | Q(updated_at__lt=since)
        )


class ImportJob(models.Model):
    """One file on its way in. `processed` rows of the file (data rows, in file order) are
    in: each batch commits its leads, its failed rows and these counters together, so
    whatever stops the run, the first `processed` rows are in and no other (`last_row`
    names the file's line where they end)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="lead_imports",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    # The file as uploaded; its bytes are `ImportFileChunk` rows until the run ends.
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("delimiter"), max_length=1)
    headers = models.JSONField(_("columns"), default=list)
    header_key = models.CharField(max_length=64, db_index=True, editable=False)
    # What each column becomes: one Lead field name (or "") per column, in column order;
    # each column's date format; the file's picklist values mapped onto ours.
    columns = models.JSONField(_("mapping"), default=list)
    date_formats = models.JSONField(_("date formats"), default=dict, blank=True)
    value_maps = models.JSONField(_("value mapping"), default=dict, blank=True)
    # Defaults for what a row leaves blank, and who new leads go to.
    default_source = models.CharField(
        _("default source"), max_length=10, choices=Source.choices, blank=True
    )
    default_campaign = models.CharField(_("default campaign"), max_length=150, blank=True)
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner of new leads"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    default_team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team of new leads"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    on_duplicate = models.CharField(
        _("a person who already has a lead"),
        max_length=10,
        choices=OnDuplicate.choices,
        default=OnDuplicate.SKIP,
    )
    # Progress: rows of the file (after the header), and what became of them.
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    last_row = models.PositiveIntegerField(_("last line done"), default=0)
    # New leads per owner (user id -> count), told once when the run ends; round robin in
    # the default team resumes after `team_after`.
    owner_counts = models.JSONField(default=dict, blank=True, editable=False)
    team_after = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    queued_at = models.DateTimeField(_("started by the user"), null=True, blank=True)
    started_at = models.DateTimeField(_("run started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(_("why it failed"), blank=True)
    # The dry run this import runs for real (`services.import_run_for_real`): the dry run's
    # page links to it.
    rehearsal = models.ForeignKey(
        "self",
        verbose_name=_("dry run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="real_runs",
        editable=False,
    )
    # The run's heartbeat: the row is saved whole with each batch it commits, which
    # stamps this, so a running job whose row has not been written for minutes has lost
    # its worker (`imports.watchdog.imports_stop_stalled`, run by beat).
    updated_at = models.DateTimeField(_("last written"), auto_now=True, null=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "done", "failed", "cancelled"]),
                name="import_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(on_duplicate__in=["skip", "fill", "overwrite"]),
                name="import_on_duplicate_valid",
            ),
            models.CheckConstraint(
                condition=Q(processed__lte=models.F("total")), name="import_processed_le_total"
            ),
        ]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_owner_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_configurable(self) -> bool:
        """Uploaded, not started yet: its mapping may still change."""
        return self.status == self.Status.PENDING and self.queued_at is None

    @property
    def status_label(self) -> str:
        """The status as the pages show it: an upload whose mapping was never started is
        "Not started" (its `status` stays pending, as the API gives it), not "Waiting"."""
        if self.is_configurable:
            return str(_("Not started"))
        return str(self.get_status_display())

    @property
    def status_class(self) -> str:
        """The status badge's CSS modifier (`import-<this>`)."""
        return "unstarted" if self.is_configurable else self.status

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.is_finished else 0
        return min(100, self.processed * 100 // self.total)


class ImportFileChunk(models.Model):
    """The uploaded file, in pieces of about a megabyte, kept in the database: the web
    process that took the upload and the worker that runs it share no disk (web and
    workers are stateless containers). Deleted when the run ends; a finished dry run's
    file is kept for `imports.watchdog.DRY_RUN_KEPT_FOR`, to be run for real."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="import_chunk_job_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.seq}"


class ImportRowError(models.Model):
    """A row the import could not take in: its values as uploaded, and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("line"), help_text=_("The file's line, header = 1."))
    values = models.JSONField(default=list)
    problems = models.JSONField(default=list, help_text=_('[{"code", "field", "message"}]'))

    class Meta:
        ordering = ["job", "row"]
        verbose_name = _("failed import row")
        verbose_name_plural = _("failed import rows")
        indexes = [models.Index(fields=["job", "row"], name="import_error_job_row_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}: line {self.row}"


class ImportMapping(models.Model):
    """The mapping last used for a file with these headers, offered for the next one."""

    header_key = models.CharField(max_length=64, unique=True)
    headers = models.JSONField(default=list)
    columns = models.JSONField(default=list)
    date_formats = models.JSONField(default=dict, blank=True)
    value_maps = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("remembered import mapping")
        verbose_name_plural = _("remembered import mappings")

    def __str__(self) -> str:
        return ", ".join(self.headers[:4])


class ImportSettings(models.Model):
    """The one row of import settings RevOps edits (Settings -> Lead import)."""

    SINGLETON_ID = 1

    sdrs_may_import = models.BooleanField(
        _("SDRs may import their own leads"),
        default=False,
        help_text=_("Leads an SDR imports are theirs; managers and RevOps may always import."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("import settings")
        verbose_name_plural = _("import settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="import_settings_singleton")]

    def __str__(self) -> str:
        return "Import settings"


class ImportSettingsChange(models.Model):
    """Audit of a RevOps edit to the import settings: who, when, old -> new."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("import settings change")
        verbose_name_plural = _("import settings changes")

    def __str__(self) -> str:
        return f"Import settings changed by {self.actor_id}"
