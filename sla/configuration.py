"""RevOps edits SLA policies and business calendars: validated here (one set of rules for
the browser and the API), audited (who, when, old -> new) and applied to new timers.

Running timers keep the target they started with unless RevOps asks to re-plan them
(`replan_running=True`), which recomputes their warning and due times from their own
start. An edited escalation chain applies to running timers at once: it says who is told,
not how long the commitment is.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import holidays as public_holidays
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from leads.models import Segment, Source
from sla.access import require_settings_permission
from sla.models import (
    BusinessCalendar,
    CalendarChange,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyChange,
)
from sla.timers import timers_replan, timers_reschedule

Event = SlaPolicy.Event
Unit = SlaPolicy.Unit

POLICY_FIELDS = (
    "name",
    "start_event",
    "stop_event",
    "target_value",
    "target_unit",
    "warn_at_percent",
    "calendar",
    "applies_to_sources",
    "applies_to_segments",
    "applies_to_teams",
    "escalation_chain",
    "is_active",
)
CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "working_days",
    "work_starts",
    "work_ends",
    "holiday_country",
    "holiday_subdivision",
)
ESCALATION_TARGETS = ("manager", "revops")
MAX_ESCALATION_LEVELS = 5
# A commitment longer than a year is a typo, not an SLA.
MAX_TARGET_MINUTES = 366 * 24 * 60
_UNIT_MINUTES = {
    Unit.MINUTES: 1,
    Unit.HOURS: 60,
    Unit.DAYS: 24 * 60,
    Unit.BUSINESS_HOURS: 60,
    Unit.BUSINESS_DAYS: 24 * 60,
}
# Conversion ends every clock, so nothing can start there; an MQL ends none.
START_EVENTS = tuple(e for e in Event if e != Event.CONVERTED)
STOP_EVENTS = tuple(e for e in Event if e != Event.MQL)


# --- policies ------------------------------------------------------------------------------


@dataclass
class PolicyEdit:
    """The outcome of an edit: what changed (old -> new) and how many running timers were
    re-planned (None when RevOps did not ask to)."""

    policy: SlaPolicy
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)
    replanned: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.old or self.new)


def policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    """The editable settings as plain JSON, as the audit records them."""
    return {
        "name": policy.name,
        "start_event": policy.start_event,
        "stop_event": policy.stop_event,
        "target_value": policy.target_value,
        "target_unit": policy.target_unit,
        "warn_at_percent": policy.warn_at_percent,
        "calendar": policy.calendar.name if policy.calendar is not None else None,
        "applies_to_sources": sorted(policy.applies_to_sources or []),
        "applies_to_segments": sorted(policy.applies_to_segments or []),
        "applies_to_teams": sorted(t.name for t in policy.applies_to_teams.all()),
        "escalation_chain": list(policy.escalation_chain or []),
        "is_active": policy.is_active,
    }


def policy_problems(values: Mapping[str, Any], *, policy: SlaPolicy | None = None) -> list[Problem]:
    """Every reason `values` (model field names) cannot be saved; empty means they can."""
    problems: list[Problem] = []
    if policy is None:
        key = str(values.get("key") or "").strip()
        if not key:
            problems.append(Problem("required", "key", _("Give the policy a key.")))
        elif SlaPolicy.objects.filter(key=key).exists():
            problems.append(Problem("duplicate", "key", _("Another policy has this key.")))
    if not str(values.get("name") or "").strip():
        problems.append(Problem("required", "name", _("Give the policy a name.")))
    start, stop = values.get("start_event"), values.get("stop_event")
    if start not in START_EVENTS:
        problems.append(Problem("invalid_choice", "start_event", _("Choose the starting event.")))
    if stop not in STOP_EVENTS:
        problems.append(Problem("invalid_choice", "stop_event", _("Choose the stopping event.")))
    elif start == stop:
        problems.append(
            Problem(
                "same_events", "stop_event", _("A clock cannot stop on the event that starts it.")
            )
        )
    unit = values.get("target_unit")
    if unit not in Unit.values:
        problems.append(Problem("invalid_choice", "target_unit", _("Choose a unit.")))
    target = values.get("target_value")
    if not isinstance(target, int) or isinstance(target, bool) or target < 1:
        problems.append(
            Problem("out_of_range", "target_value", _("The target is a whole number, at least 1."))
        )
    elif unit in _UNIT_MINUTES and target * _UNIT_MINUTES[unit] > MAX_TARGET_MINUTES:
        problems.append(
            Problem("out_of_range", "target_value", _("A target cannot be longer than a year."))
        )
    warn = values.get("warn_at_percent")
    if not isinstance(warn, int) or isinstance(warn, bool) or not 1 <= warn <= 99:
        problems.append(
            Problem(
                "out_of_range", "warn_at_percent", _("Warn between 1 % and 99 % of the target.")
            )
        )
    calendar = values.get("calendar")
    if unit in (Unit.BUSINESS_HOURS, Unit.BUSINESS_DAYS) and calendar is None:
        problems.append(
            Problem(
                "calendar_required",
                "calendar",
                _("Business hours and days are counted on a calendar: choose one."),
            )
        )
    for name, allowed in (
        ("applies_to_sources", Source.values),
        ("applies_to_segments", Segment.values),
    ):
        chosen = values.get(name) or []
        if not isinstance(chosen, list | tuple) or any(v not in allowed for v in chosen):
            problems.append(
                Problem("invalid_choice", name, _("Choose from: %s.") % ", ".join(allowed))
            )
    problems += escalation_chain_problems(values.get("escalation_chain"))
    return problems


def escalation_chain_problems(chain: Any) -> list[Problem]:
    """The chain is a list of ``{"to": "manager"|"revops", "after_minutes": N}``, each N
    counted from the due time and no earlier than the level before it."""
    name = "escalation_chain"
    if chain is None:
        chain = []
    if not isinstance(chain, list):
        return [Problem("invalid", name, _("The escalation chain is a list of levels."))]
    if len(chain) > MAX_ESCALATION_LEVELS:
        return [
            Problem(
                "too_long",
                name,
                _("At most %(n)d escalation levels.") % {"n": MAX_ESCALATION_LEVELS},
            )
        ]
    problems = []
    previous = 0
    for index, step in enumerate(chain, start=1):
        where = f"{name}.{index}"
        if not isinstance(step, dict) or set(step) - {"to", "after_minutes"}:
            problems.append(
                Problem(
                    "invalid", where, _("Each level has “to” and “after_minutes”, nothing else.")
                )
            )
            continue
        if step.get("to") not in ESCALATION_TARGETS:
            problems.append(
                Problem("invalid_choice", where, _("Escalate to “manager” or “revops”."))
            )
        minutes = step.get("after_minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            problems.append(
                Problem("out_of_range", where, _("“after_minutes” is a whole number, 0 or more."))
            )
        elif minutes < previous:
            problems.append(
                Problem(
                    "out_of_order",
                    where,
                    _("Each level comes after the one before it (%(m)d minutes or more).")
                    % {"m": previous},
                )
            )
        else:
            previous = minutes
    return problems


def policy_create(*, by: User, data: Mapping[str, Any]) -> SlaPolicy:
    """A new policy; it starts timers from the next matching event on."""
    require_settings_permission(by, "edit")
    _refuse_unknown(data, {"key", *POLICY_FIELDS})
    values = {
        "key": "",
        "name": "",
        "warn_at_percent": 75,
        "calendar": None,
        "applies_to_sources": [],
        "applies_to_segments": [],
        "applies_to_teams": [],
        "escalation_chain": [],
        "is_active": True,
        **data,
    }
    values["key"] = str(values["key"]).strip()
    problems = policy_problems(values)
    if problems:
        raise ValidationFailed(problems=problems)
    teams = list(values.pop("applies_to_teams") or [])
    with transaction.atomic():
        policy = SlaPolicy(updated_by=by, **values)
        _full_clean(policy)
        policy.save()
        policy.applies_to_teams.set(teams)
        SlaPolicyChange.objects.create(
            policy=policy, actor=by, old={}, new={"key": policy.key, **policy_snapshot(policy)}
        )
    return policy


def policy_update(
    *, policy_id: int, by: User, data: Mapping[str, Any], replan_running: bool = False
) -> PolicyEdit:
    """Change a policy's settings. New timers use them; running timers keep theirs unless
    `replan_running`. Records old -> new of every changed setting."""
    require_settings_permission(by, "edit")
    _refuse_unknown(data, set(POLICY_FIELDS))
    with transaction.atomic():
        policy = (
            SlaPolicy.objects.select_for_update(of=("self",))
            .select_related("calendar")
            .prefetch_related("applies_to_teams")
            .get(pk=policy_id)
        )
        before = policy_snapshot(policy)
        values = {
            name: getattr(policy, name) for name in POLICY_FIELDS if name != "applies_to_teams"
        }
        values["applies_to_teams"] = list(policy.applies_to_teams.all())
        values.update(data)
        problems = policy_problems(values, policy=policy)
        if problems:
            raise ValidationFailed(problems=problems)
        teams = values.pop("applies_to_teams") or []
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_by = by
        _full_clean(policy)
        policy.save()
        policy.applies_to_teams.set(teams)
        after = policy_snapshot(SlaPolicy.objects.get(pk=policy.pk))
        edit = PolicyEdit(policy=policy)
        edit.old = {k: before[k] for k in after if before[k] != after[k]}
        edit.new = {k: after[k] for k in edit.old}
        if replan_running:
            edit.replanned = timers_replan(policy=policy)
            edit.new["replanned_running_timers"] = edit.replanned
        elif "escalation_chain" in edit.old:
            timers_reschedule(policy=policy)
        if edit.changed:
            SlaPolicyChange.objects.create(policy=policy, actor=by, old=edit.old, new=edit.new)
    return edit


# --- calendars ------------------------------------------------------------------------------


@cache
def supported_countries() -> dict[str, tuple[str, ...]]:
    """ISO 3166-1 alpha-2 codes the `holidays` package knows, with their subdivisions."""
    return {
        code: tuple(subdivisions)
        for code, subdivisions in public_holidays.list_supported_countries().items()
        if len(code) == 2
    }


def calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "working_days": sorted(calendar.working_days or []),
        "work_starts": _hhmm(calendar.work_starts),
        "work_ends": _hhmm(calendar.work_ends),
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
    }


def calendar_problems(
    values: Mapping[str, Any], *, calendar: BusinessCalendar | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    name = str(values.get("name") or "").strip()
    same_name = BusinessCalendar.objects.filter(name=name)
    if calendar is not None:
        same_name = same_name.exclude(pk=calendar.pk)
    if not name:
        problems.append(Problem("required", "name", _("Give the calendar a name.")))
    elif same_name.exists():
        problems.append(Problem("duplicate", "name", _("Another calendar has this name.")))
    zone = values.get("time_zone")
    if not zone or zone not in _time_zones():
        problems.append(Problem("invalid_choice", "time_zone", _("Choose a time zone.")))
    days = values.get("working_days")
    if (
        not isinstance(days, list | tuple)
        or not days
        or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
        or len(set(days)) != len(days)
    ):
        problems.append(
            Problem("invalid", "working_days", _("Choose at least one working day (0 = Monday)."))
        )
    starts, ends = values.get("work_starts"), values.get("work_ends")
    if not isinstance(starts, datetime.time):
        problems.append(Problem("required", "work_starts", _("When does the working day start?")))
    if not isinstance(ends, datetime.time):
        problems.append(Problem("required", "work_ends", _("When does the working day end?")))
    if isinstance(starts, datetime.time) and isinstance(ends, datetime.time) and starts >= ends:
        problems.append(
            Problem("out_of_order", "work_ends", _("The working day ends after it starts."))
        )
    country = (values.get("holiday_country") or "").upper()
    subdivision = values.get("holiday_subdivision") or ""
    if country and country not in supported_countries():
        problems.append(
            Problem("invalid_choice", "holiday_country", _("No public holidays known for it."))
        )
    elif subdivision and not country:
        problems.append(
            Problem("required", "holiday_country", _("A subdivision needs its country."))
        )
    elif subdivision and subdivision not in supported_countries()[country]:
        problems.append(
            Problem(
                "invalid_choice",
                "holiday_subdivision",
                _("Choose one of: %s.") % ", ".join(supported_countries()[country]),
            )
        )
    return problems


def calendar_create(*, by: User, data: Mapping[str, Any]) -> BusinessCalendar:
    require_settings_permission(by, "edit")
    _refuse_unknown(data, set(CALENDAR_FIELDS))
    values = {
        "name": "",
        "time_zone": "UTC",
        "working_days": [0, 1, 2, 3, 4],
        "work_starts": datetime.time(9),
        "work_ends": datetime.time(17),
        "holiday_country": "",
        "holiday_subdivision": "",
        **data,
    }
    problems = calendar_problems(values)
    if problems:
        raise ValidationFailed(problems=problems)
    with transaction.atomic():
        calendar = BusinessCalendar(**_clean_calendar_values(values))
        _full_clean(calendar)
        calendar.save()
        CalendarChange.objects.create(
            calendar=calendar, actor=by, old={}, new=calendar_snapshot(calendar)
        )
    return calendar


@dataclass
class CalendarEdit:
    """The outcome of a calendar edit: its audit row, or None when nothing changed."""

    calendar: BusinessCalendar
    change: CalendarChange | None = None

    @property
    def changed(self) -> bool:
        return self.change is not None


def calendar_update(*, calendar_id: int, by: User, data: Mapping[str, Any]) -> CalendarEdit:
    """Change a calendar; timers started from now on count on it (running ones keep the
    due time they were given). Records old -> new of every changed setting."""
    require_settings_permission(by, "edit")
    _refuse_unknown(data, set(CALENDAR_FIELDS))
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar_id)
        before = calendar_snapshot(calendar)
        values = {name: getattr(calendar, name) for name in CALENDAR_FIELDS} | dict(data)
        problems = calendar_problems(values, calendar=calendar)
        if problems:
            raise ValidationFailed(problems=problems)
        for name, value in _clean_calendar_values(values).items():
            setattr(calendar, name, value)
        _full_clean(calendar)
        calendar.save()
        after = calendar_snapshot(calendar)
        old = {k: before[k] for k in after if before[k] != after[k]}
        if not old:
            return CalendarEdit(calendar=calendar)
        change = CalendarChange.objects.create(
            calendar=calendar, actor=by, old=old, new={k: after[k] for k in old}
        )
    return CalendarEdit(calendar=calendar, change=change)


def calendar_holiday_add(
    *, calendar_id: int, by: User, date: datetime.date | None, name: str
) -> CalendarHoliday:
    """A custom non-working date (company shutdown, local event) on top of public ones."""
    require_settings_permission(by, "edit")
    problems = []
    if not isinstance(date, datetime.date):
        problems.append(Problem("required", "date", _("Choose a date.")))
    if not (name or "").strip():
        problems.append(Problem("required", "name", _("Name the day off.")))
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar_id)
        if date and calendar.holidays.filter(date=date).exists():
            problems.append(Problem("duplicate", "date", _("This date is already a holiday.")))
        if problems or date is None:  # a missing date is among the problems
            raise ValidationFailed(problems=problems)
        holiday = CalendarHoliday.objects.create(calendar=calendar, date=date, name=name.strip())
        CalendarChange.objects.create(
            calendar=calendar,
            actor=by,
            old={},
            new={"holiday_added": {"date": date.isoformat(), "name": holiday.name}},
        )
    return holiday


def calendar_holiday_remove(*, holiday_id: int, by: User) -> None:
    require_settings_permission(by, "edit")
    with transaction.atomic():
        holiday = CalendarHoliday.objects.select_related("calendar").get(pk=holiday_id)
        CalendarChange.objects.create(
            calendar=holiday.calendar,
            actor=by,
            old={"holiday_removed": {"date": holiday.date.isoformat(), "name": holiday.name}},
            new={},
        )
        holiday.delete()


def calendar_holidays_replace(
    *, calendar_id: int, by: User, holidays: Iterable[tuple[datetime.date, str]]
) -> None:
    """Set a calendar's custom holidays to exactly `holidays` (the API's PUT semantics)."""
    require_settings_permission(by, "edit")
    wanted = {}
    problems = []
    for index, (day, name) in enumerate(holidays):
        if day in wanted:
            problems.append(Problem("duplicate", f"holidays.{index}", _("Listed twice.")))
        if not (name or "").strip():
            problems.append(Problem("required", f"holidays.{index}", _("Name the day off.")))
        wanted[day] = (name or "").strip()
    if problems:
        raise ValidationFailed(problems=problems)
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar_id)
        current = {h.date: h for h in calendar.holidays.all()}
        removed = [h for day, h in current.items() if day not in wanted]
        added = [(d, n) for d, n in wanted.items() if d not in current]
        renamed = [
            (current[d], n) for d, n in wanted.items() if d in current and current[d].name != n
        ]
        old = {
            "holidays": {h.date.isoformat(): h.name for h in removed}
            | {h.date.isoformat(): h.name for h, _n in renamed}
        }
        new = {"holidays": {d.isoformat(): n for d, n in added + [(h.date, n) for h, n in renamed]}}
        CalendarHoliday.objects.filter(pk__in=[h.pk for h in removed]).delete()
        CalendarHoliday.objects.bulk_create(
            CalendarHoliday(calendar=calendar, date=d, name=n) for d, n in added
        )
        for holiday, name in renamed:
            holiday.name = name
            holiday.save(update_fields=["name"])
        if old["holidays"] or new["holidays"]:
            CalendarChange.objects.create(calendar=calendar, actor=by, old=old, new=new)


def _clean_calendar_values(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {name: values[name] for name in CALENDAR_FIELDS}
    cleaned["name"] = str(cleaned["name"]).strip()
    cleaned["working_days"] = sorted(cleaned["working_days"])
    cleaned["holiday_country"] = (cleaned["holiday_country"] or "").upper()
    cleaned["holiday_subdivision"] = cleaned["holiday_subdivision"] or ""
    return cleaned


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _hhmm(value: datetime.time | str | None) -> str | None:
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    return value


# Checked by `policy_problems` / `calendar_problems` with better messages; an empty JSON
# list is a valid setting, not a blank one.
_CHECKED_ELSEWHERE = [
    "applies_to_teams",
    "applies_to_sources",
    "applies_to_segments",
    "escalation_chain",
    "working_days",
]


def _full_clean(instance: SlaPolicy | BusinessCalendar) -> None:
    """The model's own checks (lengths, constraints) as `ValidationFailed`, never a 500."""
    try:
        instance.full_clean(exclude=_CHECKED_ELSEWHERE)
    except DjangoValidationError as error:
        raise ValidationFailed(
            problems=[
                Problem(
                    "invalid",
                    None if name == NON_FIELD_ERRORS else name,
                    " ".join(str(m) for m in messages),
                )
                for name, messages in error.message_dict.items()
            ]
        ) from error


def _refuse_unknown(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", name, _("This field cannot be set."))
                for name in sorted(unknown)
            ]
        )
