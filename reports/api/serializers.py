"""The report settings as JSON: benchmark ranges and thresholds, MQL targets, their audit.

Writes are strict (`crm.api.serializers.StrictFieldsMixin`): an unknown or read-only key
is refused by name, together with every other problem of the body. Numbers that do not
parse, NaN, infinities and values out of range are the fields' own 400s; the rules across
values (a range's ends in order, one target per month and source) are the services'.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from crm.api.serializers import BoundedDateField, DisplayName, StrictFieldsMixin
from crm.models import User
from leads.models import Source
from reports.models import BenchmarkChange, BenchmarkRange, MqlTarget, MqlTargetChange
from reports.services import BENCHMARK_SOURCES, MAX_MQL_TARGET


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    """A percentage or ratio as the models keep it: up to 999.99, never negative."""
    return serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0), **kwargs)


class ChangedBySerializer(serializers.ModelSerializer):
    """Who made a settings change."""

    name = DisplayName(source="*")

    class Meta:
        model = User
        fields = ["id", "username", "name"]


# --- benchmarks -------------------------------------------------------------------------------


class BenchmarkRangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = BenchmarkRange
        fields = ["id", "source", "low_percent", "high_percent"]
        read_only_fields = fields


class ThresholdsSerializer(StrictFieldsMixin, serializers.Serializer):
    """The healthy pipeline-to-won ratio: pipeline created ÷ value won in the period."""

    pipeline_to_won_low = _decimal(
        required=False, help_text="Below this ratio the pipeline is thin."
    )
    pipeline_to_won_high = _decimal(
        required=False, help_text="Above this ratio the pipeline is inflated."
    )


class BenchmarksSerializer(serializers.Serializer):
    """Every conversion-rate range (`overall` is all sources together) and the thresholds."""

    ranges = BenchmarkRangeSerializer(many=True, read_only=True)
    thresholds = ThresholdsSerializer(read_only=True)


class RangeEditSerializer(StrictFieldsMixin, serializers.Serializer):
    """One range to add, change or delete, named by its source."""

    source = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.source
        max_length=10,
        help_text=f"A lead source ({', '.join(Source.values)}), or `overall` for all of them.",
    )
    low_percent = _decimal(
        max_value=Decimal(100),
        required=False,
        help_text="Lower end, %. Required for a new range; else kept when left out.",
    )
    high_percent = _decimal(
        max_value=Decimal(100),
        required=False,
        help_text="Upper end, %. Required for a new range; else kept when left out.",
    )
    delete = serializers.BooleanField(
        required=False, default=False, help_text="Remove the source's range."
    )

    def validate_source(self, value: str) -> str:
        # A plain text field in the schema: its choices differ from a lead's `source` enum.
        if value not in BENCHMARK_SOURCES:
            raise serializers.ValidationError(
                f'"{value}" is not a valid choice.', code="invalid_choice"
            )
        return value


class BenchmarksUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Ranges not listed stay as they are; so do thresholds left out."""

    ranges = RangeEditSerializer(many=True, required=False)
    thresholds = ThresholdsSerializer(required=False)


class BenchmarkChangeSerializer(serializers.ModelSerializer):
    actor = ChangedBySerializer(read_only=True)
    old = serializers.DictField(help_text="The changed values before; {} when added.")
    new = serializers.DictField(help_text="The changed values after; {} when deleted.")

    class Meta:
        model = BenchmarkChange
        fields = ["id", "source", "changed_at", "actor", "old", "new"]
        read_only_fields = fields
        extra_kwargs = {"source": {"help_text": "The range's source; empty for the thresholds."}}


# --- MQL targets ------------------------------------------------------------------------------


class MqlTargetSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A month's MQL target for a source. `month` is the month's first day."""

    month = BoundedDateField(help_text="The first day of the month, e.g. 2026-03-01.")
    target = serializers.IntegerField(
        min_value=0, max_value=MAX_MQL_TARGET, help_text="MQLs to deliver in the month."
    )

    class Meta:
        model = MqlTarget
        fields = ["id", "month", "source", "target", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        validators: list = []  # one per month and source: the service words it

    def validate_month(self, value: object) -> object:
        # The service says it too; saying it here names the field with the others.
        if getattr(value, "day", 1) != 1:
            raise serializers.ValidationError(
                "A target is for a month: give its first day.", code="not_first_of_month"
            )
        return value


class MqlTargetUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Only the number changes; a target for another month or source is a new one."""

    target = serializers.IntegerField(min_value=0, max_value=MAX_MQL_TARGET)

    class Meta:
        model = MqlTarget
        fields = ["id", "month", "source", "target", "updated_at"]
        read_only_fields = ["id", "month", "source", "updated_at"]


class MqlTargetChangeSerializer(serializers.ModelSerializer):
    actor = ChangedBySerializer(read_only=True)
    old = serializers.DictField(help_text='{"target": n} before; {} when added.')
    new = serializers.DictField(help_text='{"target": n} after; {} when removed.')

    class Meta:
        model = MqlTargetChange
        fields = ["id", "target", "month", "source", "changed_at", "actor", "old", "new"]
        read_only_fields = fields
