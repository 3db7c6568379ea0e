"""Show SLA clocks anywhere: ``{% load sla_tags %}``.

    {% sla_assets %}                      in the page's head block: stylesheet + live countdown
    {% sla_badge timer %}                 one clock: "3 h 12 min left", "Overdue 40 min", "Met"
    {% sla_badge timer now show_policy=True %}
    {% sla_badges lead %}                 every running clock of a lead, soonest due first
    {{ timer|sla_state:now }}             running | at_risk | overdue | met | missed | cancelled
    {{ timer.due_at|sla_until:now }}      "3 h 12 min" (absolute difference, compact)

Badges read only the timer's stored `warn_at` / `due_at` (and `stopped_at`, `met`), through
`SlaTimer.state`, the same predicate as the list filters, the dashboard and the sweep. With
`{% sla_assets %}` on the page the text counts down every 30 seconds in the browser and turns
amber at the warning point and red at the due time, without a reload.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field
from django.templatetags.static import static
from django.utils import dateformat, timezone
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext, pgettext

from leads.models import Segment, Source
from sla.models import BusinessCalendar, SlaPolicy, SlaTimer

register = template.Library()

State = SlaTimer.State

_ICONS = {
    State.RUNNING: "bi-stopwatch",
    State.AT_RISK: "bi-hourglass-split",
    State.OVERDUE: "bi-alarm-fill",
    State.MET: "bi-check-circle-fill",
    State.MISSED: "bi-x-circle-fill",
    State.CANCELLED: "bi-slash-circle",
}


def duration_text(delta: datetime.timedelta) -> str:
    """A compact, translated duration: "2 d 3 h", "3 h 12 min", "12 min", "< 1 min"."""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        if hours:
            return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
        return _("%(d)d d") % {"d": days}
    if hours:
        if minutes:
            return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
        return _("%(h)d h") % {"h": hours}
    if minutes:
        return _("%(m)d min") % {"m": minutes}
    return _("< 1 min")


def local_time(moment: datetime.datetime) -> str:
    """An instant in the active (the user's) time zone, e.g. "Tue 4 Mar 2025, 14:30 WIB"."""
    return dateformat.format(timezone.localtime(moment), "D j M Y, H:i T")


def badge_label(timer: SlaTimer, state: str, now: datetime.datetime) -> str:
    if state in (State.RUNNING, State.AT_RISK):
        return _("%(left)s left") % {"left": duration_text(timer.due_at - now)}
    if state == State.OVERDUE:
        return _("Overdue %(late)s") % {"late": duration_text(now - timer.due_at)}
    if state == State.MET:
        return pgettext("SLA clock", "Met")
    if state == State.MISSED and timer.stopped_at is not None:
        return _("Late by %(late)s") % {"late": duration_text(timer.stopped_at - timer.due_at)}
    return pgettext("SLA clock", "Stopped")


def badge_context(
    timer: SlaTimer, now: datetime.datetime | None = None, *, show_policy: bool = False
) -> dict[str, Any]:
    now = now or timezone.now()
    state = timer.state(now)
    values = {"policy": timer.policy.name, "due": local_time(timer.due_at)}
    if timer.stopped_at is None:
        title = _("%(policy)s: due %(due)s") % values
    else:
        values["stopped"] = local_time(timer.stopped_at)
        title = _("%(policy)s: due %(due)s, stopped %(stopped)s") % values
    return {
        "timer": timer,
        "state": state,
        "state_label": State(state).label,
        "label": badge_label(timer, state, now),
        "icon": _ICONS[State(state)],
        "title": title,
        "policy_name": timer.policy.name if show_policy else "",
        "live": state in (State.RUNNING, State.AT_RISK, State.OVERDUE),
    }


@register.inclusion_tag("sla/_badge.html")
def sla_badge(
    timer: SlaTimer | None, now: datetime.datetime | None = None, show_policy: bool = False
) -> dict[str, Any]:
    """One clock as a badge. Renders nothing for `None`."""
    if timer is None:
        return {"timer": None}
    return badge_context(timer, now, show_policy=show_policy)


@register.inclusion_tag("sla/_badges.html")
def sla_badges(
    lead: Any, now: datetime.datetime | None = None, show_policy: bool = True
) -> dict[str, Any]:
    """Every running clock of `lead`, soonest due first. Reads `lead.running_timers` when
    the list prefetched it (`sla.selectors.running_timers_prefetch()`), else one query."""
    timers = getattr(lead, "running_timers", None)
    if timers is None:
        timers = list(
            SlaTimer.objects.running()
            .filter(lead=lead)
            .select_related("policy")
            .order_by("due_at", "pk")
        )
    now = now or timezone.now()
    return {"badges": [badge_context(t, now, show_policy=show_policy) for t in timers]}


@register.filter
def sla_state(timer: SlaTimer, now: datetime.datetime | None = None) -> str:
    return timer.state(now or timezone.now())


@register.filter
def sla_until(moment: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    if moment is None:
        return ""
    return duration_text(moment - (now or timezone.now()))


@register.simple_tag
def sla_assets() -> SafeString:
    """The badge stylesheet, the countdown script and its translated words."""
    labels = {
        "left": _("%(left)s left"),
        "overdue": _("Overdue %(late)s"),
        "d": _("%(d)d d"),
        "dh": _("%(d)d d %(h)d h"),
        "h": _("%(h)d h"),
        "hm": _("%(h)d h %(m)d min"),
        "m": _("%(m)d min"),
        "lt": _("< 1 min"),
        "states": {s.value: str(s.label) for s in State},
        "icons": {s.value: icon for s, icon in _ICONS.items()},
    }
    return format_html(
        '<link rel="stylesheet" href="{}">{}<script src="{}" defer></script>',
        static("sla/sla.css"),
        json_script(labels, "sla-labels"),
        static("sla/countdown.js"),
    )


@register.filter
def sla_escalation(timer: SlaTimer) -> str:
    """Who has been told of an overdue clock so far: "Owner", "Manager", "RevOps"."""
    if timer.breached_at is None:
        return "—"
    chain = timer.policy.escalation_chain or []
    level = timer.escalation_level
    if level == 0 or level > len(chain):
        return _("Owner") if level == 0 else _("RevOps")
    target = chain[level - 1].get("to") if isinstance(chain[level - 1], dict) else ""
    return {"manager": _("Manager"), "revops": _("RevOps")}.get(target, str(target))


def target_text(value: int, unit: str) -> str:
    """ "24 hours", "5 business days", "1 minute"."""
    texts = {
        "minutes": ngettext("%(n)d minute", "%(n)d minutes", value),
        "hours": ngettext("%(n)d hour", "%(n)d hours", value),
        "days": ngettext("%(n)d day", "%(n)d days", value),
        "business_hours": ngettext("%(n)d business hour", "%(n)d business hours", value),
        "business_days": ngettext("%(n)d business day", "%(n)d business days", value),
    }
    return texts.get(unit, f"%(n)d {unit}") % {"n": value}


@register.filter
def sla_target(policy_or_timer: Any) -> str:
    return target_text(policy_or_timer.target_value, policy_or_timer.target_unit)


@register.filter
def sla_chain(chain: Any) -> list[dict[str, str]]:
    """An escalation chain as [{"to": "Manager", "after": "4 h"}, ...] for display."""
    steps = []
    for step in chain or []:
        if not isinstance(step, dict):
            continue
        target = str(step.get("to") or "")
        to = {"manager": _("Manager"), "revops": _("RevOps")}.get(target, target)
        minutes = int(step.get("after_minutes") or 0)
        steps.append({"to": str(to), "after": duration_text(datetime.timedelta(minutes=minutes))})
    return steps


@register.filter
def sla_weekdays(days: Any) -> str:
    """[0, 1, 2, 3, 4] -> "Mon–Fri"; [0, 2, 4] -> "Mon, Wed, Fri"."""
    names = [
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    ]
    days = sorted({int(d) for d in days or [] if 0 <= int(d) <= 6})
    if not days:
        return "—"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[days[0]]}–{names[days[-1]]}"
    return ", ".join(names[d] for d in days)


@register.filter
def sla_labels(values: Any, kind: str) -> list[str]:
    """Stored codes of sources or segments as their display labels."""
    choices = dict((Source if kind == "source" else Segment).choices)
    return [str(choices.get(v, v)) for v in values or []]


_AUDIT_LABELS = {
    "replanned_running_timers": _lazy("running timers re-planned"),
    "holiday_added": _lazy("holiday added"),
    "holiday_removed": _lazy("holiday removed"),
    "holidays": _lazy("custom holidays"),
    "key": _lazy("key"),
}


@register.filter
def sla_field_label(name: str) -> str:
    """An audited setting's name as people say it."""
    if name in _AUDIT_LABELS:
        return str(_AUDIT_LABELS[name])
    for model in (SlaPolicy, BusinessCalendar):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(field, Field):
            return str(field.verbose_name)
    return name.replace("_", " ")


@register.filter
def sla_audit(value: Any, name: str = "") -> str:
    """An audited value as text: chains, lists, weekdays and yes/no read naturally."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name == "escalation_chain" and isinstance(value, list):
        steps = sla_chain(value)
        return " → ".join(_("%(to)s after %(after)s") % s for s in steps) or "—"
    if name == "working_days" and isinstance(value, list):
        return sla_weekdays(value)
    if name == "target_unit":
        return str(dict(SlaPolicy.Unit.choices).get(value, value))
    if name in ("start_event", "stop_event"):
        return str(dict(SlaPolicy.Event.choices).get(value, value))
    if name == "applies_to_sources":
        return ", ".join(sla_labels(value, "source"))
    if name == "applies_to_segments":
        return ", ".join(sla_labels(value, "segment"))
    if isinstance(value, dict) and set(value) == {"date", "name"}:
        return f"{_date_text(value['date'])} · {value['name']}"
    if name == "holidays" and isinstance(value, dict):
        return "; ".join(f"{_date_text(d)} · {n}" for d, n in sorted(value.items()))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _date_text(iso: str) -> str:
    try:
        return dateformat.format(datetime.date.fromisoformat(iso), "j M Y")
    except (TypeError, ValueError):
        return str(iso)
