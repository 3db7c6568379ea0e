"""`POST /api/v1/leads/bulk/`: one action on many leads, each row through its service.

The lead's side of `crm.api.bulk`: its parameters (`owner`, `reason`, `note`), its list
filter (`GET /api/v1/leads/?...` would return the same rows) and its action table
(`leads.services.bulk.LEADS`), which calls the lead's service once per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from crm.api.bulk import (
    MAX_ID,
    BulkFilterField,
    BulkSerializer,
    BulkView,
    bulk_result_schema,
    ids_field,
)
from crm.api.serializers import ERRORS
from crm.bulk import BulkResult
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from leads import selectors, services
from leads.api.views import LeadFilter
from leads.services import bulk


class LeadBulkSerializer(BulkSerializer):
    either_message = gettext_lazy("Send either the leads' ids or a filter, not both or neither.")
    needs = {bulk.ASSIGN: ["owner"], bulk.REJECT: ["reason", "note"], bulk.NURTURE: ["reason"]}

    action = serializers.ChoiceField(choices=list(bulk.ACTIONS), help_text="What to do.")
    ids = ids_field(f"The leads, at most {bulk.BULK_CAP}. Send `ids` or `filter`.")
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


def _owner(owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = next((u for u in services.owner_choices() if u.pk == owner_id), None)
    if owner is None:
        raise ValidationFailed(
            problems=[Problem("invalid_choice", "owner", _("Choose an active SDR."))]
        )
    return owner


@extend_schema_view(
    post=extend_schema(
        operation_id="leads_bulk_create",
        request=LeadBulkSerializer,
        responses={200: bulk_result_schema("Lead"), 400: ERRORS},
        description="Run one action (assign, accept, reject, nurture) on many leads: the "
        "`ids` given, or every lead the list's `filter` matches (at most "
        f"{bulk.BULK_CAP}). Each lead goes through the same service and permission check "
        "as its own action, in its own transaction: a lead that cannot be changed fails "
        "alone, with its errors, and the others are done.",
        tags=["leads"],
    ),
)
class LeadBulkView(BulkView):
    serializer_class = LeadBulkSerializer
    filterset_class = LeadFilter
    too_many = gettext_lazy("More than %(cap)s leads match: narrow the filter.")

    def rows(self, user: User) -> QuerySet[Any]:
        return selectors.leads_for_api(user)

    def cap(self) -> int:
        return bulk.BULK_CAP

    def run(self, user: User, data: Mapping[str, Any], ids: list[int]) -> BulkResult:
        return bulk.lead_bulk(
            by=user,
            action=data["action"],
            ids=ids,
            owner=_owner(data.get("owner")),
            reason=data["reason"],
            note=data["note"],
        )
