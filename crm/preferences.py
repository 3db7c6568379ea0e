"""A person's own settings: time zone, language, theme and which notifications reach them
how. One writer (`user_update_preferences`, audited as `PreferenceChange` rows) and the
questions the notification producers ask (`wants_in_app`, `wants_email`), and in which
language and time zone a message to a person is composed (`addressing`, `composed_for`).

Notification preferences are stored as the channels a person changed from the default,
`{"handoff": {"email": false}}`, so a kind added later starts at its default for everyone.
E-mail is a channel only for the kinds the product e-mails (`EMAILED_KINDS`); the others are
in-app only, and a request to e-mail them is refused rather than silently ignored.
"""

from __future__ import annotations

import contextlib
import datetime
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, Problem, ValidationFailed
from crm.models import TIME_ZONE_CHOICES, Notification, PreferenceChange, User
from crm.versioning import check_version

Kind = Notification.Kind

# The kinds a producer sends by e-mail as well as in the app (crm.services.notify with
# email=True, and every SLA sweep message). Keep in step with those producers.
EMAILED_KINDS: frozenset[str] = frozenset(
    {Kind.HANDOFF, Kind.APPROVAL, Kind.SLA_WARNING, Kind.SLA_BREACH, Kind.ESCALATION}
)
CHANNELS = ("in_app", "email")
FIELDS = ("time_zone", "language", "theme", "notifications")
SAVED = ("time_zone", "language", "theme", "notification_preferences")  # User's columns

TIME_ZONES: frozenset[str] = frozenset(name for name, _label in TIME_ZONE_CHOICES)
LANGUAGE_CODES: frozenset[str] = frozenset(code for code, _label in settings.LANGUAGES)


def notification_settings(user: User) -> dict[str, dict[str, bool | None]]:
    """Every kind with both channels as they apply to `user`: stored choice, else the
    default (on). `email` is None for a kind that is never e-mailed."""
    stored = user.notification_preferences or {}
    result: dict[str, dict[str, bool | None]] = {}
    for kind in Kind.values:
        mine = stored.get(kind, {})
        result[kind] = {
            "in_app": bool(mine.get("in_app", True)),
            "email": bool(mine.get("email", True)) if kind in EMAILED_KINDS else None,
        }
    return result


def wants_in_app(stored: Mapping[str, Any] | None, kind: str) -> bool:
    """Whether a person with these stored preferences gets `kind` in the bell."""
    return bool((stored or {}).get(kind, {}).get("in_app", True))


def wants_email(stored: Mapping[str, Any] | None, kind: str) -> bool:
    """Whether a person with these stored preferences gets `kind` by e-mail, when its
    producer e-mails it at all."""
    return kind in EMAILED_KINDS and bool((stored or {}).get(kind, {}).get("email", True))


# --- whom a message speaks to ------------------------------------------------------------------


def language_of(code: str | None) -> str:
    """The language to write to a person in, from their stored choice: theirs, else the
    site's default. A request falls back to the browser's; a message has no browser."""
    return code if code in LANGUAGE_CODES else settings.LANGUAGE_CODE


def zone_of(name: str | None) -> datetime.tzinfo:
    """The time zone to show a person times in, from their stored choice (else the
    site's); a name the database no longer knows falls back rather than failing a send."""
    for candidate in (name, settings.TIME_ZONE, "UTC"):
        if candidate:
            try:
                return zoneinfo.ZoneInfo(candidate)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.UTC


@contextlib.contextmanager
def addressing(person: User) -> Iterator[None]:
    """Compose in `person`'s language and time zone: what `gettext`, `localtime` and
    number formats give inside is what they read, whoever's request or task this is."""
    with (
        translation.override(language_of(person.language)),
        timezone.override(zone_of(person.time_zone)),
    ):
        yield


# A message not yet written: called in the reader's language and zone, once per pair.
Compose = Callable[[], str]


def composed_for(people: Iterable[User], message: str | Compose) -> dict[int, str]:
    """`message` as each person reads it, by their pk. A callable is composed once per
    language and time zone among them (a hundred recipients are rarely more than two or
    three); a plain string is taken as already written (user-typed text, a test)."""
    people = list(people)
    if isinstance(message, str):
        return {p.pk: message for p in people}
    groups: dict[tuple[str, str], list[User]] = {}
    for person in people:
        key = (language_of(person.language), person.time_zone or "")
        groups.setdefault(key, []).append(person)
    texts: dict[int, str] = {}
    for members in groups.values():
        with addressing(members[0]):
            text = str(message())
        texts.update((p.pk, text) for p in members)
    return texts


def preference_problems(changes: Mapping[str, Any]) -> list[Problem]:
    """Every reason `changes` cannot be applied; empty means they can."""
    problems: list[Problem] = []
    for key in changes:
        if key not in FIELDS:
            problems.append(
                Problem("unknown_field", key, _("Unknown field '%(name)s'.") % {"name": key})
            )
    if "time_zone" in changes and changes["time_zone"] not in TIME_ZONES:
        problems.append(
            Problem(
                "invalid_time_zone",
                "time_zone",
                _("Name a time zone of the IANA database, such as Asia/Jakarta or Europe/Berlin."),
            )
        )
    if "language" in changes and changes["language"] not in LANGUAGE_CODES | {""}:
        problems.append(
            Problem(
                "invalid_choice",
                "language",
                _("Choose one of: %(codes)s (blank: the browser's language).")
                % {"codes": ", ".join(sorted(LANGUAGE_CODES))},
            )
        )
    if "theme" in changes and changes["theme"] not in User.Theme.values:
        problems.append(
            Problem(
                "invalid_choice",
                "theme",
                _("Choose one of: %(themes)s.") % {"themes": ", ".join(User.Theme.values)},
            )
        )
    if "notifications" in changes:
        problems.extend(_notification_problems(changes["notifications"]))
    return problems


def _notification_problems(value: Any) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [Problem("invalid", "notifications", _("Send an object of kinds."))]
    problems = []
    for kind, channels in value.items():
        field = f"notifications.{kind}"
        if kind not in Kind.values:
            problems.append(
                Problem(
                    "unknown_kind",
                    field,
                    _("Unknown notification kind; the kinds are: %(kinds)s.")
                    % {"kinds": ", ".join(Kind.values)},
                )
            )
            continue
        if not isinstance(channels, Mapping):
            problems.append(
                Problem("invalid", field, _("Send in_app and/or email, each true or false."))
            )
            continue
        for channel, on in channels.items():
            if channel not in CHANNELS:
                problems.append(
                    Problem(
                        "unknown_field",
                        f"{field}.{channel}",
                        _("Unknown channel; the channels are in_app and email."),
                    )
                )
            elif not isinstance(on, bool):
                problems.append(Problem("invalid", f"{field}.{channel}", _("Send true or false.")))
            elif channel == "email" and on and kind not in EMAILED_KINDS:
                problems.append(
                    Problem(
                        "not_emailed",
                        f"{field}.email",
                        _("This kind of notification is shown in the app only."),
                    )
                )
    return problems


def _merged_notifications(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`stored` with `patch`'s channels applied; a channel set back to its default (on) is
    dropped, so what is stored is only what differs."""
    merged = {kind: dict(channels) for kind, channels in stored.items()}
    for kind, channels in patch.items():
        mine = merged.setdefault(kind, {})
        for channel, on in channels.items():
            if on:
                mine.pop(channel, None)
            else:
                mine[channel] = False
        if not mine:
            del merged[kind]
    return merged


@dataclass(frozen=True)
class PreferenceEdit:
    user: User
    change: PreferenceChange | None  # None: everything already was as asked


@transaction.atomic
def user_update_preferences(
    *, user: User, by: User, changes: Mapping[str, Any], expected_version: int | None = None
) -> PreferenceEdit:
    """Change `user`'s personal settings; only they (or a superuser) may. `changes` holds
    any of time_zone, language, theme and notifications (a partial map of kinds to
    channels, merged into what is stored). Records old -> new and bumps the version the
    API sends as its ETag."""
    if by.pk != user.pk and not by.is_superuser:
        raise NotAllowed(_("Only the person themselves changes their personal settings."))
    problems = preference_problems(changes)
    if problems:
        raise ValidationFailed(problems=problems)
    locked = User.objects.select_for_update().get(pk=user.pk)
    check_version(locked.preferences_version, expected_version)
    audit: dict[str, list[Any]] = {}
    for name in ("time_zone", "language", "theme"):
        if name in changes and getattr(locked, name) != changes[name]:
            audit[name] = [getattr(locked, name), changes[name]]
            setattr(locked, name, changes[name])
    if "notifications" in changes:
        old = notification_settings(locked)
        locked.notification_preferences = _merged_notifications(
            locked.notification_preferences or {}, changes["notifications"]
        )
        new = notification_settings(locked)
        for kind in Kind.values:
            for channel in CHANNELS:
                if old[kind][channel] != new[kind][channel]:
                    audit[f"notifications.{kind}.{channel}"] = [
                        old[kind][channel],
                        new[kind][channel],
                    ]
    if not audit:
        return PreferenceEdit(user=locked, change=None)
    locked.preferences_version += 1
    locked.save(update_fields=[*SAVED, "preferences_version"])
    change = PreferenceChange.objects.create(user=locked, actor=by, changes=audit)
    if user is not locked:  # the caller's object (request.user, say) shows the change too
        for name in (*SAVED, "preferences_version"):
            setattr(user, name, getattr(locked, name))
    return PreferenceEdit(user=locked, change=change)
