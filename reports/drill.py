"""The rows behind a report figure: the figure's cohort, filtered with the figure's own
predicate (`reports.selectors.base`) and group, listed with keyset pagination.

URL parameters: the report filters (period, team, owner, source), then `cohort`,
`measure`, and the group the figure belongs to as ``g_<dimension>=<key>`` (``none`` for
"no team" / "unassigned"). Unknown values are a 404, not an empty list: a wrong link
must not pass for "nothing there".
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opportunities.models import ConversionRequest
from reports.selectors import base
from reports.selectors.pipeline import (
    AGE_BUCKETS,
    FORECAST_MONTHS,
    add_months,
    with_furthest_stage,
)

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
    ("opportunities", "open"): _("Opportunities open now"),
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


@dataclass
class DrillResult:
    kind: str
    rows: list[Any]
    next_cursor: str
    title: str
    parts: list[tuple[str, str]]  # (what, value) describing the filters applied
    queryset: QuerySet


def _one(params: QueryDict, name: str, allowed: dict | set | None = None) -> str:
    value = params.get(name, "")
    if allowed is not None and value not in allowed:
        raise Http404(f"unknown {name}")
    return value


def _groups(params: QueryDict, cohort_kind: str, parts: list) -> Q:
    """``g_<dimension>`` parameters as filters, with the dimensions of the cohort kind."""
    condition = Q()
    for dim_name, dim in base.DIMENSIONS[cohort_kind].items():
        value = params.get(f"g_{dim_name}")
        if value is None:
            continue
        try:
            condition &= base.group_filter(dim, value)
        except (ValueError, TypeError) as error:
            raise Http404("bad group") from error
        key: Any = None if value == base.NONE_KEY else value
        if key is not None and dim.column.endswith("_id"):
            try:
                key = int(key)
            except ValueError as error:
                raise Http404("bad group") from error
        parts.append((str(dim.label), dim.labels([key]).get(key, value)))
    return condition


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise Http404("not a number") from error


LEAD_EVENT_COHORTS = {
    "accepted": "accepted_at",
    "rejected": "rejected_at",
    "nurtured": "nurtured_at",
    "disqualified": "disqualified_at",
    "converted": "converted_at",
}


def leads(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    cohort = _one(params, "cohort", {"created", "assigned", *LEAD_EVENT_COHORTS})
    measures = base.lead_measures(r)
    measure = _one(params, "measure", measures)
    if cohort == "created":
        qs = base.leads_created(r)
    elif cohort == "assigned":
        qs = base.leads_assigned(r)
    else:
        qs = base.leads_with_event_in_period(r, LEAD_EVENT_COHORTS[cohort])
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return qs.filter(measures[measure]).filter(_groups(params, "leads", parts))


def opportunities(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    cohort = _one(params, "cohort", {"created", "closed", "open"})
    measures = base.opportunity_measures(r)
    measure = _one(params, "measure", measures)
    if cohort == "created":
        qs = base.opportunities_created(r)
    elif cohort == "closed":
        qs = base.opportunities_closed(r)
    else:
        qs = base.opportunities_open(r)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    qs = qs.filter(measures[measure]).filter(_groups(params, "opportunities", parts))
    if "g_stage" in params:
        stage = _int(params["g_stage"])
        qs = qs.filter(stage=stage)
        parts.append((str(_("Stage")), _stage_name(r, stage)))
    if "g_currency" in params:
        qs = qs.filter(currency=params["g_currency"])
        parts.append((str(_("Currency")), params["g_currency"]))
    if "g_month" in params:
        qs = qs.filter(_month_q(r, params["g_month"]))
        parts.append((str(_("Expected close")), params["g_month"]))
    if "g_age" in params:
        qs = qs.filter(_age_q(r, params["g_age"]))
        label = {key: str(label) for key, label, _lo, _hi in AGE_BUCKETS}[params["g_age"]]
        parts.append((str(_("In stage for")), label))
    if "reached" in params:
        qs = _reached(r, qs, params["reached"], parts)
    return qs


def _stage_name(r: base.ReportRequest, pk: int) -> str:
    names = {s.pk: s.name for s in r.stages}
    if pk not in names:
        raise Http404("unknown stage")
    return names[pk]


def _month_q(r: base.ReportRequest, value: str) -> Q:
    this_month = timezone.localdate(r.now, r.filters.tz).replace(day=1)
    if value == "past":
        return Q(expected_close_date__lt=this_month)
    if value == "later":
        return Q(expected_close_date__gte=add_months(this_month, FORECAST_MONTHS))
    try:
        month = datetime.date.fromisoformat(f"{value}-01")
    except ValueError as error:
        raise Http404("bad month") from error
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return Q(expected_close_date__gte=month, expected_close_date__lt=following)


def _age_q(r: base.ReportRequest, value: str) -> Q:
    for key, _label, low, high in AGE_BUCKETS:
        if key == value:
            condition = Q(stage_entered_at__lte=r.now - datetime.timedelta(days=low))
            if high is not None:
                condition &= Q(stage_entered_at__gt=r.now - datetime.timedelta(days=high))
            return condition
    raise Http404("bad age bucket")


def _reached(r: base.ReportRequest, qs: QuerySet, value: str, parts: list) -> QuerySet:
    qs = with_furthest_stage(qs)
    if value == "won":
        parts.append((str(_("Reached")), str(_("Won"))))
        return qs.filter(Q(stage__is_won=True) | Q(reached_won=True))
    position = _int(value)
    names = {s.position: s.name for s in r.stages}
    if position not in names:
        raise Http404("unknown stage")
    parts.append((str(_("Reached")), names[position]))
    return qs.filter(furthest__gte=position)


def moves(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    """Stage changes out of a stage in the period (what "time in stage" averages)."""
    stage = _int(_one(params, "g_from_stage"))
    parts.append((str(_("Left stage")), _stage_name(r, stage)))
    return base.stage_changes(r).filter(from_stage=stage, time_in_previous_stage__isnull=False)


def timers(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    measures = base.timer_measures(r)
    measure = _one(params, "measure", measures)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return base.timers_due(r).filter(measures[measure]).filter(_groups(params, "timers", parts))


def handoffs(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    measures = base.handoff_measures()
    measure = _one(params, "measure", measures)
    parts.insert(0, (str(_("Showing")), str(MEASURE_LABELS[measure])))
    return (
        base.handoffs_made(r).filter(measures[measure]).filter(_groups(params, "handoffs", parts))
    )


def requests(r: base.ReportRequest, params: QueryDict, parts: list) -> QuerySet:
    qs = base.conversion_requests(r)
    state = params.get("state")
    if state:
        if state not in ConversionRequest.State.values:
            raise Http404("unknown state")
        qs = qs.filter(state=state)
        parts.insert(0, (str(_("State")), str(ConversionRequest.State(state).label)))
    return qs


@dataclass(frozen=True)
class DrillKind:
    build: Callable[[base.ReportRequest, QueryDict, list], QuerySet]
    order: str  # the keyset column (descending, then -pk)
    related: tuple[str, ...]


KINDS: dict[str, DrillKind] = {
    "leads": DrillKind(leads, "created_at", ("owner", "team")),
    "opportunities": DrillKind(opportunities, "created_at", ("owner", "stage", "account")),
    "moves": DrillKind(moves, "changed_at", ("opportunity", "from_stage", "to_stage")),
    "timers": DrillKind(timers, "due_at", ("lead", "policy", "responsible")),
    "handoffs": DrillKind(handoffs, "created_at", ("lead", "from_user", "to_user")),
    "requests": DrillKind(requests, "requested_at", ("lead", "requested_by", "decided_by")),
}


def encode_cursor(at: datetime.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode()


def decode_cursor(value: str) -> tuple[datetime.datetime, int] | None:
    try:
        at, pk = base64.urlsafe_b64decode(value.encode()).decode().split("|")
        moment = datetime.datetime.fromisoformat(at)
        return (moment, int(pk)) if timezone.is_aware(moment) else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def drill(
    kind: str, r: base.ReportRequest, params: QueryDict, *, page_size: int = PAGE_SIZE
) -> DrillResult:
    if kind not in KINDS:
        raise Http404("unknown list")
    spec = KINDS[kind]
    parts: list[tuple[str, str]] = []
    qs = spec.build(r, params, parts)
    cohort = params.get("cohort", "") if kind in ("leads", "opportunities") else ""
    ordered = qs.select_related(*spec.related).order_by(f"-{spec.order}", "-pk")
    page_qs = ordered
    cursor = decode_cursor(params.get("cursor", "")) if params.get("cursor") else None
    if cursor is not None:
        at, pk = cursor
        page_qs = ordered.filter(
            Q(**{f"{spec.order}__lt": at}) | Q(**{spec.order: at, "pk__lt": pk})
        )
    rows = list(page_qs[: page_size + 1])
    next_cursor = ""
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, spec.order), last.pk)
    return DrillResult(
        kind=kind,
        rows=rows,
        next_cursor=next_cursor,
        title=str(COHORT_LABELS[(kind, cohort)]),
        parts=parts,
        queryset=ordered,
    )


# --- CSV of a whole list ------------------------------------------------------------------------


def _at(value: datetime.datetime | None) -> str:
    """Instants in the reader's zone (the middleware activates it), ISO 8601."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _person(user: Any) -> str:
    return str(user) if user is not None else ""


CSV_COLUMNS: dict[str, tuple[list[str], Callable[[Any], list[Any]]]] = {
    "leads": (
        ["id", "company", "name", "email", "source", "status", "owner", "team", "created_at",
         "mql_at", "accepted_at", "qualified_at", "converted_at", "lost_to_competitor"],
        lambda x: [x.pk, x.company_name, x.full_name, x.email, x.source, x.status,
                   _person(x.owner), x.team.name if x.team else "", _at(x.created_at),
                   _at(x.mql_at), _at(x.accepted_at), _at(x.qualified_at), _at(x.converted_at),
                   x.lost_to_competitor],
    ),
    "opportunities": (
        ["id", "name", "account", "owner", "stage", "amount", "currency", "probability",
         "expected_close_date", "created_at", "closed_at", "source", "is_override"],
        lambda x: [x.pk, x.name, x.account.name, _person(x.owner), x.stage.name, x.amount,
                   x.currency, x.probability, x.expected_close_date.isoformat(),
                   _at(x.created_at), _at(x.closed_at), x.source, x.is_override],
    ),
    "moves": (
        ["id", "opportunity_id", "opportunity", "from_stage", "to_stage", "changed_at",
         "days_in_stage"],
        lambda x: [x.pk, x.opportunity_id, x.opportunity.name, x.from_stage.name,
                   x.to_stage.name, _at(x.changed_at),
                   f"{x.time_in_previous_stage.total_seconds() / 86400:.2f}"],
    ),
    "timers": (
        ["id", "lead_id", "company", "policy", "responsible", "started_at", "due_at",
         "stopped_at", "met"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, x.policy.name, _person(x.responsible),
                   _at(x.started_at), _at(x.due_at), _at(x.stopped_at),
                   "" if x.met is None else x.met],
    ),
    "handoffs": (
        ["id", "lead_id", "company", "from", "to", "created_at", "ae_rating",
         "ae_repeated_discovery"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, _person(x.from_user),
                   _person(x.to_user), _at(x.created_at), x.ae_rating or "",
                   "" if x.ae_repeated_discovery is None else x.ae_repeated_discovery],
    ),
    "requests": (
        ["id", "lead_id", "company", "requested_by", "requested_at", "state", "decided_by",
         "decided_at"],
        lambda x: [x.pk, x.lead_id, x.lead.company_name, _person(x.requested_by),
                   _at(x.requested_at), x.state, _person(x.decided_by), _at(x.decided_at)],
    ),
}  # fmt: skip
