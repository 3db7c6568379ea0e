"""RevOps' conversion policy: the close-date window, large-deal thresholds per currency,
approval, required custom fields and the early-stage stall age. One row, edited on the
settings page, over the API and (superusers) in the admin, always through here: checked
once, audited old -> new. `opportunities.services.configuration` re-exports it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from opportunities.conversion import CURRENCIES, CUSTOM_FIELDS
from opportunities.models import ConversionPolicy, PolicyChange
from opportunities.services.settings_support import (
    MAX_DAYS,
    SettingsEdit,
    full_clean,
    int_in,
    record,
    refuse_unknown,
    require_settings_permission,
    snapshot,
)

POLICY_FIELDS = (
    "close_window_min_days",
    "close_window_max_days",
    "approval_thresholds",
    "approval_required",
    "required_fields",
    "stall_age_days",
)
# Opportunity.amount holds 12 digits before the point: no deal can exceed a larger threshold.
MAX_THRESHOLD = 10**12 - 1


def policy_values(policy: ConversionPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def conversion_policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Every reason `values` (all of `POLICY_FIELDS`) cannot be the policy; empty: it can."""
    problems: list[Problem] = []
    low, high = values.get("close_window_min_days"), values.get("close_window_max_days")
    if not int_in(low, 0, MAX_DAYS):
        problems.append(
            Problem(
                "out_of_range",
                "close_window_min_days",
                _("A whole number of days from 0 to %(max)s.") % {"max": MAX_DAYS},
            )
        )
    if not int_in(high, 1, MAX_DAYS):
        problems.append(
            Problem(
                "out_of_range",
                "close_window_max_days",
                _("A whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS},
            )
        )
    elif isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(
            Problem(
                "out_of_order",
                "close_window_max_days",
                _("The window must end on or after its start (%(min)s days).") % {"min": low},
            )
        )
    if not int_in(values.get("stall_age_days"), 1, MAX_DAYS):
        problems.append(
            Problem(
                "out_of_range",
                "stall_age_days",
                _("A whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS},
            )
        )
    if not isinstance(values.get("approval_required"), bool):
        problems.append(Problem("invalid", "approval_required", _("Answer yes or no.")))
    problems += threshold_problems(values.get("approval_thresholds"))
    required = values.get("required_fields")
    if (
        not isinstance(required, list | tuple)
        or any(f not in CUSTOM_FIELDS for f in required)
        or len(set(required)) != len(required)
    ):
        problems.append(
            Problem(
                "invalid_choice",
                "required_fields",
                _("Choose from: %s.") % ", ".join(CUSTOM_FIELDS),
            )
        )
    return problems


def threshold_problems(thresholds: Any) -> list[Problem]:
    """Thresholds are `{"USD": 100000, ...}`: ISO 4217 codes, whole positive amounts.
    A problem names its currency: `approval_thresholds.USD`."""
    name = "approval_thresholds"
    if not isinstance(thresholds, Mapping):
        return [
            Problem("invalid", name, _('Send the thresholds as {"USD": 100000, "EUR": 90000}.'))
        ]
    problems = []
    for code, amount in thresholds.items():
        where = f"{name}.{code}"
        if not isinstance(code, str) or code not in CURRENCIES:
            problems.append(
                Problem("invalid_currency", where, _("Use an ISO 4217 currency code, e.g. USD."))
            )
        if not int_in(amount, 1, MAX_THRESHOLD):
            problems.append(
                Problem(
                    "out_of_range",
                    where,
                    _("A whole amount above zero, at most %(max)s.")
                    % {"max": number_format(MAX_THRESHOLD, force_grouping=True)},
                )
            )
    return problems


def conversion_policy_update(*, by: User, data: Mapping[str, Any]) -> SettingsEdit:
    """Change the conversion policy (any of `POLICY_FIELDS`); records old -> new. Applies
    to conversions and deal edits from now on; deals already converted keep their data."""
    require_settings_permission(by, "change")
    refuse_unknown(data, POLICY_FIELDS)
    ConversionPolicy.current()  # the row exists from here on
    with transaction.atomic():
        policy = ConversionPolicy.objects.select_for_update().get(pk=1)
        values = policy_values(policy) | dict(data)
        problems = conversion_policy_problems(values)
        if problems:
            raise ValidationFailed(problems=problems)
        before = snapshot(policy, POLICY_FIELDS)
        values["required_fields"] = [f for f in CUSTOM_FIELDS if f in values["required_fields"]]
        values["approval_thresholds"] = dict(sorted(values["approval_thresholds"].items()))
        for name, value in values.items():
            setattr(policy, name, value)
        after = snapshot(policy, POLICY_FIELDS)
        if after == before:
            return SettingsEdit()
        full_clean(policy, exclude=["updated_by"])
        policy.updated_by = by
        policy.save()
        change = record(
            PolicyChange.Subject.CONVERSION_POLICY, policy.pk, by=by, before=before, after=after
        )
    return SettingsEdit(change=change)


def conversion_policy_save(*, policy: ConversionPolicy, by: User) -> ConversionPolicy:
    """Save `policy` from its attributes (the admin's form sets them)."""
    conversion_policy_update(by=by, data={name: getattr(policy, name) for name in POLICY_FIELDS})
    policy.refresh_from_db()
    return policy
