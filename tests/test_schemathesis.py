"""The OpenAPI schema is true: schemathesis fuzzes every API operation, as a RevOps user
and as an SDR, and every answer must be no server error, a status the schema documents
for that operation, and a body that matches the schema of that status.

The schema is generated in-process (drf-spectacular's generator, as /api/schema/ serves
it) and loaded when this module is imported; requests go to Django's WSGI application
in-process, inside the test's transaction. Generation is derandomized (the same requests
every run: a fixed seed) and bounded per operation, so the file fits in the suite's time
under `pytest -n auto`. Each operation gets valid cases and, where it takes anything a
client can get wrong, invalid ones; a path's `{id}` mostly names real rows.
The token endpoint is sent the user's real password (no failed sign-ins to lock anyone out).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.apps import apps
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from crm.api.throttling import AuthTokenRateThrottle
from crm.models import User
from leads.models import Lead
from tests.factories import (
    ConvertibleLeadFactory,
    LeadFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)

# Cases per operation, role and mode (valid / invalid input). A deeper run, by hand:
# SCHEMATHESIS_EXAMPLES=200 pytest tests/test_schemathesis.py -n auto
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
TOKEN_PATH = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's
ROLES = ("revops", "sdr")


def _raw_schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


SCHEMA = schemathesis.openapi.from_dict(
    _raw_schema(),
    config=schemathesis.Config.from_dict({"generation": {"deterministic": True}}),
)
OPERATIONS = sorted(
    (operation.path, operation.method.upper())
    for result in SCHEMA.get_all_operations()
    if (operation := result.ok()) is not None
)
OPERATION_IDS = [f"{method} {path}" for path, method in OPERATIONS]

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking: a failure is reported as found, with the request that made it.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# The rows a path's `{id}` names: a small generated whole number becomes one of them, so
# cases reach real records (any other value is sent as generated: a 404 or a 400).
ID_MODELS = {
    "/api/v1/leads/{id}": "leads.Lead",
    "/api/v1/opportunities/{id}": "opportunities.Opportunity",
    "/api/v1/override-requests/{id}": "opportunities.ConversionRequest",
    "/api/v1/disqualification-reasons/{id}": "leads.DisqualificationReason",
    "/api/v1/rejection-reasons/{id}": "leads.RejectionReason",
    "/api/v1/routing-rules/{id}": "leads.RoutingRule",
    "/api/v1/stages/{id}": "opportunities.Stage",
    "/api/v1/mql-targets/{id}": "reports.MqlTarget",
    "/api/v1/sla/calendars/{id}": "sla.BusinessCalendar",
    "/api/v1/sla/policies/{id}": "sla.SlaPolicy",
}


def _ids_for(path: str) -> list[int]:
    for prefix, label in ID_MODELS.items():
        if path.startswith(prefix):
            return list(apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True))
    return []


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI application, kept from closing the test's database connection at
    the end of each request (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def no_token_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token endpoint's throttle (per client address, kept in the cache that parallel
    workers may share) neither refuses these cases nor counts them against other tests."""
    monkeypatch.setattr(AuthTokenRateThrottle, "allow_request", lambda *args: True)


@pytest.fixture
def people(db) -> dict[str, User]:
    """A RevOps user and an SDR, and records of each kind for the cases to act on."""
    team = TeamFactory(name="Fuzz team")
    sdr = UserFactory(sdr=True, username="fuzz-sdr", team=team)
    ae = UserFactory(ae=True, username="fuzz-ae", team=team)
    LeadFactory(owner=sdr, team=team)
    LeadFactory(owner=sdr, team=team, status=Lead.Status.NEW)
    ConvertibleLeadFactory(owner=sdr, team=team, ae=ae)
    OpportunityFactory(owner=ae)
    return {"revops": UserFactory(revops=True, username="fuzz-revops"), "sdr": sdr}


def _fit(case: Any, ids: list[int], user: User) -> None:
    """Point the case at real rows; the token endpoint gets the user's real password."""
    value = (case.path_parameters or {}).get("id")
    if ids and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
        case.path_parameters["id"] = ids[value % len(ids)]
    if case.path == TOKEN_PATH:
        case.body = {"username": user.username, "password": PASSWORD}


def _describe(case: Any, response: Any, exc: BaseException) -> str:
    """A failure in a few lines: which check, the request, the status, the first lines of why."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    request = f"{case.method} {case.formatted_path}"
    if case.query:
        request += f" ?{case.query}"
    return f"{type(exc).__name__} {request} -> {response.status_code}: " + " | ".join(lines[:8])


def _check(case: Any, response: Any, headers: dict[str, str], failures: list[str]) -> None:
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except BaseExceptionGroup as group:
        failures.extend(_describe(case, response, e) for e in group.exceptions)
    except AssertionError as exc:
        failures.append(_describe(case, response, exc))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=OPERATION_IDS)
def test_api_operation_keeps_its_schema(
    wsgi_app: WSGIHandler, people: dict[str, User], role: str, path: str, method: str
) -> None:
    user = people[role]
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    operation = SCHEMA[path][method]
    ids = _ids_for(path)
    failures: list[str] = []
    modes = [schemathesis.GenerationMode.POSITIVE]
    definition = operation.definition.raw
    if path != TOKEN_PATH and (definition.get("parameters") or "requestBody" in definition):
        modes.append(schemathesis.GenerationMode.NEGATIVE)  # something to get wrong

    for mode in modes:

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Any) -> None:
            _fit(case, ids, user)
            _check(case, case.call(app=wsgi_app, headers=headers), headers, failures)

        fuzz()
    unique = sorted(set(failures))
    assert not unique, f"{len(failures)} failing responses:\n\n" + "\n\n".join(unique[:8])


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=OPERATION_IDS)
def test_api_operation_refuses_anonymous_in_its_schema(
    wsgi_app: WSGIHandler, path: str, method: str
) -> None:
    """Without credentials every operation but the token endpoint answers a documented 401."""
    operation = SCHEMA[path][method]
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    case = operation.Case(path_parameters=dict.fromkeys(names, 1))
    if path == TOKEN_PATH:
        case.body = {"username": "nobody", "password": ""}
    response = case.call(app=wsgi_app)
    failures: list[str] = []
    _check(case, response, {}, failures)
    assert not failures, "\n\n".join(failures)
    assert response.status_code == (400 if path == TOKEN_PATH else 401)
