"""Optimistic concurrency over HTTP: records carry a version, sent as ETag and taken back
as If-Match (or a `version` field); a mismatch is 412 Precondition Failed."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from crm.exceptions import Problem, ValidationFailed

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag you read, e.g. "3".',
)


def expected_version(request: Request, body_version: int | None = None) -> int | None:
    """The version the client saw: If-Match wins, then a `version` field, else None."""
    header = request.headers.get("If-Match", "").strip()
    if header and header != "*":
        tag = header.removeprefix("W/").strip('"')
        if not (tag.isascii() and tag.isdigit()) or len(tag) > 18:
            raise ValidationFailed(
                problems=[
                    Problem("invalid_etag", "If-Match", _("If-Match must be an ETag we sent."))
                ]
            )
        return int(tag)
    return body_version


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response
