"""Personal settings for a few demo logins, so the demo shows them in use: a manager who
works in the dark theme and reads SLA warnings in the app only, an SDR who reads Threshold
in Bahasa Indonesia, an AE who keeps the light theme and takes escalations in the app only.
Written through `crm.preferences.user_update_preferences`, so each has its audit row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.models import Notification, User
from crm.preferences import user_update_preferences

Kind = Notification.Kind

DEMO_PREFERENCES: dict[str, dict[str, Any]] = {
    "manager": {"theme": User.Theme.DARK, "notifications": {Kind.SLA_WARNING: {"email": False}}},
    "sdr3": {"language": "id", "theme": User.Theme.SYSTEM},
    "ae2": {"theme": User.Theme.LIGHT, "notifications": {Kind.ESCALATION: {"email": False}}},
}


def seed_preferences(*, users: Mapping[str, User]) -> None:
    """Give the demo logins in `users` (by username) their personal settings; a login
    missing from `users` is skipped."""
    for username, changes in DEMO_PREFERENCES.items():
        user = users.get(username)
        if user is not None:
            user_update_preferences(user=user, by=user, changes=changes)
