"""One JSON shape for every API error: {"errors": [{"code", "field", "message"}]}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.exceptions import DomainError


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list naming each field."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else key
            prefix = f"{field}.{name}" if field and name else (name or field)
            errors.extend(_flatten(value, prefix))
        return errors
    if isinstance(detail, list):
        return [e for item in detail for e in _flatten(item, field)]
    code = getattr(detail, "code", "invalid")
    return [{"code": code, "field": field, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"errors": exc.as_list()}, status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.detail)}
    if response.status_code == status.HTTP_400_BAD_REQUEST and not response.data.get("errors"):
        response.data = {"errors": [{"code": "invalid", "field": None, "message": "Bad request."}]}
    return response
