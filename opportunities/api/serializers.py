"""Shapes of the opportunities API. Conversion input is documented here but parsed by
opportunities.conversion, so the wizard and the API report the same problems.

Writes are strict (`crm.api.serializers.StrictFieldsMixin`): an unknown or read-only key is
refused with 400 naming it; the conversion endpoints refuse unknown keys the same way
(`opportunities.conversion.unknown_field_problems`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from crm.api.lean import Computed, Related, Shape
from crm.api.prepared import rows_for_ids
from crm.api.serializers import StrictFieldsMixin
from opportunities.lean_selectors import contact_roles_of
from opportunities.models import (
    ConversionRequest,
    Opportunity,
    OpportunityContactRole,
    Stage,
    StageChange,
)


class ContactRoleSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.full_name", read_only=True)
    email = serializers.CharField(source="contact.email", read_only=True)

    class Meta:
        model = OpportunityContactRole
        fields = ["contact", "contact_name", "email", "role"]


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = [
            "id",
            "name",
            "position",
            "default_probability",
            "is_entry",
            "is_won",
            "is_lost",
            "rot_days",
            "exit_required_fields",
        ]


class OpportunitySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    contact_roles = ContactRoleSerializer(many=True, read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "lead",
            "account",
            "primary_contact",
            "contact_roles",
            "owner",
            "amount",
            "currency",
            "discount_notes",
            "expected_close_date",
            "close_date_reason",
            "stage",
            "stage_name",
            "probability",
            "next_step",
            "next_step_owner",
            "next_step_due",
            "source",
            "campaign",
            "lead_score_at_conversion",
            "qualification_framework",
            "qualification_summary",
            "product_line",
            "use_case",
            "industry_vertical",
            "decision_criteria",
            "competitive_landscape",
            "risks",
            "lost_reason",
            "lost_to_competitor",
            "closed_at",
            "approval",
            "is_override",
            "stage_entered_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "lead",
            "account",
            "primary_contact",
            "owner",
            "stage",
            "source",
            "campaign",
            "lead_score_at_conversion",
            "qualification_framework",
            "qualification_summary",
            "lost_reason",
            "lost_to_competitor",
            "closed_at",
            "approval",
            "is_override",
            "stage_entered_at",
            "version",
            "created_at",
            "updated_at",
        ]


def _full_name(first_name: str, last_name: str) -> str:
    """`Contact.full_name` from its columns."""
    return f"{first_name} {last_name}".strip()


# The list and the detail are built from these (crm.api.lean): the serializers' output,
# byte for byte, from the columns they show, without a model instance per row.
CONTACT_ROLE_SHAPE = Shape(
    ContactRoleSerializer,
    computed={"contact_name": Computed(("contact__first_name", "contact__last_name"), _full_name)},
)


def _contact_roles_of(deal_ids: list[int]) -> QuerySet[OpportunityContactRole]:
    return CONTACT_ROLE_SHAPE.values(contact_roles_of(deal_ids), "opportunity")


def _contact_roles_by_deal(deal_ids: Sequence[int]) -> Mapping[int, list[dict[str, Any]]]:
    """Each deal's contact roles as the serializer shows them: one query for the page,
    compiled once per page size (crm.api.prepared)."""
    rows = rows_for_ids(OpportunityContactRole, _contact_roles_of, deal_ids)
    by_deal: dict[int, list[dict[str, Any]]] = {}
    for row, role in zip(rows, CONTACT_ROLE_SHAPE.build(rows), strict=True):
        by_deal.setdefault(row["opportunity"], []).append(role)
    return by_deal


OPPORTUNITY_SHAPE = Shape(
    OpportunitySerializer,
    related={"contact_roles": Related("id", _contact_roles_by_deal)},
)


class OpportunityPatchSerializer(OpportunitySerializer):
    version = serializers.IntegerField(required=False, help_text="Or send If-Match.")

    class Meta(OpportunitySerializer.Meta):
        read_only_fields = [
            f for f in OpportunitySerializer.Meta.read_only_fields if f != "version"
        ]
        extra_kwargs = {f: {"required": False} for f in OpportunitySerializer.Meta.fields}


class StageMoveSerializer(StrictFieldsMixin, serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.filter(is_active=True))
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    lost_reason = serializers.CharField(required=False, allow_blank=True, default="")
    lost_to_competitor = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)


class StageChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageChange
        fields = [
            "from_stage",
            "to_stage",
            "actor",
            "changed_at",
            "time_in_previous_stage",
            "reason",
        ]


class OverrideDecisionSerializer(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]  # the item's label, not Field.label
    met = serializers.BooleanField()


class ReadinessSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
    checklist = ChecklistItemSerializer(many=True)


class OverrideRequestCreatedSerializer(serializers.Serializer):
    """The answer to an override request: it waits for the manager's decision."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ConversionRequest.State.choices)
    unmet = ProblemSerializer(many=True, help_text="The criteria the request asks to waive.")


class OverrideDecidedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ConversionRequest.State.choices)
    opportunity = serializers.IntegerField(
        allow_null=True, help_text="The deal the approved conversion made; null if declined."
    )


class ConversionContactRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=OpportunityContactRole.Role.choices)
    lead_contact = serializers.BooleanField(required=False, help_text="The lead's own person.")
    contact = serializers.IntegerField(required=False, help_text="An existing contact's id.")
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    job_title = serializers.CharField(required=False)


class ConversionInputSerializer(serializers.Serializer):
    """Documentation of the conversion body; problems come back all at once as 422."""

    name = serializers.CharField(help_text="Company - Product/Service - Use case")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(help_text="ISO 4217, e.g. USD")
    discount_notes = serializers.CharField(required=False)
    expected_close_date = serializers.DateField()
    close_date_reason = serializers.CharField(required=False)
    stage = serializers.IntegerField(help_text="An entry stage id (Discovery or Qualification)")
    probability = serializers.IntegerField(required=False)
    next_step = serializers.CharField()
    next_step_owner = serializers.IntegerField()
    next_step_due = serializers.DateField()
    product_line = serializers.CharField(required=False)
    use_case = serializers.CharField(required=False)
    industry_vertical = serializers.CharField(required=False)
    decision_criteria = serializers.CharField(required=False)
    competitive_landscape = serializers.CharField(required=False)
    risks = serializers.CharField(required=False)
    contact_roles = ConversionContactRoleInput(many=True)
    attach_to = serializers.IntegerField(
        required=False, help_text="Join this open deal of the same account instead."
    )
    override_rationale = serializers.CharField(
        required=False, help_text="Only on the override-request endpoint."
    )
