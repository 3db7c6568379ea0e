"""The API answers in JSON, whatever goes wrong and wherever.

`ApiGuardMiddleware` stands near the top of the stack and looks only at paths under
`/api/`:

- a body whose Content-Length is over `DATA_UPLOAD_MAX_MEMORY_SIZE` is refused with 413
  before anything reads it (the JSON parser, `crm.api.parsers`, bounds what it reads too);
- a JSON body nesting deeper than `API_JSON_MAX_DEPTH` is refused with 400 `too_deep`
  before any view parses it, whatever parsers the view names (the token endpoint names
  DRF's own);
- an error answered with a page (HTML) becomes the API's JSON error body with the same
  status: `{"errors": [{"code", "field", "message"}]}`. That covers a path no route
  matches (404), and an unexpected exception anywhere in a view or a middleware: Django
  has already logged its traceback (`django.request`) and answered 500; the client gets
  `{"errors": [{"code": "server_error", ...}]}` instead of the site's error page.

Errors raised inside DRF views are already JSON (`crm.api.exceptions`); this is the net
under everything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError

from crm.api.parsers import check_depth, max_depth

API_PREFIX = "/api/"
JSON = "application/json"

# Status -> the error code the API's own handler uses for it.
_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "timeout",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    502: "unavailable",
    503: "unavailable",
    504: "timeout",
}


def _message(status: int) -> str:
    messages = {
        400: _("Bad request."),
        403: _("You do not have permission to do this."),
        404: _("No endpoint here."),
        413: _("The request body is too large."),
        500: _("Something went wrong on our side. It has been logged; please try again."),
        503: _("The service is unavailable; please try again shortly."),
    }
    return messages.get(status, _("The request failed."))


def _body(status: int, message: str, code: str | None = None) -> bytes:
    problem = {"code": code or _CODES.get(status, "error"), "field": None, "message": message}
    return json.dumps({"errors": [problem]}).encode()


def error_response(status: int, message: str, code: str | None = None) -> HttpResponse:
    return HttpResponse(_body(status, message, code), status=status, content_type=JSON)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _is_json_type(content_type: str) -> bool:
    return "json" in content_type.split(";")[0].lower()


def _is_json(response: HttpResponseBase) -> bool:
    return _is_json_type(response.get("Content-Type", ""))


# Endpoints that take a file upload larger than DATA_UPLOAD_MAX_MEMORY_SIZE, with their own
# limit; an app registers its upload path from its `AppConfig.ready` (`crm` names none).
_LARGE_BODIES: dict[str, int | None] = {}


def allow_large_body(path: str, limit: int | None) -> None:
    """Let requests to exactly `path` declare bodies up to `limit` bytes (`None`: the view
    checks the size itself, to name the field that is too large)."""
    _LARGE_BODIES[path] = limit


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit: int | None = _LARGE_BODIES.get(request.path, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if limit is not None and _declared_length(request) > limit:
            return error_response(
                413,
                _("The request body is larger than %(limit)s bytes.") % {"limit": limit},
            )
        if _declared_length(request) and _is_json_type(request.META.get("CONTENT_TYPE", "")):
            # Every API view, whatever parsers it names, gets a body of bounded depth.
            try:
                check_depth(request.body.decode("utf-8", errors="replace"), max_depth())
            except ParseError as exc:
                return error_response(400, str(exc.detail), code="too_deep")
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and isinstance(response, HttpResponse)
            and not _is_json(response)
        ):
            _to_json(response)
        return response


def _to_json(response: HttpResponse) -> None:
    """The same response (status, headers, cookies), its page replaced by the JSON error."""
    body = _body(response.status_code, _message(response.status_code))
    response.content = body
    response["Content-Type"] = JSON
    if "Content-Length" in response:
        response["Content-Length"] = str(len(response.content))
