"""Whatever goes wrong under /api/, the answer is JSON: an unexpected exception is a 500
with `server_error` (its traceback logged), a path no route matches is a 404, a body too
large is a 413 and a body nested too deeply is a 400 — never the site's HTML pages, never
a RecursionError. And the schema documents the errors each operation can answer."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm.api import parsers
from crm.api.filters import parse_id
from crm.api.schema import error_statuses
from crm.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["revops", "manager", "sdr", "ae"]


@pytest.fixture(params=ROLES)
def user(request) -> User:
    return UserFactory(**{request.param: True})


def api_client(user: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def assert_errors(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert [e["code"] for e in body["errors"]] == [code], body
    assert set(body["errors"][0]) == {"code", "field", "message"}
    return body


def nested(depth: int) -> str:
    return '{"company_name": ' + "[" * depth + "]" * depth + "}"


# --- 500 ----------------------------------------------------------------------------------


def test_an_unexpected_exception_is_a_json_500_and_its_traceback_is_logged(
    user, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a selector")

    # The list reads through the lean path (`crm.api.lean`): break its query.
    monkeypatch.setattr("leads.api.views.LeadViewSet.lean_queryset", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api_client(user).get("/api/v1/leads/")

    body = assert_errors(response, 500, "server_error")
    assert "bug" not in json.dumps(body)  # nothing of the internals leaks
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_pages_outside_the_api_keep_their_html_error_pages(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 404 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/", "/api/nothing/", "/api/v2/leads/", "/api/schema/x/"])
def test_a_path_no_route_matches_is_a_json_404(user, path):
    response = api_client(user).get(path)
    assert_errors(response, 404, "not_found")


def test_a_json_404_keeps_the_responses_headers(user):
    response = api_client(user).get("/api/nothing/")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


# --- body size ----------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_json_413_before_it_is_read(user):
    body = json.dumps({"company_name": "x" * 2000})
    response = api_client(user).post("/api/v1/leads/", body, content_type="application/json")
    assert_errors(response, 413, "too_large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_the_parser_reads_no_more_than_the_limit_whatever_the_length_said():
    stream = io.BytesIO(json.dumps({"company_name": "x" * 2000}).encode())
    with pytest.raises(parsers.RequestTooLarge):
        parsers.BoundedJSONParser().parse(stream, "application/json", {})


def test_a_form_with_too_many_fields_is_a_json_400(user):
    form = "&".join(f"f{i}=1" for i in range(1100))
    response = api_client(user).post(
        "/api/v1/leads/", form, content_type="application/x-www-form-urlencoded"
    )
    assert_errors(response, 400, "parse_error")


# --- nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/api/v1/leads/"), ("post", "/api/v1/auth/token/")]
)
def test_a_body_nested_5000_deep_is_a_json_400_not_a_recursion_error(user, method, path):
    response = getattr(api_client(user), method)(
        path, nested(5000), content_type="application/json"
    )
    body = assert_errors(response, 400, "too_deep")
    assert "32" in body["errors"][0]["message"]


def test_a_body_within_the_depth_is_parsed_and_judged_by_its_fields(user):
    response = api_client(user).post("/api/v1/leads/", nested(30), content_type="application/json")
    assert response.status_code == 400
    assert "too_deep" not in [e["code"] for e in response.json()["errors"]]


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"note": "[" * 100 + '\\"{' * 100, "list": [[1], {"a": "]]]"}]})
    parsers.check_depth(text, 3)  # no error
    assert parsers.BoundedJSONParser().parse(io.BytesIO(text.encode()), None, {})["list"]


@override_settings(API_JSON_MAX_DEPTH=2)
def test_the_depth_is_configurable():
    with pytest.raises(Exception, match="2 levels"):
        parsers.BoundedJSONParser().parse(io.BytesIO(b'{"a": [[1]]}'), None, {})


# --- the schema documents the errors --------------------------------------------------------


def test_every_operation_documents_its_errors_in_the_one_shape():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            documented = {int(code) for code in operation["responses"]}
            expected = set(error_statuses(method, operation, schema))
            assert expected <= documented, (method, path)
            assert 500 not in documented
            if path != "/api/v1/auth/token/":
                assert {401, 403, 429} <= documented, (method, path)
            if "{" in path:
                assert 404 in documented, (method, path)
    problem = schema["components"]["schemas"]["ApiProblem"]
    assert problem["properties"]["field"]["nullable"] is True


def test_times_of_day_are_documented_as_they_are_written():
    """ "09:00:00" is no OpenAPI `time` (RFC 3339 wants an offset): a pattern says what is."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    calendar = schema["components"]["schemas"]["BusinessCalendar"]["properties"]
    for name in ("work_starts", "work_ends"):
        assert "format" not in calendar[name]
        assert re.fullmatch(calendar[name]["pattern"], "09:00:00")
        assert re.fullmatch(calendar[name]["pattern"], "17:30")
        assert not re.fullmatch(calendar[name]["pattern"], "24:00")


# --- ids that only look like numbers --------------------------------------------------------


@pytest.mark.parametrize("text", ["\u00b9", "\u00b2\u00b3", "\u0663", "1e3", "-1", "0", str(2**63)])
def test_an_id_is_ascii_digits_in_range(text):
    assert parse_id(text) is None
    assert parse_id("12") == 12 and parse_id(12) == 12 and parse_id(True) is None


def test_a_superscript_id_is_a_400_not_a_500(user):
    client = api_client(user)
    listed = client.get("/api/v1/opportunities/?stage=\u00b9")
    assert_errors(listed, 400, "invalid_pk_value")
    converted = client.post("/api/v1/opportunities/", {"lead": "\u00b9"}, format="json")
    assert_errors(converted, 400, "invalid")
