"""The leads settings over the API: /api/v1/routing-rules/, /api/v1/rejection-reasons/ and
/api/v1/disqualification-reasons/.

Managers and RevOps read them; only RevOps writes (403 for everyone else, as on the
settings pages). Writes go through `leads.services.settings`, the same rules and audit as
the pages and the admin; a body with unknown keys, values of the wrong kind or values the
rules refuse gets one 400 listing every problem, each naming its field.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
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
from leads import selectors
from leads.models import (
    DisqualificationReason,
    RejectionReason,
    RoutingRule,
    Segment,
    SettingChange,
    Source,
)
from leads.services import settings as service
from leads.services.assignment import routing_preview

CHANGES_LIMIT = 200


class LeadsSettingsPermission(SettingsPermission):
    """Reads for managers and RevOps; writes for RevOps (`leads.rules`)."""

    message = gettext_lazy(
        "Only RevOps may change routing rules and reasons; managers may read them."
    )

    def allows(self, user: User, action: Any) -> bool:
        return service.may(user, action)


class SettingChangeSerializer(AuditRowSerializer):
    class Meta:
        model = SettingChange
        fields = ["id", "object_id", "object_label", "at", "actor", "old", "new"]
        read_only_fields = fields


class _SettingsViewSet(SettingsViewSet):
    permission_classes = [LeadsSettingsPermission]
    filter_backends: list[Any] = []


# --- routing rules --------------------------------------------------------------------------


# Inline enums: the lead's own `source` and `segment` name these choice sets in the schema.
@extend_schema_field({"type": "string", "enum": ["", *Source.values]})
class SourceOrAnyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Source.choices, allow_blank=True, required=False, **kwargs)


@extend_schema_field({"type": "string", "enum": ["", *Segment.values]})
class SegmentOrAnyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Segment.choices, allow_blank=True, required=False, **kwargs)


class RoutingRuleSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A routing rule. The first active rule, by position, whose conditions all match a
    new MQL gives it to its team, round robin among the team's active SDRs."""

    position = serializers.IntegerField(
        required=False,
        help_text=f"Order of trial, lowest first (0-{service.MAX_POSITION}). Default: last.",
    )
    match_source = SourceOrAnyField(help_text="Only leads from this source; blank: any.")
    match_segment = SegmentOrAnyField(help_text="Only leads in this segment; blank: any.")
    last_assigned = PersonSerializer(
        read_only=True,
        allow_null=True,
        help_text="The SDR this rule last gave a lead to (its turn pointer); null at first.",
    )
    echo_fields = ("id", "last_assigned")

    class Meta:
        model = RoutingRule
        fields = ["id", *service.RULE_FIELDS, "last_assigned"]
        read_only_fields = ["id", "last_assigned"]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "name": {"help_text": "Unique; shown in each routed lead's history."},
            "team": {"help_text": "Team id: its active SDRs get the leads in turn."},
            "strategy": {
                "required": False,
                "help_text": "round_robin: within the team. territory: the same, but the "
                "rule must name a territory, segment or country.",
            },
            "match_territory": {"help_text": "Only this territory (any case); blank: any."},
            "match_country": {"help_text": "Only this ISO 3166 country code; blank: any."},
            "match_campaign": {"help_text": "Only this campaign (any case); blank: any."},
            "is_active": {"help_text": "A retired rule is kept but not applied."},
        }


class RoutingPreviewQuerySerializer(serializers.Serializer):
    # `source` shadows Field.source in the stubs; here it is the query parameter.
    source = SourceOrAnyField()  # type: ignore[assignment]
    segment = SegmentOrAnyField()
    territory = serializers.CharField(required=False, allow_blank=True, max_length=100)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    campaign = serializers.CharField(required=False, allow_blank=True, max_length=150)


class RuleRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingRule
        fields = ["id", "name"]


class RoutingPreviewSerializer(serializers.Serializer):
    """Where a lead would go now; the turn pointers do not move."""

    rule = RuleRefSerializer(
        allow_null=True, help_text="The rule that would route it; null: none does."
    )
    owner = PersonSerializer(
        allow_null=True, help_text="The SDR next in turn; null: no active SDR (Unassigned)."
    )
    fallback = serializers.BooleanField(
        source="is_fallback", help_text="True: round robin among every active SDR."
    )
    skipped = RuleRefSerializer(
        many=True, help_text="Rules that matched but whose team has no active SDR."
    )


class ReorderSerializer(StrictFieldsMixin, serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every rule's id once, in the new order."
    )


@extend_schema_view(
    list=extend_schema(summary="The routing rules, in the order they are tried"),
    retrieve=extend_schema(summary="One routing rule"),
    create=extend_schema(
        summary="Add a routing rule (RevOps)",
        responses={201: RoutingRuleSerializer, 400: OpenApiResponse(description="Problems")},
    ),
    partial_update=extend_schema(
        summary="Change a routing rule (RevOps)",
        responses={200: RoutingRuleSerializer, 400: OpenApiResponse(description="Problems")},
    ),
)
class RoutingRuleViewSet(_SettingsViewSet):
    serializer_class = RoutingRuleSerializer

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return RoutingRule.objects.select_related("team", "last_assigned").order_by(
            "position", "pk"
        )

    def new_problems(self, parsed: dict[str, Any]) -> list[Problem]:
        return service.routing_rule_problems(service.routing_rule_values(parsed))

    def create_row(self, data: dict[str, Any]) -> RoutingRule:
        return service.routing_rule_create(by=self.request.user, data=data)

    def row_to_change(self, pk: Any) -> RoutingRule:
        return service.routing_rule_for(self.request.user, pk, to="change")

    def change_problems(self, row: RoutingRule, parsed: dict[str, Any]) -> list[Problem]:
        return service.routing_rule_problems(
            service.routing_rule_values(parsed, rule=row), rule=row
        )

    def update_row(self, row: RoutingRule, data: dict[str, Any]) -> None:
        service.routing_rule_update(rule_id=row.pk, by=self.request.user, data=data)

    @extend_schema(
        summary="A routing rule's change history (managers, RevOps)",
        responses=SettingChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def changes(self, request: AuthedRequest, pk: str | None = None) -> Response:
        """Who changed the rule, when, old -> new; newest first."""
        rule = service.routing_rule_for(self.request.user, pk, to="view")
        rows = selectors.setting_changes(
            kinds=(SettingChange.Kind.ROUTING_RULE,), object_id=rule.pk, limit=CHANGES_LIMIT
        )
        return Response(SettingChangeSerializer(rows, many=True).data)

    @extend_schema(
        summary="Who would get this lead? (managers, RevOps)",
        parameters=[RoutingPreviewQuerySerializer],
        responses=RoutingPreviewSerializer,
    )
    @action(detail=False, methods=["get"])
    def preview(self, request: AuthedRequest) -> Response:
        """The rule that would route a lead with these values and the SDR next in turn,
        without moving any turn."""
        query = RoutingPreviewQuerySerializer(data=request.query_params)
        values = validate_all(query)
        values["country"] = str(values.get("country") or "").upper()
        return Response(RoutingPreviewSerializer(routing_preview(values)).data)

    @extend_schema(
        summary="Put the routing rules in a new order (RevOps)",
        request=ReorderSerializer,
        responses={
            200: RoutingRuleSerializer(many=True),
            400: OpenApiResponse(description="Problems"),
        },
    )
    @action(detail=False, methods=["post"])
    def reorder(self, request: AuthedRequest) -> Response:
        """Positions 0, 1, 2, ... in the order given; each moved rule is audited."""
        data = validate_all(ReorderSerializer(data=request_object(request)))
        service.routing_rules_reorder(by=self.request.user, order=data["order"])
        return Response(RoutingRuleSerializer(self.get_queryset(), many=True).data)


# --- reasons --------------------------------------------------------------------------------


class _ReasonSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    position = serializers.IntegerField(
        required=False,
        help_text=f"Order in the list, lowest first (0-{service.MAX_POSITION}). Default: last.",
    )
    echo_fields = ("id",)

    class Meta:
        fields = ["id", *service.REASON_FIELDS]
        read_only_fields = ["id"]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "code": {
                "required": False,
                "allow_blank": True,
                "validators": [],  # the service words the duplicate
                "help_text": "Stable key for integrations; made from the label when blank. "
                "It cannot change later.",
            },
            "label": {"help_text": "As people read it; unique in its list."},
            "is_active": {"help_text": "A retired reason is no longer offered."},
        }


class RejectionReasonSerializer(_ReasonSerializer):
    class Meta(_ReasonSerializer.Meta):
        model = RejectionReason


class DisqualificationReasonSerializer(_ReasonSerializer):
    class Meta(_ReasonSerializer.Meta):
        model = DisqualificationReason


class _ReasonViewSet(_SettingsViewSet):
    kind: str
    serializer_class: type[_ReasonSerializer]

    def get_queryset(self) -> QuerySet[Any]:
        return service.REASON_MODELS[self.kind].objects.order_by("position", "label")

    def new_problems(self, parsed: dict[str, Any]) -> list[Problem]:
        return service.reason_problems(self.kind, service.reason_values(self.kind, parsed))

    def create_row(self, data: dict[str, Any]) -> Any:
        return service.reason_create(kind=self.kind, by=self.request.user, data=data)

    def row_to_change(self, pk: Any) -> Any:
        return service.reason_for(self.request.user, self.kind, pk, to="change")

    def change_problems(self, row: Any, parsed: dict[str, Any]) -> list[Problem]:
        return service.reason_problems(
            self.kind, service.reason_values(self.kind, parsed, reason=row), reason=row
        )

    def update_row(self, row: Any, data: dict[str, Any]) -> None:
        service.reason_update(kind=self.kind, reason_id=row.pk, by=self.request.user, data=data)

    @extend_schema(
        summary="A reason's change history (managers, RevOps)",
        responses=SettingChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def changes(self, request: AuthedRequest, pk: str | None = None) -> Response:
        """Who changed the reason, when, old -> new; newest first."""
        reason = service.reason_for(self.request.user, self.kind, pk, to="view")
        rows = selectors.setting_changes(
            kinds=(service.AUDIT_KINDS[self.kind],), object_id=reason.pk, limit=CHANGES_LIMIT
        )
        return Response(SettingChangeSerializer(rows, many=True).data)


def _reason_schema(what: str, serializer: type[serializers.Serializer]) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"The {what} reasons, in list order"),
        retrieve=extend_schema(summary=f"One {what} reason"),
        create=extend_schema(
            summary=f"Add a {what} reason (RevOps)",
            responses={201: serializer, 400: OpenApiResponse(description="Problems")},
        ),
        partial_update=extend_schema(
            summary=f"Relabel, reorder, retire or restore a {what} reason (RevOps)",
            responses={200: serializer, 400: OpenApiResponse(description="Problems")},
        ),
    )


@_reason_schema("rejection", RejectionReasonSerializer)
class RejectionReasonViewSet(_ReasonViewSet):
    kind = "rejection"
    serializer_class = RejectionReasonSerializer


@_reason_schema("disqualification", DisqualificationReasonSerializer)
class DisqualificationReasonViewSet(_ReasonViewSet):
    kind = "disqualification"
    serializer_class = DisqualificationReasonSerializer
