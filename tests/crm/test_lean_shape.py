"""`crm.api.lean`: the pieces the lean API reads stand on write what DRF writes, and a
serializer field the module cannot build the DRF way is refused when the shape is made,
never served wrong."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers

from crm.api.lean import Computed, Shape, active_zone, datetime_text, user_display_name
from crm.models import User

INSTANTS = [
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    datetime.datetime(1900, 1, 1, 12, 0, 0, 1, tzinfo=datetime.UTC),
]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Jakarta", "America/St_Johns", "Europe/London"])
@pytest.mark.parametrize("instant", INSTANTS)
def test_instants_are_written_as_drf_writes_them(zone, instant):
    with timezone.override(zone):
        assert datetime_text(instant, active_zone()) == (
            serializers.DateTimeField().to_representation(instant)
        )


@pytest.mark.parametrize(
    ("first", "last", "username"),
    [("Ana", "Lima", "ana"), ("", "", "solo"), (" Ana ", "", "x"), ("", "Lima", "y")],
)
def test_a_display_name_is_str_of_the_user(first, last, username):
    user = User(first_name=first, last_name=last, username=username)
    assert user_display_name(first, last, username) == str(user)


class _UserWithMethod(serializers.ModelSerializer):
    shout = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "shout"]

    def get_shout(self, user: User) -> str:
        return user.username.upper()


class _UserWithStar(serializers.ModelSerializer):
    label = serializers.CharField(source="*", read_only=True)

    class Meta:
        model = User
        fields = ["id", "label"]


class _UserWithProperty(serializers.ModelSerializer):
    admin = serializers.BooleanField(source="is_revops", read_only=True)

    class Meta:
        model = User
        fields = ["id", "admin"]


@pytest.mark.parametrize("serializer", [_UserWithMethod, _UserWithStar, _UserWithProperty])
def test_a_field_not_built_the_drf_way_is_refused(serializer):
    with pytest.raises(ImproperlyConfigured):
        _ = Shape(serializer).paths


def test_a_computed_field_is_built_from_its_columns():
    shape = Shape(
        _UserWithStar, computed={"label": Computed(("username",), lambda name: name.title())}
    )
    assert shape.paths == ["id", "username"]
    assert shape.build([{"id": 3, "username": "ana"}]) == [{"id": 3, "label": "Ana"}]
