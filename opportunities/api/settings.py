"""The pipeline settings over the API: /api/v1/stages/ and /api/v1/conversion-policy/.

Anyone signed in reads them: a client needs stage ids to convert leads and move deals, and
the policy says what a conversion must carry (the close-date window, required fields) and
when a manager is told. Only RevOps writes (403 for everyone else); the audit trails
(`changes`) are for managers and RevOps, as on the settings pages. Writes go through
`opportunities.services.configuration`, the same rules and audit as the pages; a body
with unknown keys, values of the wrong kind or values the rules refuse gets one 400
listing every problem, each naming its field.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.serializers import StrictFieldsMixin, request_object, validate_all
from crm.api.settings import (
    AuditRowSerializer,
    PersonSerializer,
    SettingsPermission,
    SettingsViewSet,
)
from crm.exceptions import Problem
from crm.models import User
from crm.web.requests import AuthedRequest
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.models import ConversionPolicy, PolicyChange, Stage
from opportunities.services import configuration
from opportunities.services.configuration import (
    EXIT_FIELDS,
    MAX_DAYS,
    MAX_THRESHOLD,
    POLICY_FIELDS,
    STAGE_FIELDS,
    may,
)

CHANGES_LIMIT = 200


class PipelineSettingsPermission(SettingsPermission):
    """Reads for anyone signed in; writes for RevOps (`opportunities.rules`)."""

    message = gettext_lazy("Only RevOps may change the pipeline stages and conversion policy.")
    read_action = "read"

    def allows(self, user: User, action: Any) -> bool:
        return may(user, action)


class SettingsChangeSerializer(AuditRowSerializer):
    new = serializers.DictField(help_text="The changed settings after; {} when deleted.")

    class Meta:
        model = PolicyChange
        fields = ["id", "object_id", "at", "actor", "old", "new"]
        read_only_fields = fields


# --- stages -------------------------------------------------------------------------------


class StageSettingsSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A pipeline stage. Ranges and the rules across stages (one entry, won and lost stage
    at least, no retiring a stage with deals in it) are the service's, so every problem
    comes back at once."""

    position = serializers.IntegerField(
        required=False,
        help_text="Order in the pipeline, lowest first (default: last). A number in use moves "
        "that stage, and those right after it, down one.",
    )
    default_probability = serializers.IntegerField(
        help_text="0-100: the probability a deal entering the stage gets."
    )
    rot_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"An open deal this many days in the stage is stale (1-{MAX_DAYS}); null: never.",
    )
    exit_required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=EXIT_FIELDS),
        required=False,
        help_text="Deal fields that must be filled in to move a deal forward out of the stage.",
    )
    deal_count = serializers.IntegerField(
        read_only=True, help_text="Deals in the stage now (open or closed)."
    )
    echo_fields = ("id", "deal_count")

    class Meta:
        model = Stage
        fields = ["id", *STAGE_FIELDS, "deal_count"]
        read_only_fields = ["id", "deal_count"]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "name": {"validators": []},  # the service words the duplicate
            "is_entry": {"help_text": "Converted leads may enter here."},
            "counts_as_early": {
                "help_text": "Deals lost from or stalled here count as premature conversions."
            },
            "is_won": {"help_text": "Closed won: deals here are won."},
            "is_lost": {"help_text": "Closed lost: deals here are lost."},
            "is_active": {"help_text": "A retired stage keeps its history but cannot be chosen."},
        }


@extend_schema_view(
    list=extend_schema(
        summary="The pipeline stages, in order",
        description="Every signed-in user may read them. Filter `?is_entry=true&is_active=true` "
        "for the stages a conversion may enter.",
    ),
    retrieve=extend_schema(summary="One pipeline stage"),
    create=extend_schema(
        summary="Add a stage (RevOps)",
        responses={201: StageSettingsSerializer, 400: OpenApiResponse(description="Problems")},
    ),
    partial_update=extend_schema(
        summary="Change a stage (RevOps)",
        responses={200: StageSettingsSerializer, 400: OpenApiResponse(description="Problems")},
    ),
)
class StageViewSet(SettingsViewSet):
    permission_classes = [PipelineSettingsPermission]
    serializer_class = StageSettingsSerializer
    filterset_fields = ["is_active", "is_entry", "is_won", "is_lost"]

    def get_queryset(self) -> QuerySet[Stage]:
        return configuration.stages_for_settings()

    def new_problems(self, parsed: dict[str, Any]) -> list[Problem]:
        return configuration.stage_problems(
            configuration.new_stage_values(parsed, Stage.objects.all())
        )

    def create_row(self, data: dict[str, Any]) -> Stage:
        return configuration.stage_create(by=self.request.user, data=data)

    def row_to_change(self, pk: Any) -> Stage:
        return configuration.stage_for(self.request.user, pk, to="change")

    def change_problems(self, row: Stage, parsed: dict[str, Any]) -> list[Problem]:
        return configuration.stage_problems(configuration.stage_values(row) | parsed, stage=row)

    def update_row(self, row: Stage, data: dict[str, Any]) -> None:
        configuration.stage_update(stage_id=row.pk, by=self.request.user, data=data)

    @extend_schema(
        summary="A stage's change history (managers, RevOps)",
        responses=SettingsChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def changes(self, request: AuthedRequest, pk: str | None = None) -> Response:
        """Who changed the stage, when, old -> new; newest first."""
        stage = configuration.stage_for(self.request.user, pk, to="view")
        rows = configuration.settings_history(
            PolicyChange.Subject.STAGE, object_id=stage.pk, limit=CHANGES_LIMIT
        )
        return Response(SettingsChangeSerializer(rows, many=True).data)


# --- the conversion policy ----------------------------------------------------------------


class ThresholdsField(serializers.DictField):
    """`{"USD": 100000, ...}`: documented as whole amounts by currency; the amounts are
    judged by the service, so a bad code and a bad amount come back together, each
    named (`approval_thresholds.USD`)."""

    child = serializers.IntegerField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return {str(code): amount for code, amount in data.items()}


class ConversionPolicySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """The conversion policy, one for the whole product."""

    close_window_min_days = serializers.IntegerField(
        required=False, help_text="The expected close date is at least this many days out."
    )
    close_window_max_days = serializers.IntegerField(
        required=False,
        help_text="... and at most this many; outside the window a conversion needs a reason.",
    )
    approval_thresholds = ThresholdsField(
        required=False,
        help_text='Whole amounts by ISO 4217 currency, e.g. {"USD": 100000, "EUR": 90000}, each '
        f"1-{MAX_THRESHOLD}. Above it (or in a currency without one) the manager is told. "
        "Sending the object replaces every threshold.",
    )
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=CUSTOM_FIELDS),
        required=False,
        help_text="Custom fields a conversion, and a later deal edit, must fill in.",
    )
    stall_age_days = serializers.IntegerField(
        required=False, help_text="An early-stage deal this many days in its stage is stalled."
    )
    updated_by = PersonSerializer(read_only=True, allow_null=True)
    echo_fields = ("updated_at", "updated_by")

    class Meta:
        model = ConversionPolicy
        fields = [*POLICY_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "approval_required": {
                "help_text": "Deals above the threshold wait for a manager's approval "
                "before they count in the forecast."
            }
        }


class ConversionPolicyView(GenericAPIView):
    """GET /api/v1/conversion-policy/ (everyone signed in), PATCH (RevOps)."""

    permission_classes = [PipelineSettingsPermission]
    serializer_class = ConversionPolicySerializer
    filter_backends: list[Any] = []
    request: AuthedRequest  # signed in: the permission refuses anyone else

    @extend_schema(summary="The conversion policy")
    def get(self, request: Request) -> Response:
        return Response(ConversionPolicySerializer(ConversionPolicy.current()).data)

    @extend_schema(
        summary="Change the conversion policy (RevOps)",
        responses={200: ConversionPolicySerializer, 400: OpenApiResponse(description="Problems")},
    )
    def patch(self, request: Request) -> Response:
        policy = ConversionPolicy.current()
        serializer = ConversionPolicySerializer(policy, data=request_object(request), partial=True)
        data = validate_all(
            serializer,
            check=lambda parsed: configuration.conversion_policy_problems(
                configuration.policy_values(policy) | parsed
            ),
        )
        configuration.conversion_policy_update(by=self.request.user, data=data)
        return Response(ConversionPolicySerializer(ConversionPolicy.current()).data)


class ConversionPolicyChangesView(GenericAPIView):
    """GET /api/v1/conversion-policy/changes/: the policy's audit trail, newest first."""

    serializer_class = SettingsChangeSerializer
    filter_backends: list[Any] = []
    request: AuthedRequest  # signed in: IsAuthenticated (the default) refuses anyone else

    @extend_schema(
        summary="The conversion policy's change history (managers, RevOps)",
        responses=SettingsChangeSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        configuration.require_settings_permission(self.request.user, "view")
        rows = configuration.settings_history(
            PolicyChange.Subject.CONVERSION_POLICY, limit=CHANGES_LIMIT
        )
        return Response(SettingsChangeSerializer(rows, many=True).data)
