"""RevOps edits the benchmark ranges, the report thresholds and the MQL targets: checked,
applied in one transaction and audited (who, when, old -> new: a `BenchmarkChange` per
range or for the thresholds, an `MqlTargetChange` per target). The pages, the API and the
admin call `benchmarks_update` and `mql_targets_update`; none writes the rows itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, Problem, ValidationFailed
from crm.models import User
from leads.models import Source
from reports.models import BenchmarkChange, BenchmarkRange, MqlTarget, MqlTargetChange, ReportPolicy

RANGE_FIELDS = ("source", "low_percent", "high_percent")
# A range is for a source, or for all of them together ("overall").
BENCHMARK_SOURCES = ("overall", *Source.values)
THRESHOLD_FIELDS = ("pipeline_to_won_low", "pipeline_to_won_high")


@dataclass(frozen=True)
class RangeEdit:
    """One benchmark range as RevOps wants it: `benchmark_id` None adds it, `delete`
    removes the range `benchmark_id`."""

    benchmark_id: int | None
    source: str
    low_percent: Decimal
    high_percent: Decimal
    delete: bool = False


@dataclass(frozen=True)
class ThresholdsEdit:
    """The healthy pipeline-to-won ratio range (pipeline created ÷ value won)."""

    pipeline_to_won_low: Decimal
    pipeline_to_won_high: Decimal


def benchmarks_update(
    *, by: User, ranges: Sequence[RangeEdit] = (), thresholds: ThresholdsEdit | None = None
) -> list[BenchmarkChange]:
    """Add, change and delete benchmark ranges and set the report thresholds, all or
    nothing; one audit row per range (and for the thresholds) that actually changed."""
    if not by.has_perm("reports.edit_benchmarks"):
        raise NotAllowed(_("Only RevOps edits the benchmarks."))
    problems = [p for edit in ranges if not edit.delete for p in range_problems(edit)]
    if thresholds is not None:
        problems += threshold_problems(thresholds)
    if problems:
        raise ValidationFailed(problems=problems)
    changes: list[BenchmarkChange] = []
    with transaction.atomic():
        ids = [edit.benchmark_id for edit in ranges if edit.benchmark_id is not None]
        locked = BenchmarkRange.objects.select_for_update().in_bulk(ids)
        # Deletions first, so a source freed by one can be taken by another row.
        for edit in sorted(ranges, key=lambda edit: not edit.delete):
            change = _apply_range(edit, locked, by=by)
            if change is not None:
                changes.append(change)
        if thresholds is not None:
            change = _apply_thresholds(thresholds, by=by)
            if change is not None:
                changes.append(change)
    return changes


def range_problems(edit: RangeEdit) -> list[Problem]:
    """What is wrong with one range as asked (before anything is read or written)."""
    problems = []
    if not edit.source:
        problems.append(Problem("required", "source", _("Choose a source.")))
    if edit.low_percent < 0:
        problems.append(Problem("out_of_range", "low_percent", _("A rate is at least 0 %.")))
    if edit.high_percent > 100:
        problems.append(Problem("out_of_range", "high_percent", _("A rate is at most 100 %.")))
    if edit.low_percent > edit.high_percent:
        problems.append(
            Problem("inverted", "high_percent", _("The upper end is below the lower end."))
        )
    return problems


def threshold_problems(edit: ThresholdsEdit) -> list[Problem]:
    problems = []
    if edit.pipeline_to_won_low < 0:
        problems.append(Problem("out_of_range", "pipeline_to_won_low", _("A ratio is at least 0.")))
    if edit.pipeline_to_won_low > edit.pipeline_to_won_high:
        problems.append(
            Problem("inverted", "pipeline_to_won_high", _("The upper end is below the lower end."))
        )
    return problems


def _apply_range(
    edit: RangeEdit, locked: dict[int, BenchmarkRange], *, by: User
) -> BenchmarkChange | None:
    """Write one range edit and its audit row; None when nothing changed."""
    if edit.benchmark_id is None:
        benchmark = BenchmarkRange(source=edit.source)
        before: dict[str, Any] = {}
    else:
        if edit.benchmark_id not in locked:
            raise ValidationFailed(
                problems=[Problem("gone", None, _("A range was deleted meanwhile; reload."))]
            )
        benchmark = locked[edit.benchmark_id]
        before = _snapshot(benchmark, RANGE_FIELDS)
    if edit.delete:
        if edit.benchmark_id is None:
            return None
        benchmark.delete()
        return BenchmarkChange.objects.create(
            benchmark=None, source=before["source"], actor=by, old=before, new={}
        )
    benchmark.source = edit.source
    benchmark.low_percent = edit.low_percent
    benchmark.high_percent = edit.high_percent
    after = _snapshot(benchmark, RANGE_FIELDS)
    old = {name: value for name, value in before.items() if after[name] != value}
    new = {name: after[name] for name in old} if before else after
    if not new:
        return None
    _full_clean(benchmark)
    benchmark.save()
    return BenchmarkChange.objects.create(
        benchmark=benchmark, source=benchmark.source, actor=by, old=old, new=new
    )


def _apply_thresholds(edit: ThresholdsEdit, *, by: User) -> BenchmarkChange | None:
    policy = ReportPolicy.objects.select_for_update().get_or_create(pk=1)[0]
    before = _snapshot(policy, THRESHOLD_FIELDS)
    policy.pipeline_to_won_low = edit.pipeline_to_won_low
    policy.pipeline_to_won_high = edit.pipeline_to_won_high
    after = _snapshot(policy, THRESHOLD_FIELDS)
    old = {name: value for name, value in before.items() if after[name] != value}
    if not old:
        return None
    _full_clean(policy)
    policy.save()
    return BenchmarkChange.objects.create(
        benchmark=None, source="", actor=by, old=old, new={name: after[name] for name in old}
    )


def _snapshot(obj: BenchmarkRange | ReportPolicy, fields: Sequence[str]) -> dict[str, Any]:
    """The audited fields as JSON: percentages and ratios to two places, as text."""
    return {
        name: f"{value:.2f}" if isinstance(value, Decimal) else value
        for name in fields
        if (value := getattr(obj, name)) is not None
    }


def _full_clean(obj: BenchmarkRange | ReportPolicy) -> None:
    """The model's own checks (validators, unique source, constraints) as domain problems."""
    try:
        obj.full_clean()
    except DjangoValidationError as error:
        raise ValidationFailed(
            problems=[
                Problem("invalid", None if field == NON_FIELD_ERRORS else field, message)
                for field, messages in error.message_dict.items()
                for message in messages
            ]
        ) from error


# --- MQL targets ----------------------------------------------------------------------------

MAX_MQL_TARGET = 1_000_000


@dataclass(frozen=True)
class TargetEdit:
    """One month's MQL target for a source as RevOps wants it; `target` None removes it."""

    month: datetime.date  # the first day of the month
    source: str
    target: int | None


def mql_target_problems(edit: TargetEdit) -> list[Problem]:
    """What is wrong with one target as asked (before anything is read or written)."""
    problems = []
    if edit.month.day != 1:
        problems.append(
            Problem("not_first_of_month", "month", _("A target is for a month: its first day."))
        )
    if edit.source not in Source.values:
        problems.append(Problem("invalid_choice", "source", _("Choose a source.")))
    if edit.target is not None and not 0 <= edit.target <= MAX_MQL_TARGET:
        problems.append(
            Problem(
                "out_of_range",
                "target",
                _("A target is between 0 and %(max)s MQLs.")
                % {"max": number_format(MAX_MQL_TARGET, force_grouping=True)},
            )
        )
    return problems


def mql_targets_update(*, by: User, edits: Sequence[TargetEdit]) -> list[MqlTargetChange]:
    """Set, change and remove MQL targets, all or nothing; one audit row per target that
    actually changed (unchanged ones are left alone, so two editors of different cells do
    not undo each other)."""
    if not by.has_perm("reports.edit_mql_targets"):
        raise NotAllowed(_("Only RevOps edits the MQL targets."))
    problems = [p for edit in edits for p in mql_target_problems(edit)]
    keys = [(edit.month, edit.source) for edit in edits]
    if len(set(keys)) < len(keys):
        problems.append(
            Problem("duplicate", "source", _("A month and source appear twice; give one target."))
        )
    if problems:
        raise ValidationFailed(problems=problems)
    if not edits:
        return []
    condition = Q(pk__in=[])
    for month, source in keys:
        condition |= Q(month=month, source=source)
    changes: list[MqlTargetChange] = []
    try:
        with transaction.atomic():
            current = {
                (t.month, t.source): t
                for t in MqlTarget.objects.select_for_update().filter(condition)
            }
            for edit in edits:
                change = _apply_target(edit, current.get((edit.month, edit.source)), by=by)
                if change is not None:
                    changes.append(change)
    except IntegrityError as error:
        # Another editor added the same month and source between our read and write.
        raise ValidationFailed(
            problems=[Problem("conflict", None, _("Someone changed these targets; reload."))]
        ) from error
    return changes


def _apply_target(edit: TargetEdit, row: MqlTarget | None, *, by: User) -> MqlTargetChange | None:
    old = row.target if row is not None else None
    if old == edit.target:
        return None
    if edit.target is None:
        assert row is not None
        row.delete()
        row = None
    elif row is None:
        row = MqlTarget.objects.create(month=edit.month, source=edit.source, target=edit.target)
    else:
        row.target = edit.target
        row.save(update_fields=["target", "updated_at"])
    return MqlTargetChange.objects.create(
        target=row,
        month=edit.month,
        source=edit.source,
        actor=by,
        old={} if old is None else {"target": old},
        new={} if edit.target is None else {"target": edit.target},
    )
