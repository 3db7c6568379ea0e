"""Fetch an SLA object and authorize, or raise: the one door every interface goes through.

The permissions themselves are `rules` predicates in `sla.rules`. Pages, the API, the
admin and the configuration services call these helpers, and templates show buttons from
the same permission names (`SETTINGS_PERMISSIONS`), so who may do what with SLA settings
and clocks is decided once.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound
from crm.models import User
from sla.models import BusinessCalendar, CalendarHoliday, SlaPolicy, SlaTimer

TimerAction = Literal["view"]
# read: the settings over the API (anyone signed in); view: the /sla/ pages (managers and
# RevOps); edit: change a policy or calendar (RevOps).
SettingsAction = Literal["read", "view", "edit"]

TIMER_PERMISSIONS: dict[TimerAction, str] = {"view": "sla.view_timer"}
SETTINGS_PERMISSIONS: dict[SettingsAction, str] = {
    "read": "sla.read_settings",
    "view": "sla.view_area",
    "edit": "sla.change_settings",
}

M = TypeVar("M", bound=Model)


def timer_for(
    user: User,
    timer_id: Any,
    *,
    to: TimerAction = "view",
    queryset: QuerySet[SlaTimer] | None = None,
) -> SlaTimer:
    """The timer `timer_id`, if `user` may do `to` with it.

    `NotFound` when it does not exist or the user may not see it (the two read the same,
    so ids do not leak); `NotAllowed` when they may see it but not do `to`.
    """
    rows = (
        queryset
        if queryset is not None
        else SlaTimer.objects.select_related(
            "policy", "lead__team", "lead__owner", "responsible__team"
        )
    )
    try:
        timer = rows.get(pk=timer_id)
    except (SlaTimer.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such SLA clock.")) from None
    if not user.has_perm(TIMER_PERMISSIONS["view"], timer):
        raise NotFound(_("No such SLA clock."))
    if to != "view" and not user.has_perm(TIMER_PERMISSIONS[to], timer):
        raise NotAllowed(_("You may not do that with this SLA clock."))
    return timer


def may(user: User, to: SettingsAction) -> bool:
    """May `user` do `to` with the SLA settings? (For buttons and read-only forms.)"""
    return user.has_perm(SETTINGS_PERMISSIONS[to])


def require_settings_permission(user: User, to: SettingsAction) -> None:
    """`NotAllowed` unless `user` may do `to` with the SLA settings. Settings are not
    secret, so the refusal comes before any lookup: a 403, never a 404 that says more."""
    if may(user, to):
        return
    if to == "edit":
        raise NotAllowed(_("Only RevOps may change SLA policies and calendars."))
    raise NotAllowed(_("The SLA pages are for managers and RevOps."))


def policy_for(
    user: User,
    policy_id: Any,
    *,
    to: SettingsAction = "view",
    queryset: QuerySet[SlaPolicy] | None = None,
) -> SlaPolicy:
    """The policy `policy_id`, if `user` may do `to` with it (`NotAllowed`, `NotFound`)."""
    require_settings_permission(user, to)
    return _get(queryset if queryset is not None else SlaPolicy.objects.all(), policy_id)


def calendar_for(
    user: User,
    calendar_id: Any,
    *,
    to: SettingsAction = "view",
    queryset: QuerySet[BusinessCalendar] | None = None,
) -> BusinessCalendar:
    """The calendar `calendar_id`, if `user` may do `to` with it (`NotAllowed`, `NotFound`)."""
    require_settings_permission(user, to)
    return _get(queryset if queryset is not None else BusinessCalendar.objects.all(), calendar_id)


def holiday_for(user: User, holiday_id: Any, *, calendar_id: Any) -> CalendarHoliday:
    """A custom holiday of calendar `calendar_id`, if `user` may edit the calendar."""
    require_settings_permission(user, "edit")
    return _get(CalendarHoliday.objects.filter(calendar_id=calendar_id), holiday_id)


def _get(rows: QuerySet[M], pk: Any) -> M:
    try:
        return rows.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found.")) from None
