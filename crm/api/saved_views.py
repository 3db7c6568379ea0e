"""`/api/v1/views/`: saved views of the lists (filters, sort and columns under a name).

`GET` lists the views the user may read (own, shared with their team, their role's
default; `?list=leads` narrows to one list); `POST` creates one of their own; `PATCH`
and `DELETE` change one they may edit (the owner; RevOps for a role's default). Only
RevOps makes a view a role's default. Writes are strict: an unknown or read-only key is
a 400 naming it. Rules and audit are `crm.saved_view_services`'.
"""

from __future__ import annotations

from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from crm.api.etags import IF_MATCH, expected_version, with_etag
from crm.api.serializers import ERRORS, DisplayName, StrictFieldsMixin, validate_all
from crm.models import User
from crm.saved_view_services import (
    may_edit,
    saved_view_create,
    saved_view_delete,
    saved_view_update,
    view_for,
    view_problems,
    visible_views,
)
from crm.saved_views import NAME_MAX, QUERY_MAX, ListKey, SavedView
from crm.web.requests import AuthedRequest

ROLE_CHOICES = [("", "—"), *User.Role.choices]
MAX_POSITION = 2**31 - 1


class ViewOwnerSerializer(serializers.ModelSerializer):
    name = DisplayName(source="*")

    class Meta:
        model = User
        fields = ["id", "username", "name"]
        read_only_fields = fields


class SavedViewSerializer(serializers.ModelSerializer):
    """A saved view as the API shows it; `editable` says whether this user may change it."""

    list = serializers.ChoiceField(source="list_key", choices=ListKey.choices, read_only=True)
    owner = ViewOwnerSerializer(read_only=True)
    editable = serializers.SerializerMethodField()

    class Meta:
        model = SavedView
        fields = [
            "id",
            "list",
            "name",
            "query",
            "shared",
            "team",
            "default_for_role",
            "position",
            "owner",
            "editable",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_editable(self, view: SavedView) -> bool:
        user = self.context.get("user")
        return bool(user is not None and may_edit(user, view))


class _SavedViewWriteFields(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX, help_text="Shown on the list's tab.")
    query = serializers.CharField(
        max_length=QUERY_MAX,
        allow_blank=True,
        help_text="The list page's query string: filters, `ordering`, `columns` "
        "(`cursor`, `after` and `view` are dropped).",
    )
    shared = serializers.BooleanField(help_text="Shown to the owner's team (read-only there).")
    default_for_role = serializers.ChoiceField(
        choices=ROLE_CHOICES,
        allow_blank=True,
        help_text="People in this role open the list with this view. RevOps only.",
    )
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION)


class SavedViewCreateSerializer(_SavedViewWriteFields):
    list = serializers.ChoiceField(source="list_key", choices=ListKey.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("query", "shared", "default_for_role", "position"):
            self.fields[name].required = False


class SavedViewPatchSerializer(_SavedViewWriteFields):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you read (or send If-Match)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class SavedViewFilter(django_filters.FilterSet):
    list = django_filters.ChoiceFilter(field_name="list_key", choices=ListKey.choices)

    class Meta:
        model = SavedView
        fields = ["list"]


class SavedViewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SavedViewSerializer
    filterset_class = SavedViewFilter
    pagination_class = None  # a person's views of the lists: a few, in their order
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    request: AuthedRequest

    def get_queryset(self) -> QuerySet[SavedView]:
        return visible_views(self.request.user).order_by("list_key", "position", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "user": self.request.user}

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return SavedViewCreateSerializer
        if self.action == "partial_update":
            return SavedViewPatchSerializer
        return super().get_serializer_class()

    def _respond(self, view_id: int, code: int = status.HTTP_200_OK) -> Response:
        view = self.get_queryset().get(pk=view_id)
        data = SavedViewSerializer(view, context=self.get_serializer_context()).data
        return with_etag(Response(data, status=code), view.version)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(view_for(self.request.user, self.kwargs["pk"]).pk)

    @extend_schema(responses={201: SavedViewSerializer, 400: ERRORS})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.request.user
        data = validate_all(
            SavedViewCreateSerializer(data=request.data),
            check=lambda parsed: view_problems(parsed, by=user),
        )
        view = saved_view_create(by=user, **data)
        return self._respond(view.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=SavedViewPatchSerializer,
        responses={200: SavedViewSerializer, 400: ERRORS},
        parameters=[IF_MATCH],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.request.user
        view = view_for(user, self.kwargs["pk"], to="edit")
        data = validate_all(
            SavedViewPatchSerializer(data=request.data),
            check=lambda parsed: view_problems(parsed, by=user, view=view),
        )
        version = expected_version(request, data.pop("version", None))
        saved_view_update(view_id=view.pk, by=user, data=data, expected_version=version)
        return self._respond(view.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saved_view_delete(
            view_id=view_for(self.request.user, self.kwargs["pk"]).pk, by=self.request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


router = SimpleRouter()
router.register("views", SavedViewViewSet, basename="saved-view")
urlpatterns = router.urls
