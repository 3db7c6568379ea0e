"""Reads of the leads app: the SDR's queue, the lead page, the API's querysets.

Views and API views only call these. Anything about SLA clocks comes through the
`leads.clocks` hook (the `sla` app implements it), so `leads` never imports `sla`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.text import capfirst

from crm.models import User
from crm.web.pagination import KeysetPage
from crm.web.sorting import Sort, SortKey, SortSpec, sorted_page
from leads.clocks import clocks
from leads.identity import normalize_email
from leads.models import (
    Activity,
    DisqualificationReason,
    Handoff,
    Lead,
    LeadAddress,
    LeadEvent,
    LeadStatus,
    LeadTransition,
    Qualification,
    RejectionReason,
    RoutingRule,
    SettingChange,
)

Status = Lead.Status

# --- the queue -------------------------------------------------------------------------------


def _next_due() -> dict[str, Any]:
    return {"next_due": clocks().next_due()}


# The columns the queue, the API and the export sort by (`?ordering=`). Each but the
# clocks' and the owner's has an index (column, id), so a page costs what the first costs.
LEAD_SORTS = SortSpec(
    SortKey("next_due", ("next_due", "-created_at"), nullable=("next_due",), annotate=_next_due),
    SortKey("company_name", ("company_name",)),
    SortKey("status", ("status",)),
    SortKey("source", ("source",)),
    SortKey(
        "owner",
        ("owner__first_name", "owner__last_name"),
        nullable=("owner__first_name", "owner__last_name"),
    ),
    SortKey("score", ("score",)),
    SortKey("created_at", ("created_at",)),
    SortKey("updated_at", ("updated_at",)),
    default="-created_at",
)
# The queue's usual order, most urgent first: the running clock due soonest (none last),
# then the newest lead. The API's is LEAD_SORTS.default, newest first.
QUEUE_SORT = "next_due"

# Filter values beyond a Lead.Status, a Source or an owner's id.
OPEN_STATUSES = "open"
ALL_STATUSES = "all"
UNASSIGNED = "none"
OVERDUE = "overdue"
DUE_TODAY = "today"
SEARCH_TERMS = 5


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; empty strings mean "any"."""

    status: str = OPEN_STATUSES  # OPEN_STATUSES, ALL_STATUSES or a Lead.Status
    source: str = ""
    owner: str = ""  # UNASSIGNED or a user id
    due: str = ""  # OVERDUE or DUE_TODAY
    search: str = ""


def matching_text(term: str) -> Q:
    """Leads whose company, contact name or e-mail contains `term`."""
    return (
        Q(company_name__icontains=term)
        | Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(email__icontains=term)
    )


def day_bounds(
    now: datetime.datetime, zone: datetime.tzinfo | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end of `now`'s day in `zone` (default: the active zone, the user's on a
    page; an API request passes the token user's, which no middleware activates)."""
    zone = zone or timezone.get_current_timezone()
    today = timezone.localdate(now, zone)
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min), zone)
    end = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min), zone
    )
    return start, end


def due_filter(due: str, now: datetime.datetime, zone: datetime.tzinfo | None = None) -> Q:
    """The queue's SLA filter: leads with a running clock overdue, or due today in
    `zone`; any other value filters nothing (the forms refuse it first)."""
    hook = clocks()
    if due == OVERDUE:
        return Q(hook.is_overdue(now))
    if due == DUE_TODAY:
        return Q(hook.is_due_between(*day_bounds(now, zone)))
    return Q()


def lead_queue(user: User, filters: QueueFilter, *, now: datetime.datetime) -> QuerySet[Lead]:
    """The leads `user` may see, narrowed by `filters`, most urgent first (QUEUE_SORT)."""
    hook = clocks()
    leads = (
        Lead.objects.visible_to(user)
        .annotate(next_due=hook.next_due())
        .select_related("owner", "ae")
        .order_by(F("next_due").asc(nulls_last=True), "-created_at", "-pk")
    )
    if filters.status == OPEN_STATUSES:
        leads = leads.filter(status__in=Lead.OPEN_STATUSES)
    elif filters.status != ALL_STATUSES:
        leads = leads.filter(status=filters.status)
    if filters.source:
        leads = leads.filter(source=filters.source)
    if filters.owner == UNASSIGNED:
        leads = leads.filter(owner__isnull=True)
    elif filters.owner:
        leads = leads.filter(owner_id=int(filters.owner))
    if filters.due:
        leads = leads.filter(due_filter(filters.due, now))
    for term in filters.search.split()[:SEARCH_TERMS]:
        leads = leads.filter(matching_text(term))
    return leads


def lead_queue_page(
    user: User,
    filters: QueueFilter,
    *,
    now: datetime.datetime,
    cursor: str | None,
    size: int,
    sort: Sort | None = None,
) -> KeysetPage:
    """One page of the queue after `cursor`, each lead with its `running_timers`, in
    `sort`'s order (most urgent first when None).

    Keyset pagination (no COUNT over the table), and one query for the clocks of the
    whole page whatever its length.
    """
    page = sorted_page(
        lead_queue(user, filters, now=now),
        sort or LEAD_SORTS.sort_for(QUEUE_SORT),
        cursor=cursor,
        size=size,
    )
    running = clocks().running_prefetch("running_timers")
    if running is not None:
        prefetch_related_objects(page.rows, running)
    return page


# --- the API ---------------------------------------------------------------------------------


_API_RELATED = ("owner", "ae", "team", "rejection_reason", "disqualification_reason")


def leads_for_api(user: User) -> QuerySet[Lead]:
    """The leads `user` may read, with what the serializer and the permission rules touch."""
    return Lead.objects.visible_to(user).select_related(*_API_RELATED)


def lead_api_row(lead_id: int) -> Lead:
    """One lead as the API answers it, for a caller that authorized the read already: the
    merge's answer about the duplicate it just closed, which may have left the user's
    scope with that (a manager sees an unassigned lead only while it is open)."""
    return Lead.objects.select_related(*_API_RELATED).get(pk=lead_id)


def lead_activities_for_api(lead: Lead, *, limit: int = 200) -> QuerySet[Activity]:
    return Activity.objects.filter(lead=lead).order_by("-created_at")[:limit]


def lead_transitions(lead: Lead) -> QuerySet[LeadTransition]:
    return LeadTransition.objects.filter(lead=lead).order_by("created_at", "pk")


# --- the lead page ---------------------------------------------------------------------------


def lead_qualification(lead: Lead) -> Qualification | None:
    """The lead's five criteria; leads made before intake created them have none."""
    return Qualification.objects.filter(lead=lead).first()


def lead_latest_handoff(lead: Lead) -> Handoff | None:
    return lead.handoffs.select_related("from_user", "to_user").first()


def lead_activities(lead: Lead) -> list[Activity]:
    """Every activity of the lead, newest first."""
    return list(lead.activities.select_related("owner").order_by("-created_at", "-pk"))


def lead_recent_activities(lead: Lead, *, limit: int = 10) -> list[Activity]:
    return list(lead.activities.select_related("owner").order_by("-created_at")[:limit])


# Keys of a lead event's `changes` that are no field: how a touch came in, and what a
# merge records to mark and count what it moved (`leads.services.merge.MOVED_ROWS`).
EVENT_BOOKKEEPING = frozenset(
    {"channel", "form", "merged_lead", "merged_into", "moved", "moved_rows"}
)


def field_label(name: str) -> str:
    """A lead, qualification or hand-off field as people name it."""
    for model in (Lead, Qualification, Handoff):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        verbose = getattr(field, "verbose_name", None)
        if verbose:
            return str(capfirst(verbose))
    return str(capfirst(name.replace("_", " ")))


def display_value(name: str, value: Any) -> Any:
    """A stored change value as people read it: choice labels instead of codes."""
    for model in (Lead, Qualification):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        choices = getattr(field, "flatchoices", None)
        if choices:
            return dict(choices).get(value, value)
    return value


def lead_timeline(lead: Lead, *, since: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """Status moves and other events of `lead` as one list, newest first.

    A service stamps all it writes with one instant; within it, "created" comes before
    the status move and the other events (assignment, ...) after it."""
    transitions = LeadTransition.objects.filter(lead=lead).select_related("actor")
    events = LeadEvent.objects.filter(lead=lead).select_related("actor")
    if since is not None:
        transitions = transitions.filter(created_at__gt=since)
        events = events.filter(created_at__gt=since)
    entries: list[dict[str, Any]] = [
        {
            "type": "transition",
            "pk": t.pk,
            "at": t.created_at,
            "sort": (t.created_at, 1, t.pk),
            "actor": t.actor,
            "from_status": t.from_status,
            "from_label": t.get_from_status_display(),
            "to_status": t.to_status,
            "to_label": t.get_to_status_display(),
            "reason": t.reason,
        }
        for t in transitions
    ]
    entries += [
        {
            "type": "event",
            "pk": e.pk,
            "kind": e.kind,
            "title": e.get_kind_display(),
            "at": e.created_at,
            "sort": (e.created_at, 0 if e.kind == LeadEvent.Kind.CREATED else 2, e.pk),
            "actor": e.actor,
            "note": e.note,
            "raw_changes": e.changes or {},
            "changes": [
                {
                    "label": field_label(field),
                    "old": display_value(field, old),
                    "new": display_value(field, new),
                }
                for field, (old, new) in (e.changes or {}).items()
                if field not in EVENT_BOOKKEEPING
            ],
        }
        for e in events
    ]
    entries.sort(key=lambda entry: entry["sort"], reverse=True)
    return entries


def lead_lifecycle_steps(lead: Lead) -> list[dict[str, Any]]:
    """The main path NEW → CONVERTED, each step done, current or still to do."""
    path: list[tuple[LeadStatus, datetime.datetime | None]] = [
        (Status.NEW, lead.created_at),
        (Status.MQL, lead.mql_at),
        (Status.SAL, lead.accepted_at),
        (Status.SQL, lead.qualified_at),
        (Status.CONVERTED, lead.converted_at),
    ]
    statuses = [str(status) for status, _at in path]
    current = statuses.index(lead.status) if lead.status in statuses else -1
    steps = []
    for index, (status, at) in enumerate(path):
        if index == current:
            state = "current"
        elif (current >= 0 and index < current) or (current < 0 and at is not None):
            state = "done"
        else:
            state = "todo"
        steps.append({"status": status, "label": status.label, "state": state, "at": at})
    return steps


_MILESTONES = (
    "mql_at",
    "assigned_at",
    "first_contacted_at",
    "accepted_at",
    "qualified_at",
    "handed_off_at",
    "converted_at",
)


def lead_former_addresses(lead: Lead) -> list[str]:
    """The e-mail addresses `lead` had before (a merge, an import's overwrite, an edit),
    oldest first, other than the one it has now: the person is still found by them."""
    current = normalize_email(lead.email)
    emails = LeadAddress.objects.filter(lead=lead).values_list("email", flat=True)
    return [email for email in emails if email != current]


_OFF_RAMPS = ("rejected_at", "nurtured_at", "disqualified_at")


def lead_milestones(lead: Lead) -> list[tuple[str, datetime.datetime | None]]:
    """The main path's dates (empty ones too), then any off-ramp the lead took."""
    rows = [(field_label(name), getattr(lead, name)) for name in _MILESTONES]
    rows += [(field_label(name), getattr(lead, name)) for name in _OFF_RAMPS if getattr(lead, name)]
    return rows


def lead_clock_rows(
    lead: Lead, now: datetime.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The lead page's SLA panel: (running clocks, finished clocks), from the clocks hook.

    `clocks().page_rows(lead, now)` returns one dict per clock, running ones first (soonest
    due first), then finished ones (most recently stopped first), with exactly these keys:

    - ``"timer"``: the clock row; the templates read ``timer.policy.name``,
      ``timer.due_at``, ``timer.stopped_at`` and ``timer.met`` (True met, False missed,
      None cancelled);
    - ``"running"``: bool, True while the clock runs;
    - ``"state"``: for a running clock how the page styles it, ``"overdue"`` (past due),
      ``"warning"`` (past its warning time) or ``"ok"``; for a finished one ``"met"``,
      ``"missed"`` or ``"cancelled"``.

    The queue's `running_prefetch` rows are read as ``timer.due_at``, ``timer.warn_at`` and
    ``timer.policy.name`` (templates/leads/list.html).
    """
    rows = clocks().page_rows(lead, now)
    return [row for row in rows if row["running"]], [row for row in rows if not row["running"]]


# --- the Unassigned queue --------------------------------------------------------------------

# The tab shows "99+" beyond this: counting stops there, so the badge costs the same on
# any install.
UNASSIGNED_COUNT_CAP = 100


def unassigned_count(user: User) -> int:
    """How many open leads `user` may see wait for an owner, counted up to the cap."""
    return Lead.objects.visible_to(user).unassigned().values("pk")[:UNASSIGNED_COUNT_CAP].count()


# --- the leads settings ----------------------------------------------------------------------


def routing_rules() -> list[RoutingRule]:
    """Every rule in the order routing tries them, active and retired."""
    return list(
        RoutingRule.objects.select_related("team", "last_assigned").order_by("position", "pk")
    )


def reasons(kind: str) -> list[RejectionReason] | list[DisqualificationReason]:
    """One list of reasons (`rejection` or `disqualification`) in the order people see it."""
    if kind == "disqualification":
        return list(DisqualificationReason.objects.order_by("position", "label"))
    return list(RejectionReason.objects.order_by("position", "label"))


def active_disqualification_reasons() -> list[DisqualificationReason]:
    """The reasons the disqualify step offers."""
    return list(DisqualificationReason.objects.filter(is_active=True).order_by("position", "label"))


def setting_changes(
    *, kinds: Sequence[str] = (), object_id: int | None = None, limit: int = 50
) -> list[SettingChange]:
    """The audit of the leads settings, newest first: of some kinds (all when empty),
    of one object if `object_id` is given."""
    changes = SettingChange.objects.select_related("actor").order_by("-at", "-pk")
    if kinds:
        changes = changes.filter(kind__in=list(kinds))
    if object_id is not None:
        changes = changes.filter(object_id=object_id)
    return list(changes[:limit])
