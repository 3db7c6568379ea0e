"""/api/v1/me/: the signed-in person's own settings (time zone, language, theme and
notification channels), the same as the /settings/me/ page.

GET answers them with the version as ETag; PATCH changes any of them through
`crm.preferences.user_update_preferences` (audited old -> new). A body with unknown keys,
values of the wrong kind or values the rules refuse gets one 400 listing every problem,
each naming its field (`time_zone`, `notifications.handoff.email`); a stale `If-Match`
(or `version`) is a 412.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.serializers import ERRORS, StrictFieldsMixin, request_object, validate_all
from crm.models import Notification, User
from crm.preferences import notification_settings, preference_problems, user_update_preferences
from crm.web.requests import AuthedRequest


class ChannelsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(help_text="Shown in the bell.")
    email = serializers.BooleanField(
        allow_null=True, help_text="Sent by e-mail too; null for a kind shown in the app only."
    )


class ChannelsUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(
        required=False, help_text="Only for kinds that are e-mailed (see GET: email not null)."
    )


def _per_kind(name: str, base: tuple[type, ...], make: Any) -> type[serializers.Serializer]:
    """A serializer with one field per notification kind, so the schema names them."""
    fields = {kind: make() for kind in Notification.Kind.values}
    return type(name, base, fields)


NotificationsSerializer = _per_kind(
    "NotificationsSerializer", (serializers.Serializer,), lambda: ChannelsSerializer()
)
NotificationsUpdateSerializer = _per_kind(
    "NotificationsUpdateSerializer",
    (StrictFieldsMixin, serializers.Serializer),
    lambda: ChannelsUpdateSerializer(required=False),
)

LANGUAGE_CHOICES = [("", "The browser's language"), *settings.LANGUAGES]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    role = serializers.ChoiceField(choices=User.Role.choices)
    time_zone = serializers.CharField(help_text="An IANA time zone, e.g. Asia/Jakarta.")
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, help_text="Blank: the language the browser asks for."
    )
    theme = serializers.ChoiceField(choices=User.Theme.choices)
    notifications = NotificationsSerializer()
    version = serializers.IntegerField(help_text="Also sent as the ETag.")


class MeUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    time_zone = serializers.CharField(
        required=False, max_length=64, help_text="An IANA time zone, e.g. Asia/Jakarta."
    )
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False, allow_blank=True)
    theme = serializers.ChoiceField(choices=User.Theme.choices, required=False)
    notifications = NotificationsUpdateSerializer(
        required=False,
        help_text="Only the kinds and channels to change; the others stay as they are.",
    )
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you read (or send If-Match)."
    )


def me_data(user: User) -> dict[str, Any]:
    """`user`'s settings as the API answers them (choices as their plain values)."""
    return MeSerializer(_settings_of(user)).data


def _settings_of(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "name": str(user),
        "email": user.email,
        "role": user.role,
        "time_zone": user.time_zone,
        "language": user.language,
        "theme": user.theme,
        "notifications": notification_settings(user),
        "version": user.preferences_version,
    }


def _preference_check(parsed: dict[str, Any]) -> list[Any]:
    return preference_problems({k: v for k, v in parsed.items() if k != "version"})


class MeView(APIView):
    """The signed-in person's own settings."""

    @extend_schema(summary="Your personal settings", responses=MeSerializer)
    def get(self, request: AuthedRequest) -> Response:
        user = request.user
        return with_etag(Response(me_data(user)), user.preferences_version)

    @extend_schema(
        summary="Change your personal settings",
        description="Any of time_zone, language, theme and notifications; the rest stay as "
        "they are. Each change is recorded (who, when, old -> new).",
        request=MeUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: MeSerializer, 400: ERRORS},
    )
    def patch(self, request: AuthedRequest) -> Response:
        serializer = MeUpdateSerializer(data=request_object(request))
        data = validate_all(serializer, check=_preference_check)
        version = expected_version(request, data.pop("version", None))
        edit = user_update_preferences(
            user=request.user, by=request.user, changes=data, expected_version=version
        )
        return with_etag(Response(me_data(edit.user)), edit.user.preferences_version)
