"""`POST /api/v1/leads/bulk/`: one action on many leads, each row through its service.

Thin, like every API view: parse strictly (an unknown key, an id list over the cap or a
filter the lead list does not know is a 400 naming it), turn `filter` into ids with the
list's own filters (`GET /api/v1/leads/?...` would return the same rows), then hand the
ids to `leads.services.bulk.lead_bulk`, which calls the lead's service once per row. The
answer is 200 whatever became of the rows: each row says `ok` or its `errors`.
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
from leads import selectors, services
from leads.api.views import LeadFilter
from leads.services import bulk

MAX_ID = 2**63 - 1


class BulkFilterField(serializers.DictField):
    """The lead list's query parameters (`status`, `source`, `owner`, `search`): a value
    is a string, or a list of strings for a parameter that repeats (`status`)."""

    child = serializers.JSONField()


class LeadBulkSerializer(StrictFieldsMixin, serializers.Serializer):
    action = serializers.ChoiceField(choices=list(bulk.ACTIONS), help_text="What to do.")
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=bulk.BULK_CAP,
        help_text=f"The leads, at most {bulk.BULK_CAP}. Send `ids` or `filter`.",
    )
    filter = BulkFilterField(
        required=False,
        help_text="Every lead `GET /api/v1/leads/` returns with these query parameters "
        f"(status, source, owner, search), at most {bulk.BULK_CAP}.",
    )
    owner = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="`assign`: the SDR's id."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="`reject`: the rejection reason's code; `nurture`: why; `assign`: audit.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=4000,
        help_text="`reject`: the rationale marketing reads.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"ids": [_("Send either the leads' ids or a filter, not both or neither.")]},
                code="required",
            )
        needs = {bulk.ASSIGN: ["owner"], bulk.REJECT: ["reason", "note"], bulk.NURTURE: ["reason"]}
        missing = {
            name: [_("This action needs it.")]
            for name in needs.get(attrs["action"], [])
            if not attrs.get(name)
        }
        if missing:
            raise serializers.ValidationError(missing, code="required")
        return attrs


# The answer: each row `ok`, or `ok: false` with its `errors` (as every 400 words them).
# (Inline: a serializer cannot declare a field named `errors`, its own property.)
BULK_RESULT = inline_serializer(
    "LeadBulkResult",
    fields={
        "results": inline_serializer(
            "LeadBulkRow",
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


def _owner(owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = next((u for u in services.owner_choices() if u.pk == owner_id), None)
    if owner is None:
        raise ValidationFailed(
            problems=[Problem("invalid_choice", "owner", _("Choose an active SDR."))]
        )
    return owner


def filter_ids(user: User, raw: Mapping[str, Any]) -> list[int]:
    """The ids of the leads the list's filter `raw` matches, refused (naming the filter
    key) when a key is unknown, a value does not parse, or more than the cap match."""
    allowed = set(LeadFilter.base_filters)
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
    filterset = LeadFilter(query, queryset=selectors.leads_for_api(user))
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
                    _("More than %(cap)s leads match: narrow the filter.") % {"cap": bulk.BULK_CAP},
                )
            ]
        )
    return ids


class LeadBulkView(APIView):
    request: AuthedRequest

    @extend_schema(
        operation_id="leads_bulk_create",
        request=LeadBulkSerializer,
        responses={200: BULK_RESULT, 400: ERRORS},
        description="Run one action (assign, accept, reject, nurture) on many leads: the "
        "`ids` given, or every lead the list's `filter` matches (at most "
        f"{bulk.BULK_CAP}). Each lead goes through the same service and permission check "
        "as its own action, in its own transaction: a lead that cannot be changed fails "
        "alone, with its errors, and the others are done.",
        tags=["leads"],
    )
    def post(self, request: Request) -> Response:
        user = self.request.user
        data = validate_all(LeadBulkSerializer(data=request.data))
        ids = data["ids"] if "ids" in data else filter_ids(user, data["filter"])
        result = bulk.lead_bulk(
            by=user,
            action=data["action"],
            ids=ids,
            owner=_owner(data.get("owner")),
            reason=data["reason"],
            note=data["note"],
        )
        return Response(result.as_dict())
