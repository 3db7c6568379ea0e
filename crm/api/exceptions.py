"""One JSON shape for every API error: {"errors": [{"code", "field", "message"}]}.

Domain errors, DRF's own (400, 401, 403, 404, 405, 406, 413, 415, 429) and a path under
/api/v1/ that names no endpoint (`unknown_endpoint`) all answer in it. Whatever escapes a
view (an unexpected exception: a 500) or never reaches one is made JSON by
`crm.web.api_guard.ApiGuardMiddleware`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from crm.api.parsers import RequestTooLarge
from crm.exceptions import DomainError

logger = logging.getLogger(__name__)
# Seconds a client is asked to wait before retrying while the database is unreachable.
UNAVAILABLE_RETRY_AFTER = 5


def flatten_errors(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list naming each field (`a.0.b` when nested)."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else str(key)
            prefix = f"{field}.{name}" if field and name else (name or field)
            errors.extend(flatten_errors(value, prefix))
        return errors
    if isinstance(detail, list):
        if any(isinstance(item, dict) for item in detail):
            # A list of objects (`many=True`): name the item, `contact_roles.1.role`.
            return [
                e
                for index, item in enumerate(detail)
                for e in flatten_errors(item, f"{field}.{index}" if field else str(index))
            ]
        return [e for item in detail for e in flatten_errors(item, field)]
    code = getattr(detail, "code", "invalid")
    return [{"code": code, "field": field, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"errors": exc.as_list()}, status=exc.http_status)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # A form body over DATA_UPLOAD_MAX_MEMORY_SIZE (JSON ones: crm.api.parsers).
        exc = RequestTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, SuspiciousOperation):
        # Too many form fields or files, a malformed multipart body: the request's fault.
        exc = exceptions.ParseError(_("The request body could not be read."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": flatten_errors(exc.detail)}
    if response.status_code == status.HTTP_400_BAD_REQUEST and not response.data.get("errors"):
        response.data = {
            "errors": [{"code": "invalid", "field": None, "message": _("Bad request.")}]
        }
    return response


def database_unavailable(exc: Exception) -> Response:
    """The database went away under the request — restarted, failed over, the connection
    cut, no connection free — or timed it out: a 503 to retry, not a 500. The request's
    transaction did not commit (a cut-off COMMIT aside, which an Idempotency-Key replay
    settles), so trying again is safe. Found by the fault suite (`make faults`)."""
    logger.warning("Database unavailable, answered 503: %s: %s", type(exc).__name__, exc)
    problem = {
        "code": "unavailable",
        "field": None,
        "message": _("The service is unavailable; please try again shortly."),
    }
    response = Response({"errors": [problem]}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


class UnknownEndpointView(APIView):
    """The last route under /api/v1/: a path naming no endpoint gets a JSON 404, whatever
    the method, instead of the site's HTML page. A path missing only its trailing slash is
    redirected to it as Django's APPEND_SLASH would (GET and HEAD; the others are told)."""

    permission_classes = [AllowAny]  # a 404 tells nothing worth signing in for
    schema = None  # not an endpoint: left out of the OpenAPI schema

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        with_slash = f"{request.path}/"
        if not request.path.endswith("/") and _is_endpoint(with_slash):
            if request.method in ("GET", "HEAD"):
                raise _Redirect(with_slash)
            raise exceptions.NotFound(
                _("No endpoint here; did you mean %(path)s (with the slash)?")
                % {"path": with_slash},
                code="unknown_endpoint",
            )
        raise exceptions.NotFound(_("No endpoint here."), code="unknown_endpoint")

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Redirect):
            query = self.request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(  # type: ignore[return-value]
                exc.to + (f"?{query}" if query else "")
            )
        return super().handle_exception(exc)


class _Redirect(Exception):
    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


def _is_endpoint(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return getattr(match.func, "view_class", None) is not UnknownEndpointView
