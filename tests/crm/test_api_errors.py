"""The API's error plumbing: one `{"errors": [...]}` shape for 400, 404, 405 and 415, strict
serializers that name unknown and read-only keys, and query filters that refuse bad values."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.test import APIClient

from crm.api.filters import MAX_ID, IdFilter, IdsFilter, StrictBooleanFilter
from crm.api.serializers import StrictFieldsMixin, validate_all
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_errors(response, status: int) -> list[dict]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors and all(set(e) == {"code", "field", "message"} for e in errors)
    return errors


# --- strict serializers -------------------------------------------------------------------


class _Thing(StrictFieldsMixin, serializers.Serializer):
    echo_fields = ("id",)

    id = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=5)
    size = serializers.IntegerField(required=False)


def test_unknown_and_read_only_keys_are_named_with_every_field_error():
    serializer = _Thing(data={"name": "far too long", "version": 3, "colour": "red", "id": 1})

    assert not serializer.is_valid()

    codes = {field: [e.code for e in errors] for field, errors in serializer.errors.items()}
    assert codes == {"name": ["max_length"], "version": ["read_only"], "colour": ["unknown_field"]}


def test_a_clean_body_passes_and_echoed_fields_are_ignored():
    serializer = _Thing(data={"id": 7, "name": "Ok"})

    assert serializer.is_valid(), serializer.errors
    assert dict(serializer.validated_data) == {"name": "Ok"}


def test_a_body_that_is_not_an_object_is_refused_not_crashed():
    serializer = _Thing(data=["name", "x"])

    assert not serializer.is_valid()
    assert serializer.errors["non_field_errors"][0].code == "invalid"


def test_validate_all_adds_the_service_problems_of_the_fields_that_parsed():
    def check(parsed: dict) -> list[Problem]:
        # The service's own rules: one on a field the serializer already refused
        # (not repeated), one on a field that parsed, one on a field never sent.
        return [
            Problem("too_short", "name", "Longer."),
            Problem("too_big", "size", f"{parsed['size']} is too big."),
            Problem("required", "colour_code", "Pick a colour."),
        ]

    with pytest.raises(ValidationFailed) as caught:
        validate_all(_Thing(data={"name": "far too long", "size": 99, "x": 1}), check=check)

    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("max_length", "name"),
        ("unknown_field", "x"),
        ("too_big", "size"),
        ("required", "colour_code"),
    ]
    assert caught.value.problems[2].message == "99 is too big."


# --- error responses -----------------------------------------------------------------------


@pytest.mark.parametrize("user_kind", [None, "sdr", "revops"])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/leads/1/frobnicate/"])
def test_an_unknown_api_path_is_a_json_404_for_everyone(user_kind, path):
    user = UserFactory(**{user_kind: True}) if user_kind else None

    for method in ("get", "post", "patch", "delete"):
        response = getattr(client_for(user), method)(path)
        errors = assert_errors(response, 404)
        assert errors[0]["code"] == "unknown_endpoint"


def test_a_path_missing_its_slash_is_redirected_or_told(sdr):
    got = client_for(sdr).get("/api/v1/leads?status=mql")
    assert got.status_code == 301 and got["Location"] == "/api/v1/leads/?status=mql"

    posted = client_for(sdr).post("/api/v1/leads", {"company_name": "X"}, format="json")
    errors = assert_errors(posted, 404)
    assert "/api/v1/leads/" in errors[0]["message"]


def test_a_method_the_endpoint_does_not_take_is_a_json_405(sdr):
    errors = assert_errors(client_for(sdr).delete("/api/v1/leads/"), 405)
    assert errors[0]["code"] == "method_not_allowed"


def test_an_unsupported_media_type_is_a_json_415(sdr):
    response = client_for(sdr).post("/api/v1/leads/", "company_name=X", content_type="text/plain")
    errors = assert_errors(response, 415)
    assert errors[0]["code"] == "unsupported_media_type"


def test_malformed_json_is_a_json_400(sdr):
    response = client_for(sdr).post(
        "/api/v1/leads/", '{"company_name": ', content_type="application/json"
    )
    assert assert_errors(response, 400)[0]["code"] == "parse_error"


# --- query filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [("12", True), ("0", False), ("-3", False), ("1.5", False), ("abc", False),
     (str(MAX_ID), True), (str(MAX_ID + 1), False), ("9" * 40, False)],
)  # fmt: skip
def test_an_id_filter_takes_only_ids_a_table_can_hold(value, valid):
    field = IdFilter(field_name="owner_id").field
    if valid:
        assert field.clean(value) == int(value)
    else:
        with pytest.raises(ValidationError):
            field.clean(value)


@pytest.mark.parametrize("value", ["abc", "9" * 40, "-1", "0"])
def test_an_ids_filter_refuses_what_is_no_id_before_the_database_sees_it(value):
    field = IdsFilter(queryset=User.objects.all()).field
    with pytest.raises(ValidationError) as caught:
        field.clean([value])
    assert caught.value.code == "invalid_pk_value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("False", False), ("1", True), ("0", False), ("", None)],
)
def test_a_boolean_filter_reads_true_and_false(value, expected):
    field = StrictBooleanFilter().field
    widget_value = field.widget.value_from_datadict(QueryDict(f"x={value}"), {}, "x")
    assert field.clean(widget_value) is expected


def test_a_boolean_filter_refuses_anything_else():
    field = StrictBooleanFilter().field
    with pytest.raises(ValidationError, match="true or false"):
        field.clean("maybe")
