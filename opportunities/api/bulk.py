"""`POST /api/v1/opportunities/bulk/`: one action on many deals, each row through its service.

The deal's side of `crm.api.bulk`: its parameters (`stage` and the lost fields for
`move_stage`, `owner` and `reason` for `change_owner`), its list filter
(`GET /api/v1/opportunities/?...` would return the same rows) and its action table
(`opportunities.services.bulk.OPPORTUNITIES`), which calls the deal's service per row.
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
from opportunities import selectors
from opportunities.api.views import OpportunityFilter
from opportunities.models import Stage
from opportunities.services import bulk, new_owner_choices


class OpportunityBulkSerializer(BulkSerializer):
    either_message = gettext_lazy("Send either the deals' ids or a filter, not both or neither.")
    needs = {bulk.MOVE_STAGE: ["stage"], bulk.CHANGE_OWNER: ["owner", "reason"]}

    action = serializers.ChoiceField(choices=list(bulk.ACTIONS), help_text="What to do.")
    ids = ids_field(f"The deals, at most {bulk.BULK_CAP}. Send `ids` or `filter`.")
    filter = BulkFilterField(
        required=False,
        help_text="Every deal `GET /api/v1/opportunities/` returns with these query "
        f"parameters, at most {bulk.BULK_CAP}.",
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, help_text="`move_stage`: the stage's id."
    )
    owner = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="`change_owner`: the id of the AE who takes the deals.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Why (audit); required for `change_owner`.",
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

    def missing_message(self, name: str) -> str:
        if name == "stage":
            return _("Choose the stage.")
        return super().missing_message(name)


def _owner(by: User, owner_id: int | None) -> User | None:
    """The AE `owner_id`, if `by` may hand deals to them (else a 400 naming `owner`)."""
    if owner_id is None:
        return None
    owner = new_owner_choices(by).filter(pk=owner_id).first()
    if owner is None:
        raise ValidationFailed(
            problems=[Problem("invalid_choice", "owner", _("Choose an active AE you manage."))]
        )
    return owner


@extend_schema_view(
    post=extend_schema(
        operation_id="opportunities_bulk_create",
        request=OpportunityBulkSerializer,
        responses={200: bulk_result_schema("Opportunity"), 400: ERRORS},
        description="Move many deals to a stage (`move_stage`), or hand them to another AE "
        "(`change_owner`: the team's manager or RevOps, with a reason): the `ids` given, "
        f"or every deal the list's `filter` matches (at most {bulk.BULK_CAP}). Each deal "
        "goes through the same service and permission check as its own change, in its own "
        "transaction: a deal that cannot change (exit fields missing, waiting for "
        "approval, closed, not yours) fails alone, with its errors, and the others are done.",
        tags=["opportunities"],
    ),
)
class OpportunityBulkView(BulkView):
    serializer_class = OpportunityBulkSerializer
    filterset_class = OpportunityFilter
    too_many = gettext_lazy("More than %(cap)s deals match: narrow the filter.")

    def rows(self, user: User) -> QuerySet[Any]:
        return selectors.api_opportunities(user)

    def cap(self) -> int:
        return bulk.BULK_CAP

    def run(self, user: User, data: Mapping[str, Any], ids: list[int]) -> BulkResult:
        return bulk.opportunity_bulk(
            by=user,
            action=data["action"],
            ids=ids,
            stage=data.get("stage"),
            owner=_owner(user, data.get("owner")) if data["action"] == bulk.CHANGE_OWNER else None,
            reason=data["reason"],
            lost_reason=data["lost_reason"],
            lost_to_competitor=data["lost_to_competitor"],
        )
