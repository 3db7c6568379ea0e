"""Domain errors raised by services; the API maps them to JSON, views to form errors."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Problem:
    """One thing wrong, as data: a machine code, the field it concerns, a sentence."""

    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": str(self.message)}


class DomainError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str = "", *, problems: list[Problem] | None = None) -> None:
        self.problems = problems or [Problem(self.code, None, message)]
        super().__init__(message or "; ".join(str(p.message) for p in self.problems))

    def as_list(self) -> list[dict[str, str | None]]:
        return [p.as_dict() for p in self.problems]


class ValidationFailed(DomainError):
    http_status = 400
    code = "invalid"


class InvalidTransition(DomainError):
    http_status = 409
    code = "invalid_transition"

    def __init__(self, *, current: str, target: str) -> None:
        self.current, self.target = current, target
        super().__init__(
            _("A lead in status '%(current)s' cannot move to '%(target)s'.")
            % {"current": current, "target": target}
        )


class StaleVersion(DomainError):
    http_status = 412
    code = "stale_version"


class NotAllowed(DomainError):
    http_status = 403
    code = "permission_denied"


class MergedAway(NotAllowed):
    """The record was merged into another and is history now: the step belongs on the
    record it was merged into. A 403 with that message in the API; in the browser, the
    record's page again with the message, where its banner links to the other record."""


class NotFound(DomainError):
    """The object does not exist, or the user may not know it does (both read the same)."""

    http_status = 404
    code = "not_found"
