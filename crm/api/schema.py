"""The OpenAPI schema tells every error an operation can answer, not only its success.

`document_errors` is a drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS). It adds
to each operation, in the one error shape `{"errors": [{"code", "field", "message"}]}`
(`ApiErrors`), the statuses that operation can answer, judged from what the operation
takes, so no view has to list them:

- 400: it takes a body, query parameters or `If-Match` (a value that does not parse);
- 401, 403: it needs a signed-in user (no or a bad token; a role that may not do this);
- 404: it names a record in its path (none, or one this user may not see);
- 409: it changes a record named in its path, or takes an `Idempotency-Key` (the state
  does not allow the step now; the key was used for another request);
- 412: it takes `If-Match` or a `version` (the record changed since);
- 413, 415: it takes a body (too large; neither JSON nor a form);
- 422: it takes an `Idempotency-Key` (reused with a different body);
- 429: always (throttled).

A status a view already documents keeps the view's description. A 500 is never
documented: the API must not answer one.
"""

from __future__ import annotations

from typing import Any

ERRORS_REF = {"$ref": "#/components/schemas/ApiErrors"}
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
_WRITES = ("put", "post", "patch", "delete")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "A machine code: required, invalid, unknown_field…",
        },
        "field": {
            "type": "string",
            "nullable": True,
            "description": "The field, `a.0.b` inside lists; null for the whole body.",
        },
        "message": {"type": "string"},
    },
    "required": ["code", "field", "message"],
}
ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ApiProblem"}}
    },
    "required": ["errors"],
}

DESCRIPTIONS = {
    400: "The request does not parse or a value is invalid: every problem at once, each "
    "naming its field.",
    401: "Not signed in: no token, or one that is not valid (`Authorization: Token <key>`).",
    403: "Signed in, but this user may not do this.",
    404: "No such record, or not one this user may see (the two read the same).",
    409: "The record's state does not allow this now (e.g. a lead in another status, a deal "
    "already converted), or the Idempotency-Key was used for a different request.",
    412: "The record changed since the version sent (If-Match or `version`): reload, retry.",
    422: "The request cannot be carried out as sent (every problem listed), or its "
    "Idempotency-Key was used before with a different body.",
    413: "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
    415: "The body is neither JSON nor a form.",
    429: "Too many requests: try again after Retry-After seconds.",
}


def _resolve(schema: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = result["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
        return found
    return schema


def _takes_version(operation: dict[str, Any], result: dict[str, Any]) -> bool:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        body = _resolve(media.get("schema", {}), result)
        if "version" in body.get("properties", {}):
            return True
    return False


def error_statuses(method: str, operation: dict[str, Any], result: dict[str, Any]) -> list[int]:
    """The error statuses `operation` can answer, judged from its parameters and body."""
    parameters = operation.get("parameters", [])
    where = {p.get("in") for p in parameters}
    headers = {str(p.get("name", "")).lower() for p in parameters if p.get("in") == "header"}
    has_body = "requestBody" in operation
    security = operation.get("security") or []
    # No `security` (the token endpoint) or an empty alternative: signing in is optional.
    needs_user = bool(security) and {} not in security
    statuses = [429]
    if has_body or "query" in where or "if-match" in headers:
        statuses.append(400)
    if needs_user:
        statuses += [401, 403]
    if "path" in where:
        statuses.append(404)
    if method in _WRITES and ("path" in where or "idempotency-key" in headers):
        statuses.append(409)
    if "if-match" in headers or (has_body and _takes_version(operation, result)):
        statuses.append(412)
    if "idempotency-key" in headers:
        statuses.append(422)
    if has_body:
        statuses += [413, 415]
    return sorted(statuses)


def document_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiProblem", PROBLEM_SCHEMA)
    schemas.setdefault("ApiErrors", ERRORS_SCHEMA)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, operation, result):
                responses.setdefault(
                    str(status),
                    {
                        "description": DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": ERRORS_REF}},
                    },
                )
            operation["responses"] = dict(sorted(responses.items()))
    return result
