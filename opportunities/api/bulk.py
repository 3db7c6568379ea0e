"""`POST /api/v1/opportunities/bulk/`: one action on many deals, each row through its service.

Thin, like every API view: parse strictly (an unknown key, an id list over the cap or a
filter the deal list does not know is a 400 naming it), turn `filter` into ids with the
list's own filters (`GET /api/v1/opportunities/?...` would return the same rows), then
hand the ids to `opportunities.services.bulk.opportunity_bulk`, which calls
`opportunity_move_stage` once per row. The answer is 200 whatever became of the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.serializers import (
    ERRORS,
    ApiProblemSerializer,
    StrictFieldsMixin,
    validate_all,
)
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.web.requests import AuthedRequest
from opportunities import selectors
from opportunities.api.views import OpportunityFilter
from opportunities.models import Stage
from opportunities.services import bulk

MAX_ID = 2**63 - 1


class BulkFilterField(serializers.DictField):
    """The deal list's query parameters (`stage`, `owner`, `source`, `currency`,
    `approval`, `is_open`, `is_override`): a string, or a list for `stage`."""

    child = serializers.JSONField()


class OpportunityBulkSerializer(StrictFieldsMixin, serializers.Serializer):
    action = serializers.ChoiceField(choices=list(bulk.ACTIONS), help_text="What to do.")
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=bulk.BULK_CAP,
        help_text=f"The deals, at most {bulk.BULK_CAP}. Send `ids` or `filter`.",
    )
    filter = BulkFilterField(
        required=False,
        help_text="Every deal `GET /api/v1/opportunities/` returns with these query "
        f"parameters, at most {bulk.BULK_CAP}.",
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, help_text="`move_stage`: the stage's id."
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Why (audit)."
    )
    lost_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Moving to a lost stage: why it was lost.",
    )
    lost_to_competitor = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="Moving to a lost stage: to whom (or 'No decision').",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"ids": [_("Send either the deals' ids or a filter, not both or neither.")]},
                code="required",
            )
        if attrs["action"] == bulk.MOVE_STAGE and attrs.get("stage") is None:
            raise serializers.ValidationError({"stage": [_("Choose the stage.")]}, code="required")
        return attrs


# The answer: each row `ok`, or `ok: false` with its `errors` (as every 400 words them).
# (Inline: a serializer cannot declare a field named `errors`, its own property.)
BULK_RESULT = inline_serializer(
    "OpportunityBulkResult",
    fields={
        "results": inline_serializer(
            "OpportunityBulkRow",
            many=True,
            fields={
                "id": serializers.IntegerField(),
                "ok": serializers.BooleanField(),
                "errors": ApiProblemSerializer(
                    many=True, required=False, help_text="Why this row was not done."
                ),
            },
        ),
        "done": serializers.IntegerField(help_text="Rows done."),
        "failed": serializers.IntegerField(help_text="Rows not done."),
    },
)


def filter_ids(user: User, raw: Mapping[str, Any]) -> list[int]:
    """The ids of the deals the list's filter `raw` matches, refused (naming the filter
    key) when a key is unknown, a value does not parse, or more than the cap match."""
    allowed = set(OpportunityFilter.base_filters)
    query = QueryDict(mutable=True)
    problems = []
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if key not in allowed:
            message = _("Unknown filter '%(name)s'.") % {"name": key}
            problems.append(Problem("unknown_field", f"filter.{key}", message))
        elif not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            message = _("Give a text value or a list of them.")
            problems.append(Problem("invalid", f"filter.{key}", message))
        else:
            query.setlist(key, [str(v) for v in values])
    if problems:
        raise ValidationFailed(problems=problems)
    filterset = OpportunityFilter(query, queryset=selectors.api_opportunities(user))
    if not filterset.is_valid():
        raise ValidationFailed(
            problems=[
                Problem("invalid", f"filter.{key}", str(message))
                for key, messages in filterset.errors.items()
                for message in messages
            ]
        )
    ids = list(filterset.qs.order_by("pk").values_list("pk", flat=True)[: bulk.BULK_CAP + 1])
    if len(ids) > bulk.BULK_CAP:
        raise ValidationFailed(
            problems=[
                Problem(
                    "too_many",
                    "filter",
                    _("More than %(cap)s deals match: narrow the filter.") % {"cap": bulk.BULK_CAP},
                )
            ]
        )
    return ids


class OpportunityBulkView(APIView):
    request: AuthedRequest

    @extend_schema(
        operation_id="opportunities_bulk_create",
        request=OpportunityBulkSerializer,
        responses={200: BULK_RESULT, 400: ERRORS},
        description="Move many deals to a stage: the `ids` given, or every deal the list's "
        f"`filter` matches (at most {bulk.BULK_CAP}). Each deal goes through the same "
        "service and permission check as its own move, in its own transaction: a deal that "
        "cannot move (exit fields missing, waiting for approval, not yours) fails alone, "
        "with its errors, and the others are done.",
        tags=["opportunities"],
    )
    def post(self, request: Request) -> Response:
        user = self.request.user
        data = validate_all(OpportunityBulkSerializer(data=request.data))
        ids = data["ids"] if "ids" in data else filter_ids(user, data["filter"])
        result = bulk.opportunity_bulk(
            by=user,
            action=data["action"],
            ids=ids,
            stage=data.get("stage"),
            reason=data["reason"],
            lost_reason=data["lost_reason"],
            lost_to_competitor=data["lost_to_competitor"],
        )
        return Response(result.as_dict())
