"""The ways a report breaks a cohort down (by source, campaign, team, owner, policy, ...):
the column grouped by, how its keys read, and the drill-down parameter of one group."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Team, User
from leads.models import Source
from sla.models import SlaPolicy

StrOrPromise = str | Promise  # a label, translated when shown

NONE_KEY = "none"


@dataclass(frozen=True)
class Dimension:
    """A way to break a cohort down: the column grouped by and how its keys read."""

    name: str
    label: StrOrPromise
    column: str
    labels: Callable[[Iterable[Any]], dict[Any, str]] = field(repr=False)
    # What the column holds for "none" besides NULL: "" for a text column left blank.
    blank: Any = None

    def param(self, key: Any) -> str:
        """The drill-down parameter for one group (``none`` for the empty group)."""
        return NONE_KEY if key is None or key == self.blank else str(key)


def source_labels(keys: Iterable[Any]) -> dict[Any, str]:
    names = dict(Source.choices)
    return {k: str(names.get(k, k)) for k in keys}


def team_labels(keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    teams = Team.objects.in_bulk([k for k in keys if k is not None]) if any(keys) else {}
    return {k: teams[k].name if k in teams else _("No team") for k in keys}


def user_labels(keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    users = User.objects.in_bulk([k for k in keys if k is not None]) if any(keys) else {}
    return {k: str(users[k]) if k in users else _("Unassigned") for k in keys}


def campaign_labels(keys: Iterable[Any]) -> dict[Any, str]:
    return {k: str(k) if k else _("No campaign") for k in keys}


def policy_labels(keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    policies = SlaPolicy.objects.in_bulk([k for k in keys if k is not None]) if keys else {}
    return {k: policies[k].name if k in policies else str(k) for k in keys}


def dimension(name: str, cohort: str) -> Dimension:
    """The breakdowns each cohort supports; `cohort` picks the columns they map to."""
    table = DIMENSIONS[cohort]
    if name not in table:
        raise ValueError(f"{cohort} cannot be grouped by {name!r}")
    return table[name]


_SOURCE = Dimension("source", gettext_lazy("Source"), "source", source_labels)
_CAMPAIGN = Dimension("campaign", gettext_lazy("Campaign"), "campaign", campaign_labels, blank="")

DIMENSIONS: dict[str, dict[str, Dimension]] = {
    "leads": {
        "source": _SOURCE,
        "campaign": _CAMPAIGN,
        "team": Dimension("team", gettext_lazy("Team"), "team_id", team_labels),
        "owner": Dimension("owner", gettext_lazy("Owner"), "owner_id", user_labels),
    },
    "opportunities": {
        "source": _SOURCE,
        "team": Dimension("team", gettext_lazy("Team"), "owner__team_id", team_labels),
        "owner": Dimension("owner", gettext_lazy("Owner"), "owner_id", user_labels),
    },
    "handoffs": {
        "sdr": Dimension("sdr", gettext_lazy("SDR"), "from_user_id", user_labels),
        "ae": Dimension("ae", gettext_lazy("Account executive"), "to_user_id", user_labels),
        "source": Dimension("source", gettext_lazy("Source"), "lead__source", source_labels),
    },
    "timers": {
        "policy": Dimension("policy", gettext_lazy("Policy"), "policy_id", policy_labels),
        "owner": Dimension("owner", gettext_lazy("Responsible"), "responsible_id", user_labels),
        "team": Dimension("team", gettext_lazy("Team"), "lead__team_id", team_labels),
        "source": Dimension("source", gettext_lazy("Source"), "lead__source", source_labels),
    },
}


def group_filter(dim: Dimension, value: str) -> Q:
    """The rows of one group, from its drill-down parameter."""
    if value == NONE_KEY:
        if dim.blank is not None:
            return Q(**{dim.column: dim.blank}) | Q(**{f"{dim.column}__isnull": True})
        return Q(**{f"{dim.column}__isnull": True})
    return Q(**{dim.column: value})
