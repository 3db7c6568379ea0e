"""`POST /api/v1/<kind>/bulk/`: one action on many records, each row through its service.

The parts every kind's bulk endpoint shares (`leads.api.bulk`, `opportunities.api.bulk`):
the `ids` / `filter` fields and the rule that exactly one of them is sent, turning a
`filter` into ids with the kind's own list filter (`GET /api/v1/<kind>/?...` would
return the same rows), and the answer's shape. Thin, like every API view: parse
strictly (an unknown key, an id list over the cap or a filter the list does not know is
a 400 naming it), then hand the ids to the kind's `crm.bulk.BulkKind`. The answer is 200
whatever became of the rows: each row says `ok` or its `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.serializers import ApiProblemSerializer, StrictFieldsMixin, validate_all
from crm.bulk import BULK_CAP, BulkResult
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.web.requests import AuthedRequest

MAX_ID = 2**63 - 1


class BulkFilterField(serializers.DictField):
    """The list's query parameters: a value is a string, or a list of strings for a
    parameter that repeats (a lead's `status`, a deal's `stage`)."""

    child = serializers.JSONField()


def ids_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=BULK_CAP,
        help_text=help_text,
    )


class BulkSerializer(StrictFieldsMixin, serializers.Serializer):
    """`ids` or `filter`, never both; a kind adds `action` and the actions' parameters,
    and names in `needs` which parameters an action cannot run without."""

    either_message: ClassVar[str | Promise] = ""
    needs: ClassVar[Mapping[str, Sequence[str]]] = {}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"ids": [str(self.either_message)]}, code="required")
        missing = {
            name: [self.missing_message(name)]
            for name in self.needs.get(attrs["action"], [])
            if not attrs.get(name)
        }
        if missing:
            raise serializers.ValidationError(missing, code="required")
        return attrs

    def missing_message(self, name: str) -> str:
        """What a missing parameter `name` says (a kind may word one its own way)."""
        return _("This action needs it.")


def bulk_result_schema(prefix: str) -> Any:
    """The answer: each row `ok`, or `ok: false` with its `errors` (as every 400 words
    them). Inline: a serializer cannot declare a field named `errors`, its own property."""
    return inline_serializer(
        f"{prefix}BulkResult",
        fields={
            "results": inline_serializer(
                f"{prefix}BulkRow",
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


def filter_ids(
    raw: Mapping[str, Any],
    *,
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet[Any],
    too_many: str | Promise,
    cap: int = BULK_CAP,
) -> list[int]:
    """The ids of the rows the list's filter `raw` matches, refused (naming the filter
    key) when a key is unknown, a value does not parse, or more than `cap` match.
    `too_many` is the kind's message, with `%(cap)s`."""
    allowed = set(filterset_class.base_filters)
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
    filterset = filterset_class(query, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(
            problems=[
                Problem("invalid", f"filter.{key}", str(message))
                for key, messages in filterset.errors.items()
                for message in messages
            ]
        )
    ids = list(filterset.qs.order_by("pk").values_list("pk", flat=True)[: cap + 1])
    if len(ids) > cap:
        raise ValidationFailed(
            problems=[Problem("too_many", "filter", str(too_many) % {"cap": cap})]
        )
    return ids


class BulkView(APIView):
    """Parse, resolve `filter` to ids, run. A kind sets `serializer_class`, its list's
    `filterset_class` and `too_many` (with %(cap)s), and says which rows its list
    shows (`rows`), its cap (`cap`) and how a run is called (`run`)."""

    request: AuthedRequest
    serializer_class: ClassVar[type[BulkSerializer]]
    filterset_class: ClassVar[type[django_filters.FilterSet]]
    too_many: ClassVar[str | Promise]

    def post(self, request: Request) -> Response:
        user = self.request.user
        data = validate_all(self.serializer_class(data=request.data))
        if "ids" in data:
            ids = data["ids"]
        else:
            ids = filter_ids(
                data["filter"],
                filterset_class=self.filterset_class,
                queryset=self.rows(user),
                too_many=self.too_many,
                cap=self.cap(),
            )
        return Response(self.run(user, data, ids).as_dict())

    def rows(self, user: User) -> QuerySet[Any]:
        raise NotImplementedError

    def cap(self) -> int:
        return BULK_CAP

    def run(self, user: User, data: Mapping[str, Any], ids: list[int]) -> BulkResult:
        raise NotImplementedError
