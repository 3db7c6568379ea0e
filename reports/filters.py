"""What every report is asked for: a period, and optionally a team, an owner, a source.

Periods are calendar dates in the reader's time zone: "1-31 March" in Jakarta starts at
midnight Jakarta time. `start_at` / `end_at` turn them into the half-open UTC range
``[start_at, end_at)`` the SQL compares instants with.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Team, User

DEFAULT_PERIOD = "90d"

PERIOD_CHOICES = [
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("qtd", _("This quarter")),
    ("lq", _("Last quarter")),
    ("ytd", _("Year to date")),
    ("12m", _("Last 12 months")),
    ("custom", _("Custom dates")),
]


def _quarter_start(day: datetime.date) -> datetime.date:
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def period_dates(period: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The inclusive dates of a named period ending `today` (or the last full quarter)."""
    if period == "30d":
        return today - datetime.timedelta(days=29), today
    if period == "qtd":
        return _quarter_start(today), today
    if period == "lq":
        end = _quarter_start(today) - datetime.timedelta(days=1)
        return _quarter_start(end), end
    if period == "ytd":
        return today.replace(month=1, day=1), today
    if period == "12m":
        return today - datetime.timedelta(days=364), today
    return today - datetime.timedelta(days=89), today


@dataclass(frozen=True)
class ReportFilters:
    """A period (inclusive dates in `tz`) and the optional team, owner and source."""

    start: datetime.date
    end: datetime.date
    tz: datetime.tzinfo = field(default=datetime.UTC)
    team: Team | None = None
    owner: User | None = None
    source: str | None = None
    period: str = "custom"

    @property
    def start_at(self) -> datetime.datetime:
        return datetime.datetime.combine(self.start, datetime.time.min, tzinfo=self.tz)

    @property
    def end_at(self) -> datetime.datetime:
        """Exclusive: midnight after the last day, in the reader's zone."""
        next_day = self.end + datetime.timedelta(days=1)
        return datetime.datetime.combine(next_day, datetime.time.min, tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query_params(self) -> dict[str, str]:
        """The filters as URL parameters, for links that keep them (drill-downs, CSV)."""
        params: dict[str, str] = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.period != "custom":
            params["period"] = self.period
        if self.team is not None:
            params["team"] = str(self.team.pk)
        if self.owner is not None:
            params["owner"] = str(self.owner.pk)
        if self.source:
            params["source"] = self.source
        return params

    def with_changes(self, **changes: Any) -> ReportFilters:
        return replace(self, **changes)

    @classmethod
    def default(cls, *, tz: datetime.tzinfo | None = None, **kwargs: Any) -> ReportFilters:
        tz = tz or timezone.get_current_timezone()
        today = timezone.localdate(timezone.now(), tz)
        start, end = period_dates(DEFAULT_PERIOD, today)
        return cls(start=start, end=end, tz=tz, period=DEFAULT_PERIOD, **kwargs)


def user_zone(user: User) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC
