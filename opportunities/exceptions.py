"""The opportunities app's own domain errors, beside those in `crm.exceptions`."""

from __future__ import annotations

from crm.exceptions import DomainError


class NotReady(DomainError):
    """The gate said no: every problem is listed (HTTP 422)."""

    http_status = 422
    code = "not_ready"


class AlreadyConverted(DomainError):
    http_status = 409
    code = "already_converted"


class AlreadyDecided(DomainError):
    """An override request or a deal's approval was decided already (by someone else,
    or in another tab): nothing is decided twice."""

    http_status = 409
    code = "already_decided"


class OverridePending(DomainError):
    http_status = 409
    code = "override_pending"


class OverrideNotAllowed(DomainError):
    http_status = 422
    code = "override_not_allowed"


class PendingApproval(DomainError):
    """The deal waits for a manager's approval: it is not pipeline yet, so it does not
    move between stages until approved (DOMAIN.md: "Pending is not pipeline")."""

    http_status = 409
    code = "pending_approval"
