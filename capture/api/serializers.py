"""Input validation and output shape for the capture API. No logic: services decide.

Writes are strict (`crm.api.serializers.StrictFieldsMixin`): an unknown or read-only key
is refused with 400 naming it. The webhook's lead rows are the lead's intake fields,
checked the same way as `POST /api/v1/leads/`, with each row's problems in its result.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from capture import selectors
from capture.fields import FORM_FIELDS
from capture.models import IntakeKey, WebForm
from capture.services.forms import MAX_ORIGIN, MAX_ORIGINS
from capture.snippet import html_snippet, public_path
from crm.api.serializers import ApiProblemSerializer, StrictFieldsMixin
from crm.models import User
from leads.models import Lead, Source
from leads.services.edits import EDITABLE_FIELDS

MAX_BATCH = 500
# What a webhook row may set: the lead's own intake fields (an outcome such as "lost to a
# competitor" is sales' to record, later).
INTAKE_FIELDS = tuple(f for f in EDITABLE_FIELDS if f != "lost_to_competitor")


class CaptureUserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class SubmissionCountsSerializer(serializers.Serializer):
    """How many posts the form had, by what became of them."""

    created = serializers.IntegerField(help_text="Posts that made a new lead.")
    deduplicated = serializers.IntegerField(
        help_text="Posts by a person with an open lead: a touch on it, no new lead."
    )
    invalid = serializers.IntegerField(help_text="Refused: a field problem, too large.")
    spam = serializers.IntegerField(help_text="Filled the honeypot: answered, dropped.")
    throttled = serializers.IntegerField(
        help_text="Refused by a rate limit (one per client and window)."
    )
    forbidden_origin = serializers.IntegerField(
        help_text="Posted from a web site the form does not allow."
    )


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "enum": list(FORM_FIELDS)}, "maxItems": 10}
)
class FormFieldsField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(),
            max_length=len(FORM_FIELDS),
            **kwargs,
        )


class WebFormSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A web-to-lead form. Visitors post to `url` (`POST /f/{key}/`, form-encoded or JSON);
    each post becomes a routed lead with the form's `source` and `campaign`, or a touch
    on the person's open lead."""

    url = serializers.SerializerMethodField(help_text="The public endpoint: POST here.")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # the lead source, not Field.source
        choices=Source.choices, required=False, help_text="The source every lead gets."
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    campaign = serializers.CharField(required=False, allow_blank=True, max_length=150)
    thank_you_message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Shown after a post; blank: a short default.",
    )
    redirect_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Send the visitor here (303) instead of the thank-you page; https:// only.",
    )
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ORIGIN),
        max_length=MAX_ORIGINS,
        required=False,
        help_text="Sites (scheme://host[:port]) whose pages may post it: they get CORS "
        "answers and may frame the hosted form; posts from other sites are refused. "
        "Empty: any site may post a plain HTML form, none may use CORS.",
    )
    created_by = CaptureUserSerializer(read_only=True)
    submissions = serializers.SerializerMethodField()
    snippet = serializers.SerializerMethodField(help_text="The plain HTML form to paste.")
    echo_fields = ("id",)

    class Meta:
        model = WebForm
        fields = [
            "id",
            "name",
            "key",
            "url",
            "fields",
            "source",
            "campaign",
            "thank_you_message",
            "redirect_url",
            "allowed_origins",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "submissions",
            "snippet",
        ]
        read_only_fields = [
            "id",
            "key",
            "url",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "submissions",
            "snippet",
        ]
        extra_kwargs = {"is_active": {"required": False}}

    def get_fields(self) -> dict[str, serializers.Field]:
        # `fields` cannot be declared as a class attribute: it is the serializer's own
        # property (the map of its fields). Added here, it is an ordinary field.
        fields = super().get_fields()
        fields["fields"] = FormFieldsField(
            required=False,
            help_text="Lead fields the visitor fills in, in order. company_name and last_name "
            "are always added; the list must hold email, phone or both (a lead needs a way to "
            "reach the person), else 400 `no_reach`.",
        )
        return fields

    def _absolute(self, form: WebForm) -> str:
        request = self.context.get("request")
        path = public_path(form)
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, form: WebForm) -> str:
        return self._absolute(form)

    @extend_schema_field(SubmissionCountsSerializer)
    def get_submissions(self, form: WebForm) -> dict[str, int]:
        return selectors.submission_counts(form)

    def get_snippet(self, form: WebForm) -> str:
        return html_snippet(form, action=self._absolute(form))


class WebFormPatchSerializer(WebFormSerializer):
    version = serializers.IntegerField(required=False, help_text="Or send If-Match.")

    class Meta(WebFormSerializer.Meta):
        read_only_fields = [f for f in WebFormSerializer.Meta.read_only_fields if f != "version"]


# --- intake keys ------------------------------------------------------------------------------


class IntakeKeySerializer(serializers.ModelSerializer):
    """A webhook credential; its secret is never shown again after it is made."""

    created_by = CaptureUserSerializer(read_only=True)
    revoked_by = CaptureUserSerializer(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True, help_text="False once revoked.")

    class Meta:
        model = IntakeKey
        fields = [
            "id",
            "name",
            "prefix",
            "is_active",
            "created_by",
            "created_at",
            "revoked_at",
            "revoked_by",
            "last_used_at",
        ]
        read_only_fields = fields


class IntakeKeyCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(
        allow_blank=True, max_length=100, help_text="What uses it, e.g. “HubSpot workflow”."
    )


class IntakeKeyCreatedSerializer(IntakeKeySerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Send it as X-Intake-Key. Shown in this answer only: it is not stored.",
    )

    class Meta(IntakeKeySerializer.Meta):
        fields = [*IntakeKeySerializer.Meta.fields, "secret"]
        read_only_fields = fields


# --- the webhook ------------------------------------------------------------------------------


class IntakeLeadSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """One lead for the webhook: its intake fields (the intake rules say which are
    required: company_name, last_name, email or phone, source)."""

    # Checked with the other intake rules, so all of a row's problems come back at once.
    source = serializers.CharField(  # type: ignore[assignment]  # the lead's source, not Field.source
        required=False, allow_blank=True, help_text=f"One of: {', '.join(Source.values)}."
    )

    class Meta:
        model = Lead
        fields = list(INTAKE_FIELDS)
        extra_kwargs = {
            "company_name": {"required": False, "allow_blank": True},
            "last_name": {"required": False, "allow_blank": True},
            "country": {
                "max_length": 100,
                "help_text": "ISO 3166 two-letter code, e.g. ID; a country's name is read as "
                "its code.",
            },
        }

    def validate_country(self, value: str) -> str:
        return value.upper()


class IntakeRequestSerializer(IntakeLeadSerializer):
    """The webhook's body: one lead's fields at the top level, or `leads` (and nothing
    else) holding up to 500 of them."""

    leads = serializers.ListField(
        child=IntakeLeadSerializer(),
        required=False,
        min_length=1,
        max_length=MAX_BATCH,
        help_text=f"A batch: 1 to {MAX_BATCH} lead objects, answered row by row.",
    )

    class Meta(IntakeLeadSerializer.Meta):
        fields = [*INTAKE_FIELDS, "leads"]


IntakeRowResult = inline_serializer(
    "IntakeRowResult",
    fields={
        "index": serializers.IntegerField(help_text="The row's position in the request, from 0."),
        "outcome": serializers.ChoiceField(
            choices=["created", "deduplicated"],
            required=False,
            help_text="created: a new lead, routed. deduplicated: the person has an open "
            "lead; the touch is on its timeline. Absent when the row failed.",
        ),
        "lead": serializers.IntegerField(
            required=False, help_text="The lead's id (the existing one when deduplicated)."
        ),
        "errors": ApiProblemSerializer(
            many=True, required=False, help_text="Why the row made no lead; fields as sent."
        ),
    },
)

IntakeResponse = inline_serializer(
    "IntakeResponse",
    fields={
        "results": serializers.ListField(
            child=IntakeRowResult, help_text="One per row, in the request's order."
        ),
        "created": serializers.IntegerField(),
        "deduplicated": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
    },
)
