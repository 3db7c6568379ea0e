"""Input validation and output shape for the leads API. No logic: services decide.

Every serializer that reads a write is strict (`crm.api.serializers.StrictFieldsMixin`): an
unknown or read-only key is refused with 400 naming it, not silently dropped."""

from __future__ import annotations

from rest_framework import serializers

from crm.api.lean import Computed, Shape, user_display_name
from crm.api.serializers import BoundedDateTimeField, DisplayName, StrictFieldsMixin
from crm.models import User
from leads.models import (
    Activity,
    DisqualificationReason,
    Handoff,
    Lead,
    LeadTransition,
    Qualification,
    RejectionReason,
    Source,
)
from leads.services import EDITABLE_FIELDS, QUALIFICATION_FIELDS


class UserRefSerializer(serializers.ModelSerializer):
    name = DisplayName(source="*")

    class Meta:
        model = User
        fields = ["id", "username", "name", "role"]


class LeadSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True, allow_null=True)
    ae = UserRefSerializer(read_only=True, allow_null=True)
    rejection_reason: serializers.SlugRelatedField[RejectionReason] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    disqualification_reason: serializers.SlugRelatedField[DisqualificationReason] = (
        serializers.SlugRelatedField(
            slug_field="code",
            read_only=True,
            allow_null=True,
            help_text="The DisqualificationReason code; null on leads disqualified before "
            "the list existed (their disqualification_note says why).",
        )
    )
    # Checked with the other intake rules by the service, so all problems come back at once.
    source = serializers.CharField(  # type: ignore[assignment]  # the lead's source, not Field.source
        required=False, allow_blank=True, help_text=f"One of: {', '.join(Source.values)}."
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            *EDITABLE_FIELDS,
            "status",
            "owner",
            "ae",
            "team",
            "version",
            "created_at",
            "updated_at",
            "mql_at",
            "assigned_at",
            "first_contacted_at",
            "accepted_at",
            "qualified_at",
            "handed_off_at",
            "converted_at",
            "rejected_at",
            "nurtured_at",
            "disqualified_at",
            "rejection_reason",
            "rejection_note",
            "disqualification_reason",
            "disqualification_note",
            "account",
            "contact",
            "previous_lead",
            "merged_into",
        ]
        read_only_fields = [f for f in fields if f not in EDITABLE_FIELDS]
        # Intake rules (company, contact, source) live in leads.gate, applied by the service,
        # so that the API, the form and the import report the very same problems.
        extra_kwargs = {
            "company_name": {"required": False, "allow_blank": True},
            "last_name": {"required": False, "allow_blank": True},
            # A name ("Indonesia") is read as its code by the service (`gate.canonical`).
            "country": {
                "max_length": 100,
                "help_text": "ISO 3166 two-letter code, e.g. ID; a country's name is read "
                "as its code.",
            },
        }


# The list and the detail are built from these (crm.api.lean): the serializers' output,
# byte for byte, from the columns they show, without a model instance per row.
USER_REF_SHAPE = Shape(
    UserRefSerializer,
    computed={"name": Computed(("first_name", "last_name", "username"), user_display_name)},
)
LEAD_SHAPE = Shape(LeadSerializer, nested={"owner": USER_REF_SHAPE, "ae": USER_REF_SHAPE})


class LeadCreatedSerializer(LeadSerializer):
    """`POST /leads/` when the person was new (201): the lead, and what intake did."""

    outcome = serializers.ChoiceField(
        choices=["created"],
        read_only=True,
        help_text="created: a new lead (previous_lead: the person's last closed lead, if any).",
    )

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "outcome"]
        read_only_fields = [*LeadSerializer.Meta.read_only_fields, "outcome"]


class LeadDeduplicatedSerializer(serializers.Serializer):
    """`POST /leads/` when the person already had a live lead (200): nothing was created;
    the submission was recorded as a touch on that lead's timeline."""

    outcome = serializers.ChoiceField(choices=["deduplicated"], read_only=True)
    id = serializers.IntegerField(read_only=True, help_text="The person's live lead.")
    lead = LeadSerializer(
        read_only=True,
        allow_null=True,
        help_text="That lead, or null when it is not yours to see (another rep's lead).",
    )


class LeadPatchSerializer(LeadSerializer):
    version = serializers.IntegerField(required=False, help_text="Or send If-Match.")

    class Meta(LeadSerializer.Meta):
        read_only_fields = [f for f in LeadSerializer.Meta.read_only_fields if f != "version"]


class VersionedActionSerializer(StrictFieldsMixin, serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="The lead version you saw (or send If-Match)."
    )


class ReasonSerializer(VersionedActionSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class RequiredReasonSerializer(VersionedActionSerializer):
    reason = serializers.CharField(allow_blank=True)


class RejectSerializer(VersionedActionSerializer):
    reason = serializers.CharField(allow_blank=True, help_text="A RejectionReason code.")
    note = serializers.CharField(allow_blank=True, help_text="The rationale marketing reads.")


class DisqualifySerializer(VersionedActionSerializer):
    """The same shape as rejecting: a reason code from the list, a rationale."""

    reason = serializers.CharField(
        allow_blank=True,
        help_text="An active DisqualificationReason code (GET /api/v1/disqualification-reasons/). "
        'Not free text: `{"reason": "Company closed"}` alone is refused, naming `reason` and '
        "`note`.",
    )
    note = serializers.CharField(allow_blank=True, help_text="The rationale marketing reads.")


class HandoffInputSerializer(VersionedActionSerializer):
    to_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    discovery_meeting_at = BoundedDateTimeField(required=False, allow_null=True)
    company_background = serializers.CharField(required=False, allow_blank=True, default="")
    contacts_org_chart = serializers.CharField(required=False, allow_blank=True, default="")
    pain_points = serializers.CharField(required=False, allow_blank=True, default="")
    engagement_history = serializers.CharField(required=False, allow_blank=True, default="")
    qualification_notes = serializers.CharField(required=False, allow_blank=True, default="")
    recommended_next_step = serializers.CharField(required=False, allow_blank=True, default="")


class AssignSerializer(StrictFieldsMixin, serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DiscoverySerializer(StrictFieldsMixin, serializers.Serializer):
    held_at = BoundedDateTimeField(required=False, allow_null=True)
    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    repeated_discovery = serializers.BooleanField(required=False, allow_null=True)


class QualificationSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, help_text="Or send If-Match.")
    confirmed_count = serializers.IntegerField(read_only=True)
    # A lead made before intake created qualifications shows a blank one, never saved.
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null until the criteria are first saved."
    )

    class Meta:
        model = Qualification
        fields = ["lead", *QUALIFICATION_FIELDS, "version", "confirmed_count", "updated_at"]
        read_only_fields = ["lead", "updated_at"]


class HandoffSerializer(serializers.ModelSerializer):
    class Meta:
        model = Handoff
        fields = [
            "id",
            "lead",
            "from_user",
            "to_user",
            "company_background",
            "contacts_org_chart",
            "pain_points",
            "engagement_history",
            "qualification_notes",
            "recommended_next_step",
            "discovery_meeting_at",
            "discovery_held_at",
            "ae_rating",
            "ae_repeated_discovery",
            "created_at",
        ]
        read_only_fields = fields


class ActivitySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "occurred_at",
            "due_at",
            "completed_at",
            "is_first_contact",
            "owner",
            "created_at",
        ]
        read_only_fields = ["id", "completed_at", "is_first_contact", "owner", "created_at"]


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadTransition
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]
