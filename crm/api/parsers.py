"""The API's JSON parser: DRF's, with a bound on the body's size and on how deeply it nests.

A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes is a 413 `too_large` (the middleware
`crm.web.api_guard` already refuses one whose Content-Length says so, before reading it);
one nesting arrays and objects deeper than `API_JSON_MAX_DEPTH` (32) is a 400 `too_deep`.
Python's own parser recurses once per level, so a body of 5,000 brackets would otherwise
end in a RecursionError: a 500, from a few kilobytes anyone can send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

DEFAULT_MAX_DEPTH = 32

# A JSON string (skipped whole, so brackets inside it do not count) or one bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            _("The request body is larger than %(limit)s bytes.") % {"limit": limit},
            code=self.default_code,
        )


def max_body_bytes() -> int | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def check_depth(text: str, limit: int) -> None:
    """Refuse `text` when its arrays and objects nest deeper than `limit`, without parsing
    it (the scan stops at the first bracket too many)."""
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                raise exceptions.ParseError(
                    _("The JSON body nests deeper than %(limit)s levels.") % {"limit": limit},
                    code="too_deep",
                )
        elif token in "]}":
            depth -= 1


class BoundedJSONParser(JSONParser):
    """JSON bodies of bounded size and depth; otherwise DRF's `JSONParser` (strict: no NaN)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        limit = max_body_bytes()
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(limit)
        try:
            text = raw.decode(encoding) if isinstance(raw, bytes) else raw
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(
                _("The body is not %(encoding)s text.") % {"encoding": encoding}
            ) from None
        check_depth(text, max_depth())
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except RecursionError:  # a bound above the interpreter's own: still a 400
            raise exceptions.ParseError(
                _("The JSON body nests too deeply."), code="too_deep"
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(
                _("JSON parse error - %(error)s") % {"error": exc}
            ) from None
