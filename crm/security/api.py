"""The API's unauthenticated doors: the token endpoint (throttled per client address and
locked out by django-axes like the sign-in page) and the schema and its docs, which need a
signed-in user unless `API_SCHEMA_PUBLIC` is set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.throttling import AuthTokenRateThrottle
from crm.security import lockout


class LockedOut(exceptions.APIException):
    """429 `locked_out`, with Retry-After, through `crm.api.exceptions`."""

    status_code = 429
    default_code = lockout.CODE

    def __init__(self, message: str, *, wait_seconds: int) -> None:
        super().__init__(detail=message, code=lockout.CODE)
        self.wait = wait_seconds


_ERRORS = inline_serializer(
    name="AuthTokenErrors",
    fields={
        "errors": serializers.ListField(
            child=inline_serializer(
                name="AuthTokenError",
                fields={
                    "code": serializers.CharField(),
                    "field": serializers.CharField(allow_null=True),
                    "message": serializers.CharField(),
                },
            )
        )
    },
)


class ObtainTokenView(ObtainAuthToken):
    # Credentials in the body are the only authentication here (no session, so no CSRF).
    authentication_classes = ()
    throttle_classes = [AuthTokenRateThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: OpenApiResponse(
                inline_serializer(name="IssuedToken", fields={"token": serializers.CharField()}),
                description="The user's API token; send it as `Authorization: Token <token>`.",
            ),
            400: OpenApiResponse(_ERRORS, description="Wrong or missing credentials."),
            429: OpenApiResponse(
                _ERRORS,
                description=(
                    "`locked_out`: too many failed sign-ins for this account from this "
                    "address; `throttled`: too many requests from this address. "
                    "Retry-After says when to try again."
                ),
            ),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes flags the request it refused (or that reached the limit).
            if getattr(request, "axes_locked_out", False):
                credentials = getattr(request, "axes_credentials", None) or {}
                minutes = lockout.minutes_left(request, credentials.get("username"))
                raise LockedOut(lockout.message(minutes), wait_seconds=minutes * 60)
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        lockout.forget_failures(request, user.get_username())
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


obtain_auth_token = ObtainTokenView.as_view()


class SchemaReadable(BasePermission):
    """The schema and its docs: signed-in users, or anyone with `API_SCHEMA_PUBLIC`."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return settings.API_SCHEMA_PUBLIC or bool(request.user and request.user.is_authenticated)


class SchemaView(SpectacularAPIView):
    permission_classes = [SchemaReadable]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # An error is JSON like every API error, not the YAML the schema is served in.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


_swagger = SpectacularSwaggerSplitView.as_view(
    url_name="api-schema", permission_classes=[SchemaReadable]
)


def docs_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Swagger UI from the vendored sidecar files; its script is a separate file (no inline
    script under the CSP). A signed-out browser is sent to sign in first."""
    if not settings.API_SCHEMA_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger(request, *args, **kwargs)


schema_view = SchemaView.as_view()
