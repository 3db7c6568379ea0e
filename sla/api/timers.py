"""`GET /api/v1/sla/timers/`: the SLA clocks list over the API. Every clock the user may
see (`SlaTimerQuerySet.visible_to`: RevOps all, a manager the team's, anyone else their
own), narrowed by `state` and `policy`, in `?ordering=` (`sla.lists.TIMER_SORTS`, soonest
due first by default), a keyset page at a time. Read-only: clocks change only through the
lifecycle and the sweep."""

from __future__ import annotations

from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend  # type: ignore[import-untyped]
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated

from crm.api.filters import IdFilter
from crm.api.ordering import OrderingFilter, SortedKeysetPagination
from crm.web.requests import AuthedRequest
from sla import lists
from sla.api.serializers import SlaTimerSerializer, UserNameSerializer
from sla.models import SlaTimer


class SlaTimerListSerializer(SlaTimerSerializer):
    """A clock with the lead it runs on and the person responsible for it."""

    lead = serializers.IntegerField(source="lead_id", read_only=True)
    lead_company = serializers.CharField(source="lead.company_name", read_only=True)
    responsible = UserNameSerializer(read_only=True, allow_null=True)

    class Meta(SlaTimerSerializer.Meta):
        fields = [*SlaTimerSerializer.Meta.fields, "lead", "lead_company", "responsible"]
        read_only_fields = fields


class TimerFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=lists.STATE_CHOICES, method="filter_state")
    policy = IdFilter(field_name="policy_id")

    class Meta:
        model = SlaTimer
        fields = ["state", "policy"]

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        return lists.in_state(queryset, value, now=timezone.now())


class TimerPagination(SortedKeysetPagination):
    page_size = 50
    max_page_size = 200


class SlaTimerViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SlaTimerListSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = TimerPagination
    filterset_class = TimerFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    sort_spec = lists.TIMER_SORTS
    request: AuthedRequest  # signed in: IsAuthenticated refuses anyone else

    def get_queryset(self) -> QuerySet[SlaTimer]:
        return lists.visible_timers(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        # One instant for every row's `state`.
        return {**super().get_serializer_context(), "now": timezone.now()}
