"""The hook through which the lead lifecycle moves SLA clocks, without `leads` importing `sla`.

`leads` stands on a lower floor than `sla` (timers point at leads, not the other way).
Yet every lifecycle step must start or stop clocks *inside its own transaction*, and the
queue sorts by the next clock due. So `leads` declares what it needs here, `sla`
implements it and registers the implementation at start-up (`SlaConfig.ready`). Calls
are plain function calls in the caller's transaction: no signals, no queue.

Without a registered implementation (an installation without the `sla` app) the null
clocks answer: nothing starts, nothing is due.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.db import models
from django.db.models import Prefetch, Q, Value
from django.db.models.expressions import BaseExpression
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from leads.models import Lead


class ClockEvent(models.TextChoices):
    """Lifecycle moments a clock can start or stop on (SLA policies name them)."""

    MQL = "mql", _("Lead became MQL")
    ASSIGNED = "assigned", _("Lead assigned to an owner")
    FIRST_CONTACT = "first_contact", _("First contact logged")
    DECIDED = "decided", _("Lead accepted or rejected")
    HANDOFF = "handoff", _("Handed off to an AE")
    DISCOVERY = "discovery", _("Discovery call held")
    CONVERTED = "converted", _("Converted to an opportunity")


class LeadClocks(Protocol):
    """What the lead lifecycle and the lead pages need from the clocks."""

    # --- writes, inside the lead service's transaction ---
    def on_event(self, *, lead: Lead, event: ClockEvent, at: datetime.datetime) -> None:
        """Stop the clocks `event` ends and start the ones it begins."""

    def on_reassign(self, *, lead: Lead) -> None:
        """The lead changed hands: running clocks now count against the new owner."""

    def on_close(
        self, *, lead: Lead, at: datetime.datetime, ends: ClockEvent | None = None
    ) -> None:
        """The lead left the funnel: stop every running clock. Those whose policy ends at
        `ends` (the move that closed it: converted, decided) are met when on time; the
        others are cancelled. A clock already late is missed and keeps its breach."""

    def on_merge(self, *, survivor: Lead, duplicate: Lead, at: datetime.datetime) -> None:
        """`duplicate` is being merged into `survivor` (both locked): its clocks move to
        `survivor`, stopped ones as history; a running one keeps running there unless
        `survivor` already runs that policy or has left the funnel (then it is cancelled
        first). Running clocks then count against `survivor`'s owner."""

    def on_events_bulk(
        self,
        *,
        lead_ids: Sequence[int],
        events: Sequence[ClockEvent],
        at: datetime.datetime,
        new: bool = False,
    ) -> None:
        """`events` happened, in this order and all at `at`, to each of `lead_ids` (a bulk
        intake: MQL then ASSIGNED, say). The same clocks as one `on_event` per lead and
        event, written set-based; a clock one of the events starts and a later one stops
        is recorded as met at once. `new`: the leads were just created and run no clock."""

    # --- reads, as expressions over Lead rows (OuterRef("pk") is the lead) ---
    def next_due(self) -> BaseExpression:
        """The due time of the lead's running clock due soonest, or NULL."""

    def is_overdue(self, now: datetime.datetime) -> BaseExpression:
        """True when a running clock of the lead is past due at `now`."""

    def is_due_between(self, start: datetime.datetime, end: datetime.datetime) -> BaseExpression:
        """True when a running clock of the lead falls due in [start, end)."""

    def running_prefetch(self, to_attr: str = "running_timers") -> Prefetch | None:
        """Prefetch the running clocks of a page of leads into `to_attr`, or None."""

    def page_rows(self, lead: Lead, now: datetime.datetime) -> list[dict[str, Any]]:
        """The lead page's clock panel: one ``{"timer", "state", "running"}`` dict per
        clock, running ones first (soonest due first, `state` "overdue", "warning" or
        "ok"), then stopped ones (last stopped first, `state` "met", "missed" or
        "cancelled")."""


class _NoClocks:
    """Answers when no clock app is installed: nothing starts, nothing is ever due."""

    def on_event(self, *, lead: Lead, event: ClockEvent, at: datetime.datetime) -> None:
        return None

    def on_reassign(self, *, lead: Lead) -> None:
        return None

    def on_close(
        self, *, lead: Lead, at: datetime.datetime, ends: ClockEvent | None = None
    ) -> None:
        return None

    def on_merge(self, *, survivor: Lead, duplicate: Lead, at: datetime.datetime) -> None:
        return None

    def on_events_bulk(
        self,
        *,
        lead_ids: Sequence[int],
        events: Sequence[ClockEvent],
        at: datetime.datetime,
        new: bool = False,
    ) -> None:
        return None

    def next_due(self) -> BaseExpression:
        return Value(None, output_field=models.DateTimeField())

    def is_overdue(self, now: datetime.datetime) -> BaseExpression:
        return Q(pk__in=[])  # type: ignore[return-value]  # a Q is a boolean expression

    def is_due_between(self, start: datetime.datetime, end: datetime.datetime) -> BaseExpression:
        return Q(pk__in=[])  # type: ignore[return-value]

    def running_prefetch(self, to_attr: str = "running_timers") -> Prefetch | None:
        return None

    def page_rows(self, lead: Lead, now: datetime.datetime) -> list[dict[str, Any]]:
        return []


_registered: LeadClocks = _NoClocks()


def register(implementation: LeadClocks) -> None:
    """Called once by the clock app at start-up."""
    global _registered
    _registered = implementation


def clocks() -> LeadClocks:
    return _registered
