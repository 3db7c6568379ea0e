"""The OpenAPI schema tells the truth about the capture API's successful answers too.

`tests/test_schemathesis.py` fuzzes every operation, but its cases cannot hold an intake
key's secret or name a form that exists, so they mostly reach the refusals. Here real
requests (a key, a mixed batch, a real form) go through the same schemathesis checks:
each answer's status is documented and its body matches the schema of that status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from capture.services.keys import intake_key_create
from tests.capture.conftest import LEAD
from tests.test_schemathesis import SCHEMA

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(
    app: WSGIHandler,
    path: str,
    method: str,
    headers: dict[str, str],
    *,
    body: Any = None,
    ids: dict[str, int] | None = None,
) -> Any:
    operation = SCHEMA[path][method]
    kwargs: dict[str, Any] = {"path_parameters": ids or {}}
    if body is not None:
        kwargs |= {"body": body, "media_type": "application/json"}
    case = operation.Case(**kwargs)
    response = case.call(app=app, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response


def test_the_webhook_answers_as_documented(wsgi_app, revops):
    headers = {"X-Intake-Key": intake_key_create(by=revops, name="HubSpot").secret}
    row = LEAD | {"source": "inbound"}

    created = call(wsgi_app, "/api/v1/intake/", "POST", headers, body=row)
    mixed = call(
        wsgi_app, "/api/v1/intake/", "POST", headers, body={"leads": [row, {"last_name": "X"}]}
    )

    assert created.status_code == 200
    assert mixed.status_code == 207


def test_forms_and_keys_answer_as_documented(wsgi_app, revops):
    headers = {"Authorization": f"Token {Token.objects.create(user=revops).key}"}

    made = call(
        wsgi_app,
        "/api/v1/forms/",
        "POST",
        headers,
        body={"name": "Webinar", "fields": ["email"], "allowed_origins": ["https://a.example"]},
    )
    ids = {"id": made.json()["id"]}
    call(wsgi_app, "/api/v1/forms/", "GET", headers)
    call(wsgi_app, "/api/v1/forms/{id}/", "GET", headers, ids=ids)
    changed = call(
        wsgi_app, "/api/v1/forms/{id}/", "PATCH", headers, body={"campaign": "Q3"}, ids=ids
    )
    key = call(wsgi_app, "/api/v1/intake-keys/", "POST", headers, body={"name": "Zapier"})
    key_ids = {"id": key.json()["id"]}
    call(wsgi_app, "/api/v1/intake-keys/", "GET", headers)
    call(wsgi_app, "/api/v1/intake-keys/{id}/", "GET", headers, ids=key_ids)
    revoked = call(wsgi_app, "/api/v1/intake-keys/{id}/revoke/", "POST", headers, ids=key_ids)

    assert made.status_code == 201 and changed.status_code == 200
    assert key.status_code == 201 and revoked.status_code == 200
