"""`POST /api/v1/leads/{id}/merge/`: merge another lead of the same person into this one.

Thin, like every API view: parse (strictly: an unknown key is refused, naming it), fetch
the lead through `leads.access.lead_for` (404 when it is not the caller's to see, 403 when
they may not merge it), call `leads.services.lead_merge`, answer both leads.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.serializers import ERRORS, StrictFieldsMixin, validate_all
from crm.web.requests import AuthedRequest
from leads import selectors, services
from leads.access import lead_for
from leads.api.serializers import LeadSerializer
from leads.services.merge import CHOICES, MERGE_FIELDS, merge_problems


class MergeInputSerializer(StrictFieldsMixin, serializers.Serializer):
    duplicate = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The lead merged into this one."
    )
    values = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        default=dict,
        help_text=(
            "Field -> 'survivor' or 'duplicate': whose value the merged lead keeps. A field "
            "left out keeps this lead's value, or the duplicate's where this lead has none. "
            f"Fields: {', '.join(MERGE_FIELDS)}; choices: {', '.join(CHOICES)}."
        ),
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Why (audit)."
    )
    version = serializers.IntegerField(
        required=False, help_text="This lead's version you saw (or send If-Match)."
    )
    duplicate_version = serializers.IntegerField(
        required=False, help_text="The duplicate's version you saw."
    )


class MergeResultSerializer(serializers.Serializer):
    survivor = LeadSerializer(read_only=True)
    duplicate = LeadSerializer(read_only=True, help_text="Kept, closed, `merged_into` set.")
    moved = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Rows moved to the survivor, by kind (activities, events, transitions, "
        "handoffs; criteria: qualification fields filled in).",
    )


class LeadMergeView(APIView):
    request: AuthedRequest

    @extend_schema(
        operation_id="leads_merge_create",
        request=MergeInputSerializer,
        responses={200: MergeResultSerializer, 400: ERRORS},
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The surviving lead."),
            IF_MATCH,
        ],
        description="Merge lead `duplicate` into this lead (a manager of both, or RevOps). "
        "Activities, history, hand-offs, SLA clocks and unanswered criteria move over; the "
        "duplicate is kept, closed and read-only. Converted leads cannot be merged.",
        tags=["leads"],
    )
    def post(self, request: Request, pk: str) -> Response:
        user = self.request.user
        survivor = lead_for(user, pk, to="merge")
        data = validate_all(
            MergeInputSerializer(data=request.data),
            check=lambda parsed: merge_problems(
                survivor.pk, parsed.get("duplicate"), parsed.get("values") or {}
            ),
        )
        result = services.lead_merge(
            by=user,
            survivor=survivor.pk,
            duplicate=data["duplicate"],
            values=data["values"],
            reason=data["reason"],
            survivor_version=expected_version(request, data.get("version")),
            duplicate_version=data.get("duplicate_version"),
        )
        rows = selectors.leads_for_api(user)
        body: dict[str, Any] = {
            "survivor": LeadSerializer(rows.get(pk=result.survivor.pk)).data,
            "duplicate": LeadSerializer(selectors.lead_api_row(result.duplicate.pk)).data,
            "moved": result.moved,
        }
        return with_etag(Response(body), result.survivor.version)
