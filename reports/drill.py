"""The rows behind a report figure: the figure's cohort, filtered with the figure's own
predicate (`reports.cohorts`) and group, listed with keyset pagination.

URL parameters: the report filters (period, team, owner, source), then `cohort`,
`measure`, and the group the figure belongs to as ``g_<dimension>=<key>`` (``none`` for
"no team" / "unassigned"). Unknown values are a 404, not an empty list: a wrong link
must not pass for "nothing there".
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.exceptions import NotFound
from crm.web.pagination import keyset_page
from opportunities.models import ConversionRequest
from reports import cohorts
from reports.cohorts import AGE_BUCKETS, ReportRequest, age_bucket_q, with_furthest_stage
from reports.dimensions import DIMENSIONS, NONE_KEY, group_filter
from reports.selectors.pipeline import FORECAST_MONTHS, add_months

PAGE_SIZE = 50

COHORT_LABELS = {
    ("leads", "created"): _("Leads created in the period"),
    ("leads", "assigned"): _("Leads assigned in the period"),
    ("leads", "accepted"): _("Leads accepted in the period"),
    ("leads", "rejected"): _("Leads rejected in the period"),
    ("leads", "nurtured"): _("Leads sent to nurture in the period"),
    ("leads", "disqualified"): _("Leads disqualified in the period"),
    ("leads", "converted"): _("Leads converted in the period"),
    ("opportunities", "created"): _("Opportunities created in the period"),
    ("opportunities", "closed"): _("Opportunities closed in the period"),
    ("opportunities", "open"): _("Opportunities open now (pipeline)"),
    ("opportunities", "pending"): _("Opportunities waiting for a manager's approval"),
    ("moves", ""): _("Deals that left a stage in the period"),
    ("timers", ""): _("SLA clocks due in the period"),
    ("handoffs", ""): _("Hand-offs made in the period"),
    ("requests", ""): _("Override requests made in the period"),
}

MEASURE_LABELS = {
    "leads": _("All"),
    "mql": _("Reached MQL"),
    "sal": _("Reached SAL"),
    "sql": _("Reached SQL"),
    "converted": _("Converted"),
    "won": _("Won"),
    "lost_to_competitor": _("Lost to a competitor before conversion"),
    "first_contacted": _("Contacted"),
    "accepted": _("Accepted"),
    "handed_off": _("Handed off"),
    "opportunities": _("All"),
    "open": _("Open"),
    "lost": _("Closed lost"),
    "lost_early": _("Died in an early stage"),
    "stalled_early": _("Stalled in an early stage"),
    "premature": _("Premature (died or stalled early)"),
    "override": _("Converted by override"),
    "decision_maker": _("Primary contact is a decision maker"),
    "stale": _("Stale (past the stage's rot age)"),
    "pending": _("Waiting for approval"),
    "timers": _("All"),
    "met": _("Met"),
    "breached": _("Breached"),
    "overdue": _("Overdue, still running"),
    "missed": _("Missed (breached or overdue)"),
    "running": _("On track"),
    "cancelled": _("Cancelled"),
    "handoffs": _("All"),
    "rated": _("Rated by the AE"),
    "low_rating": _("Rated 1–2"),
    "answered": _("AE answered the discovery question"),
    "repeated": _("AE repeated discovery"),
    "discovery_held": _("Discovery held"),
}


# (what, value) pairs describing the filters applied, shown above the list.
Facts = list[tuple[str, str]]


@dataclass
class DrillResult:
    """One page of the rows behind a figure, and the whole ordered list (for CSV)."""

    kind: str
    rows: list[Any]
    next_cursor: str
    title: str
    parts: Facts
    queryset: QuerySet[Any]


def _param_choice(params: QueryDict, name: str, allowed: Collection[str] | None = None) -> str:
    """The value of parameter `name` ("" when absent); one of `allowed`, or NotFound."""
    value = params.get(name) or ""
    if allowed is not None and value not in allowed:
        raise NotFound(f"unknown {name}")
    return value


def _group_filters(params: QueryDict, cohort_kind: str, parts: Facts) -> Q:
    """``g_<dimension>`` parameters as filters, with the dimensions of the cohort kind."""
    condition = Q()
    for dim_name, dim in DIMENSIONS[cohort_kind].items():
        value = params.get(f"g_{dim_name}")
        if value is None:
            continue
        condition &= group_filter(dim, value)
        key: Any = None if value == NONE_KEY else value
        if key is not None and dim.column.endswith("_id"):
            key = _int_param(key)
        parts.append((str(dim.label), dim.labels([key]).get(key, value)))
    return condition


def _int_param(value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise NotFound("not a number") from error


LEAD_EVENT_COHORTS = {
    "accepted": "accepted_at",
    "rejected": "rejected_at",
    "nurtured": "nurtured_at",
    "disqualified": "disqualified_at",
    "converted": "converted_at",
}


def lead_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    cohort = _param_choice(params, "cohort", {"created", "assigned", *LEAD_EVENT_COHORTS})
    measures = cohorts.lead_measures(r)
    measure = _param_choice(params, "measure", measures)
    if cohort == "created":
        qs = cohorts.leads_created(r)
    elif cohort == "assigned":
        qs = cohorts.leads_assigned(r)
    else:
        qs = cohorts.leads_with_event_in_period(r, LEAD_EVENT_COHORTS[cohort])
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return qs.filter(measures[measure]).filter(_group_filters(params, "leads", parts))


def opportunity_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    cohort = _param_choice(params, "cohort", {"created", "closed", "open", "pending"})
    measures = cohorts.opportunity_measures(r)
    measure = _param_choice(params, "measure", measures)
    if cohort == "created":
        qs: QuerySet[Any] = cohorts.opportunities_created(r)
    elif cohort == "closed":
        qs = cohorts.opportunities_closed(r)
    elif cohort == "pending":
        qs = cohorts.opportunities_pending(r)
    else:
        qs = cohorts.opportunities_open(r)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    qs = qs.filter(measures[measure]).filter(_group_filters(params, "opportunities", parts))
    if "g_stage" in params:
        stage = _int_param(_param_choice(params, "g_stage"))
        qs = qs.filter(stage=stage)
        parts.append((str(_("Stage")), _stage_name(r, stage)))
    if "g_currency" in params:
        currency = _param_choice(params, "g_currency")
        qs = qs.filter(currency=currency)
        parts.append((str(_("Currency")), currency))
    if "g_month" in params:
        month = _param_choice(params, "g_month")
        qs = qs.filter(_close_month_q(r, month))
        parts.append((str(_("Expected close")), month))
    if "g_age" in params:
        age = _param_choice(params, "g_age", AGE_BUCKET_LABELS)
        qs = qs.filter(_age_bucket_q(r, age))
        parts.append((str(_("In stage for")), str(AGE_BUCKET_LABELS[age])))
    if "reached" in params:
        qs = _that_reached_stage(r, qs, _param_choice(params, "reached"), parts)
    return qs


def _stage_name(r: ReportRequest, pk: int) -> str:
    names = {s.pk: s.name for s in r.stages}
    if pk not in names:
        raise NotFound("unknown stage")
    return names[pk]


def _close_month_q(r: ReportRequest, value: str) -> Q:
    """Open deals expected to close in a forecast row's month (past, YYYY-MM or later)."""
    this_month = timezone.localdate(r.now, r.filters.tz).replace(day=1)
    if value == "past":
        return Q(expected_close_date__lt=this_month)
    if value == "later":
        return Q(expected_close_date__gte=add_months(this_month, FORECAST_MONTHS))
    try:
        month = datetime.date.fromisoformat(f"{value}-01")
    except ValueError as error:
        raise NotFound("bad month") from error
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return Q(expected_close_date__gte=month, expected_close_date__lt=following)


AGE_BUCKET_LABELS = {key: label for key, label, _low, _high in AGE_BUCKETS}


def _age_bucket_q(r: ReportRequest, value: str) -> Q:
    for key, _label, low, high in AGE_BUCKETS:
        if key == value:
            return age_bucket_q(r.now, low, high)
    raise NotFound("bad age bucket")


def _that_reached_stage(
    r: ReportRequest, qs: QuerySet[Any], value: str, parts: Facts
) -> QuerySet[Any]:
    """The deals of `qs` that reached stage position `value` (or "won") or went further."""
    qs = with_furthest_stage(qs)
    if value == "won":
        parts.append((str(_("Reached")), str(_("Won"))))
        return qs.filter(Q(stage__is_won=True) | Q(reached_won=True))
    position = _int_param(value)
    names = {s.position: s.name for s in r.stages}
    if position not in names:
        raise NotFound("unknown stage")
    parts.append((str(_("Reached")), names[position]))
    return qs.filter(furthest__gte=position)


def stage_move_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    """Stage changes out of a stage in the period (what "time in stage" averages)."""
    stage = _int_param(_param_choice(params, "g_from_stage"))
    parts.append((str(_("Left stage")), _stage_name(r, stage)))
    return cohorts.stage_changes(r).filter(from_stage=stage, time_in_previous_stage__isnull=False)


def timer_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    measures = cohorts.timer_measures(r)
    measure = _param_choice(params, "measure", measures)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return (
        cohorts.timers_due(r)
        .filter(measures[measure])
        .filter(_group_filters(params, "timers", parts))
    )


def handoff_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    measures = cohorts.handoff_measures()
    measure = _param_choice(params, "measure", measures)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return (
        cohorts.handoffs_made(r)
        .filter(measures[measure])
        .filter(_group_filters(params, "handoffs", parts))
    )


def override_request_drill(r: ReportRequest, params: QueryDict, parts: Facts) -> QuerySet[Any]:
    qs = cohorts.conversion_requests(r)
    state = params.get("state")
    if state:
        if state not in ConversionRequest.State.values:
            raise NotFound("unknown state")
        qs = qs.filter(state=state)
        parts.insert(0, (str(_("State")), str(ConversionRequest.State(state).label)))
    return qs


@dataclass(frozen=True)
class DrillKind:
    build: Callable[[ReportRequest, QueryDict, Facts], QuerySet[Any]]
    order: str  # the keyset column (descending, then -pk)
    related: tuple[str, ...]


KINDS: dict[str, DrillKind] = {
    "leads": DrillKind(lead_drill, "created_at", ("owner", "team")),
    "opportunities": DrillKind(opportunity_drill, "created_at", ("owner", "stage", "account")),
    "moves": DrillKind(stage_move_drill, "changed_at", ("opportunity", "from_stage", "to_stage")),
    "timers": DrillKind(timer_drill, "due_at", ("lead", "policy", "responsible")),
    "handoffs": DrillKind(handoff_drill, "created_at", ("lead", "from_user", "to_user")),
    "requests": DrillKind(
        override_request_drill, "requested_at", ("lead", "requested_by", "decided_by")
    ),
}


def drill_down(
    kind: str, r: ReportRequest, params: QueryDict, *, page_size: int = PAGE_SIZE
) -> DrillResult:
    """The rows behind a figure, newest first, a page at a time (keyset: `cursor`)."""
    if kind not in KINDS:
        raise NotFound("unknown list")
    spec = KINDS[kind]
    parts: Facts = []
    qs = spec.build(r, params, parts)
    cohort = params.get("cohort", "") if kind in ("leads", "opportunities") else ""
    fields = [f"-{spec.order}", "-pk"]
    ordered = qs.select_related(*spec.related).order_by(*fields)
    page = keyset_page(ordered, fields=fields, cursor=params.get("cursor"), size=page_size)
    return DrillResult(
        kind=kind,
        rows=page.rows,
        next_cursor=page.next_cursor or "",
        title=str(COHORT_LABELS[(kind, cohort or "")]),
        parts=parts,
        queryset=ordered,
    )


# --- CSV of a whole list ------------------------------------------------------------------------


def _local_iso(value: datetime.datetime | None) -> str:
    """Instants in the reader's zone (the middleware activates it), ISO 8601."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _user_name(user: Any) -> str:
    return str(user) if user is not None else ""


CSV_COLUMNS: dict[str, tuple[list[str], Callable[[Any], list[Any]]]] = {
    "leads": (
        ["id", "company", "name", "email", "source", "status", "owner", "team", "created_at",
         "mql_at", "accepted_at", "qualified_at", "converted_at", "lost_to_competitor"],
        lambda x: [x.pk, x.company_name, x.full_name, x.email, x.source, x.status,
                   _user_name(x.owner), x.team.name if x.team else "", _local_iso(x.created_at),
                   _local_iso(x.mql_at), _local_iso(x.accepted_at), _local_iso(x.qualified_at),
                   _local_iso(x.converted_at), x.lost_to_competitor],
    ),
    "opportunities": (
        ["id", "name", "account", "owner", "stage", "amount", "currency", "probability",
         "expected_close_date", "created_at", "closed_at", "source", "is_override"],
        lambda x: [x.pk, x.name, x.account.name, _user_name(x.owner), x.stage.name, x.amount,
                   x.currency, x.probability, x.expected_close_date.isoformat(),
                   _local_iso(x.created_at), _local_iso(x.closed_at), x.source, x.is_override],
    ),
    "moves": (
        ["id", "opportunity_id", "opportunity", "from_stage", "to_stage", "changed_at",
         "days_in_stage"],
        lambda x: [x.pk, x.opportunity_id, x.opportunity.name, x.from_stage.name,
                   x.to_stage.name, _local_iso(x.changed_at),
                   f"{x.time_in_previous_stage.total_seconds() / 86400:.2f}"],
    ),
    "timers": (
        ["id", "lead_id", "company", "policy", "responsible", "started_at", "due_at",
         "stopped_at", "met"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, x.policy.name, _user_name(x.responsible),
                   _local_iso(x.started_at), _local_iso(x.due_at), _local_iso(x.stopped_at),
                   "" if x.met is None else x.met],
    ),
    "handoffs": (
        ["id", "lead_id", "company", "from", "to", "created_at", "ae_rating",
         "ae_repeated_discovery"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, _user_name(x.from_user),
                   _user_name(x.to_user), _local_iso(x.created_at), x.ae_rating or "",
                   "" if x.ae_repeated_discovery is None else x.ae_repeated_discovery],
    ),
    "requests": (
        ["id", "lead_id", "company", "requested_by", "requested_at", "state", "decided_by",
         "decided_at"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, _user_name(x.requested_by),
                   _local_iso(x.requested_at), x.state, _user_name(x.decided_by),
                   _local_iso(x.decided_at)],
    ),
}  # fmt: skip
