"""Report-shaped reads of SLA data, in aggregate SQL (GROUP BY with FILTER / CASE), never
row-by-row Python: the cost is the query's, whatever the number of timers or leads.

For the reports app and the /sla/ dashboard:

* `compliance_by(dimension, start=, end=)` - met / breached / running overdue per policy,
  user, team or source, for the commitments that fell due in ``[start, end)``;
* `response_times(start=, end=)` - average and median time from assignment to first
  contact and to acceptance, for the leads assigned in ``[start, end)``. Medians are
  exact on SQLite and PostgreSQL alike (window functions), not approximations;
* `sla_summary(user, now=)` - the dashboard's counts in one query;
* `running_timers_prefetch()` and `has_overdue_timer(now)` for lead queues;
* the /sla/ pages' and the API's lists: `clock_lists`, `policies_for_settings`,
  `calendars_for_settings`, `policy_history`, `calendar_history`, and the public
  holidays a calendar's country brings (`upcoming_public_holidays`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Literal

import holidays as public_holidays
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Team, User
from leads.models import Lead, Source
from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange, SlaTimer

Dimension = Literal["policy", "user", "team", "source"]


# --- compliance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceRow:
    """One group's record. `rate` is met / (met + breached + running_overdue): the share
    of decided commitments kept; None when none is decided yet. Cancelled clocks (the lead
    left the flow in time) and clocks still running in time count only in `total`."""

    key: Any
    label: str
    met: int
    breached: int
    running_overdue: int
    running: int
    cancelled: int
    total: int

    @property
    def decided(self) -> int:
        return self.met + self.breached + self.running_overdue

    @property
    def rate(self) -> float | None:
        return self.met / self.decided if self.decided else None


_DIMENSIONS: dict[str, dict[str, str]] = {
    "policy": {"key": "policy_id", "name": "policy__name", "extra": "policy__key"},
    "user": {
        "key": "responsible_id",
        "name": "responsible__first_name",
        "extra": "responsible__last_name",
        "username": "responsible__username",
    },
    "team": {"key": "lead__team_id", "name": "lead__team__name"},
    "source": {"key": "lead__source"},
}


def compliance_by(
    dimension: Dimension,
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    scope_user: User | None = None,
    now: datetime.datetime | None = None,
) -> list[ComplianceRow]:
    """SLA compliance per `dimension` for timers due in ``[start, end)``: one GROUP BY.

    `scope_user` limits the rows to the timers that user may see (a manager's team).
    """
    if dimension not in _DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {sorted(_DIMENSIONS)}")
    now = now or timezone.now()
    columns = _DIMENSIONS[dimension]
    timers = SlaTimer.objects.filter(due_at__gte=start, due_at__lt=end)
    if scope_user is not None:
        timers = timers.visible_to(scope_user)
    rows = (
        timers.values(*columns.values())
        .annotate(
            met_count=Count("pk", filter=Q(stopped_at__isnull=False, met=True)),
            breached_count=Count("pk", filter=Q(stopped_at__isnull=False, met=False)),
            running_overdue=Count("pk", filter=Q(stopped_at__isnull=True, due_at__lte=now)),
            running=Count("pk", filter=Q(stopped_at__isnull=True)),
            cancelled=Count("pk", filter=Q(stopped_at__isnull=False, met__isnull=True)),
            total=Count("pk"),
        )
        .order_by(columns["key"])
    )
    return [
        ComplianceRow(
            key=row[columns["key"]],
            label=_group_label(dimension, row, columns),
            met=row["met_count"],
            breached=row["breached_count"],
            running_overdue=row["running_overdue"],
            running=row["running"],
            cancelled=row["cancelled"],
            total=row["total"],
        )
        for row in rows
    ]


def _group_label(dimension: str, row: dict[str, Any], columns: dict[str, str]) -> str:
    key = row[columns["key"]]
    if dimension == "policy":
        return row[columns["name"]]
    if dimension == "user":
        if key is None:
            return str(_("Unassigned"))
        full = f"{row[columns['name']]} {row[columns['extra']]}".strip()
        return full or row[columns["username"]]
    if dimension == "team":
        return row[columns["name"]] if key is not None else str(_("No team"))
    return str(Source(key).label) if key in Source.values else str(key)


# --- response times ---------------------------------------------------------------------------


class SecondsBetween(Func):
    """``end - start`` in seconds, as a float, on SQLite and PostgreSQL."""

    output_field = FloatField()
    arity = 2

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        # SQLite stores instants as ISO text in UTC; julianday() reads them to the ms.
        return (
            f"((julianday({end}) - julianday({start})) * 86400.0)",
            (*end_params, *start_params),
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        return (
            f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)",
            (*end_params, *start_params),
        )


@dataclass(frozen=True)
class ResponseTimes:
    key: Any
    label: str
    leads: int
    first_contact_count: int
    first_contact_avg: datetime.timedelta | None
    first_contact_median: datetime.timedelta | None
    acceptance_count: int
    acceptance_avg: datetime.timedelta | None
    acceptance_median: datetime.timedelta | None


_LEAD_DIMENSIONS = {
    None: None,
    "user": "owner_id",
    "team": "team_id",
    "source": "source",
}
_METRICS = {
    "first_contact": "first_contacted_at",
    "acceptance": "accepted_at",
}


def response_times(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    dimension: Literal["user", "team", "source"] | None = None,
    scope_user: User | None = None,
) -> list[ResponseTimes]:
    """Time from assignment to first contact and to acceptance for the leads assigned in
    ``[start, end)``, overall (`dimension=None`, one row) or per owner, team or source.

    Averages are one GROUP BY; medians one window query per metric (ROW_NUMBER and COUNT
    over each group, then the middle one or two rows), exact on both databases.
    """
    if dimension not in _LEAD_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    leads = Lead.objects.filter(assigned_at__gte=start, assigned_at__lt=end)
    if scope_user is not None:
        leads = leads.visible_to(scope_user)
    group = _LEAD_DIMENSIONS[dimension]
    base = leads.annotate(g=F(group) if group else Value(0, output_field=IntegerField())).annotate(
        **{
            f"{name}_seconds": SecondsBetween(F(column), F("assigned_at"))
            for name, column in _METRICS.items()
        },
    )
    averages = {
        row["g"]: row
        for row in base.values("g")
        .annotate(
            leads_count=Count("pk"),
            **{
                f"{name}_count": Count("pk", filter=Q(**{f"{column}__isnull": False}))
                for name, column in _METRICS.items()
            },
            **{f"{name}_avg": Avg(f"{name}_seconds") for name in _METRICS},
        )
        .order_by("g")
    }
    medians = {name: _medians(base, f"{name}_seconds") for name in _METRICS}
    labels = _group_labels(dimension, list(averages))
    return [
        ResponseTimes(
            key=key,
            label=labels.get(key, str(key)),
            leads=row["leads_count"],
            first_contact_count=row["first_contact_count"],
            first_contact_avg=_seconds(row["first_contact_avg"]),
            first_contact_median=_seconds(medians["first_contact"].get(key)),
            acceptance_count=row["acceptance_count"],
            acceptance_avg=_seconds(row["acceptance_avg"]),
            acceptance_median=_seconds(medians["acceptance"].get(key)),
        )
        for key, row in averages.items()
    ]


def _medians(base: QuerySet, column: str) -> dict[Any, float]:
    """{group: median of `column`} over `base`'s rows where it is not null."""
    rows = base.filter(**{f"{column}__isnull": False}).values("g", column).order_by()
    inner, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    g, d = quote("g"), quote(column)
    sql = (
        f"SELECT {g}, AVG({d}) FROM ("
        f" SELECT {g}, {d},"
        f" ROW_NUMBER() OVER (PARTITION BY {g} ORDER BY {d}) AS rn,"
        f" COUNT(*) OVER (PARTITION BY {g}) AS cnt"
        f" FROM ({inner}) base"
        f") ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY {g}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _group_labels(dimension: str | None, keys: list[Any]) -> dict[Any, str]:
    if dimension is None:
        return {key: str(_("All leads")) for key in keys}
    if dimension == "user":
        users = User.objects.in_bulk([k for k in keys if k is not None])
        return {k: str(users[k]) if k in users else str(_("Unassigned")) for k in keys}
    if dimension == "team":
        teams = Team.objects.in_bulk([k for k in keys if k is not None])
        return {k: teams[k].name if k in teams else str(_("No team")) for k in keys}
    return {k: str(Source(k).label) if k in Source.values else str(k) for k in keys}


def _seconds(value: float | None) -> datetime.timedelta | None:
    return None if value is None else datetime.timedelta(seconds=float(value))


# --- the dashboard and lead queues --------------------------------------------------------------


@dataclass(frozen=True)
class SlaSummary:
    at_risk: int
    overdue: int
    running: int
    met: int
    missed: int

    @property
    def rate(self) -> float | None:
        decided = self.met + self.missed
        return self.met / decided if decided else None


def sla_summary(user: User, *, now: datetime.datetime, since: datetime.datetime) -> SlaSummary:
    """Counts for the /sla/ dashboard in one aggregate query: running, at risk and overdue
    now; met and missed among the clocks stopped since `since`."""
    running = Q(stopped_at__isnull=True)
    stopped = Q(stopped_at__gte=since, stopped_at__lte=now)
    counts = (
        SlaTimer.objects.visible_to(user)
        .filter(running | stopped)
        .aggregate(
            at_risk=Count("pk", filter=running & Q(warn_at__lte=now, due_at__gt=now)),
            overdue=Count("pk", filter=running & Q(due_at__lte=now)),
            running=Count("pk", filter=running),
            met_count=Count("pk", filter=stopped & Q(met=True)),
            missed_count=Count("pk", filter=stopped & Q(met=False)),
        )
    )
    return SlaSummary(
        at_risk=counts["at_risk"],
        overdue=counts["overdue"],
        running=counts["running"],
        met=counts["met_count"],
        missed=counts["missed_count"],
    )


def running_timers_prefetch(to_attr: str = "running_timers") -> Prefetch:
    """For lead lists: ``Lead.objects.prefetch_related(running_timers_prefetch())`` puts the
    running clocks, soonest due first, on ``lead.running_timers`` (what `sla_badges` reads)."""
    return Prefetch(
        "sla_timers",
        queryset=SlaTimer.objects.running().select_related("policy").order_by("due_at", "pk"),
        to_attr=to_attr,
    )


def has_overdue_timer(now: datetime.datetime) -> Exists:
    """A lead filter: ``Lead.objects.filter(has_overdue_timer(now))``, the same predicate
    as the badges and the sweep."""
    return Exists(SlaTimer.objects.overdue(now).filter(lead=OuterRef("pk")))


def has_timer_due_between(start: datetime.datetime, end: datetime.datetime) -> Exists:
    """A lead filter for "due today": a running clock falls due in ``[start, end)``."""
    return Exists(SlaTimer.objects.due_between(start, end).filter(lead=OuterRef("pk")))


# --- the /sla/ pages and the settings API -------------------------------------------------------


@dataclass(frozen=True)
class ClockLists:
    """The overview's three lists: clocks overdue now, at risk now, and missed lately."""

    overdue: list[SlaTimer]
    at_risk: list[SlaTimer]
    late: list[SlaTimer]


def clock_lists(
    user: User, *, now: datetime.datetime, since: datetime.datetime, limit: int
) -> ClockLists:
    """The clocks `user` may see (`SlaTimerQuerySet.visible_to`): overdue and at risk at
    `now`, soonest due first; missed since `since`, last stopped first; `limit` each."""
    visible = SlaTimer.objects.visible_to(user).select_related(
        "policy", "lead", "responsible", "lead__team"
    )
    return ClockLists(
        overdue=list(visible.overdue(now).order_by("due_at", "pk")[:limit]),
        at_risk=list(visible.at_risk(now).order_by("due_at", "pk")[:limit]),
        late=list(
            visible.missed()
            .stopped_between(since, now + datetime.timedelta(seconds=1))
            .order_by("-stopped_at", "-pk")[:limit]
        ),
    )


def policies_for_settings() -> QuerySet[SlaPolicy]:
    """Policies with what their settings show: calendar, teams, last editor."""
    return SlaPolicy.objects.select_related("calendar", "updated_by").prefetch_related(
        "applies_to_teams"
    )


def policy_list() -> QuerySet[SlaPolicy]:
    """The policies page: active first, by starting event, each with its running clocks."""
    return (
        policies_for_settings()
        .annotate(running_count=Count("timers", filter=Q(timers__stopped_at__isnull=True)))
        .order_by("-is_active", "start_event", "key")
    )


def running_timer_count(policy: SlaPolicy) -> int:
    return SlaTimer.objects.running().filter(policy=policy).count()


def calendars_for_settings() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.prefetch_related("holidays").order_by("name")


def calendar_list() -> QuerySet[BusinessCalendar]:
    """The calendars page: each with how many custom holidays and policies it has."""
    return BusinessCalendar.objects.annotate(
        holiday_count=Count("holidays", distinct=True),
        policy_count=Count("policies", distinct=True),
    ).order_by("name")


def policy_history(policy: SlaPolicy, *, limit: int) -> list[SlaPolicyChange]:
    """The policy's audit trail, newest first."""
    return list(SlaPolicyChange.objects.filter(policy=policy).select_related("actor")[:limit])


def calendar_history(calendar: BusinessCalendar, *, limit: int) -> list[CalendarChange]:
    """The calendar's audit trail, newest first."""
    return list(CalendarChange.objects.filter(calendar=calendar).select_related("actor")[:limit])


def upcoming_public_holidays(
    calendar: BusinessCalendar, *, today: datetime.date, limit: int = 8
) -> list[tuple[datetime.date, str]]:
    """The next public holidays of the calendar's country (for RevOps to check)."""
    if not calendar.holiday_country:
        return []
    try:
        days = public_holidays.country_holidays(
            calendar.holiday_country,
            subdiv=calendar.holiday_subdivision or None,
            years=range(today.year, today.year + 2),
        )
    except NotImplementedError:
        return []
    return sorted((d, n) for d, n in days.items() if d >= today)[:limit]
