"""The import API's shapes: a job as it reads, and the multipart form that starts one."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.serializers import StrictFieldsMixin
from crm.models import Team, User
from imports.columns import DATE_FORMATS
from imports.models import ImportJob, OnDuplicate
from leads.models import Source


class ColumnSerializer(serializers.Serializer):
    header = serializers.CharField()
    field = serializers.CharField(help_text="The lead field it fills; empty: not imported.")


class ImportJobSerializer(serializers.ModelSerializer):
    columns = serializers.SerializerMethodField()
    error_file = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "dry_run", "file_name", "file_size", "encoding", "delimiter",
            "columns", "on_duplicate", "total", "processed", "created", "updated", "skipped",
            "failed", "last_row", "error", "error_file", "created_at", "started_at",
            "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ColumnSerializer(many=True))
    def get_columns(self, job: ImportJob) -> list[dict[str, str]]:
        return [
            {"header": header, "field": field}
            for header, field in zip(job.headers, job.columns, strict=False)
        ]

    @extend_schema_field(
        {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "The failed rows as uploaded plus their problems (CSV); null when no "
            "row failed.",
        }  # fmt: skip
    )
    def get_error_file(self, job: ImportJob) -> str | None:
        if not job.failed:
            return None
        path = reverse("import-errors", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ImportCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: UTF-8 (with or without BOM) or Windows-1252, comma or semicolon, the "
        "first row naming the columns; at most 1,000,000 rows and 200 MB."
    )
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='JSON object: column header -> lead field ("" to leave a column out), e.g. '
        '{"Company Name": "company_name", "Notes": ""}. Columns it does not name keep the '
        "automatic mapping (Salesforce, HubSpot and Pipedrive headers are recognised).",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check every row, write nothing."
    )
    on_duplicate = serializers.ChoiceField(
        choices=OnDuplicate.choices, required=False, default=OnDuplicate.SKIP
    )
    date_format = serializers.ChoiceField(
        choices=list(DATE_FORMATS), required=False, help_text="How the created-date column "
        "writes dates (iso, dmy, mdy); when not given, detected from the file's own values (the "
        "format last used for these headers settles only dates that read either way)."
    )  # fmt: skip
    default_source = serializers.ChoiceField(
        choices=Source.choices, required=False, help_text="The source of rows without one."
    )
    default_campaign = serializers.CharField(
        required=False, allow_blank=True, max_length=150, default=""
    )
    default_owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="Every new lead goes to this active SDR or manager (else the routing "
        "rules); not together with default_team.",
    )  # fmt: skip
    default_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True,
        help_text="New leads go round robin among this team's active SDRs; not together "
        "with default_owner.",
    )  # fmt: skip
