"""What every settings endpoint shares (routing rules and reasons in `leads.api.settings`,
stages in `opportunities.api.settings`): who may read and who may write, the person and
audit-row shapes, and create / partial update through the app's service.

A settings viewset names its rows' serializer and fills in five hooks; `create` and
`update` are then the same everywhere: the body must be one object, the serializer's
problems and the service's own check on the fields that parsed come back together in one
400, the service writes (and audits), and the answer is the row as the service saved it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.serializers import DisplayName, request_object, validate_all
from crm.exceptions import Problem
from crm.models import User
from crm.web.requests import AuthedRequest


class SettingsPermission(BasePermission):
    """Reads for those the app's rule allows `read_action`, writes for `write_action`."""

    read_action = "view"
    write_action = "change"

    def allows(self, user: User, action: Any) -> bool:
        """The app's rule (its `may`)."""
        raise NotImplementedError

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):  # anonymous: DRF answers "not authenticated"
            return False
        return self.allows(
            user, self.read_action if request.method in SAFE_METHODS else self.write_action
        )


class PersonSerializer(serializers.ModelSerializer):
    name = DisplayName(source="*")

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class AuditRowSerializer(serializers.ModelSerializer):
    """One audit row: who, when, and the settings that changed, old -> new. Subclasses
    name the model and its fields in `Meta`."""

    actor = PersonSerializer(read_only=True)
    old = serializers.DictField(help_text="The changed settings before; {} when created.")
    new = serializers.DictField(help_text="The changed settings after.")


class SettingsViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and partially update settings rows through the app's service."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    serializer_class: type[serializers.ModelSerializer]
    request: AuthedRequest  # signed in: the permission refuses anyone else

    # --- the app's hooks ----------------------------------------------------------------

    def new_problems(self, parsed: dict[str, Any]) -> list[Problem]:
        """The service's problems with a new row made of `parsed`."""
        raise NotImplementedError

    def create_row(self, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def row_to_change(self, pk: Any) -> Model:
        """The row, if the user may change it (else the service's 403/404)."""
        raise NotImplementedError

    def change_problems(self, row: Any, parsed: dict[str, Any]) -> list[Problem]:
        """The service's problems with `row` changed by `parsed`."""
        raise NotImplementedError

    def update_row(self, row: Any, data: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- the same everywhere -------------------------------------------------------------

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.serializer_class(data=request_object(request))
        data = validate_all(serializer, check=self.new_problems)
        row = self.create_row(data)
        return Response(self.saved_state(row.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.row_to_change(kwargs.get("pk"))
        serializer = self.serializer_class(row, data=request_object(request), partial=True)
        data = validate_all(serializer, check=lambda parsed: self.change_problems(row, parsed))
        self.update_row(row, data)
        return Response(self.saved_state(row.pk))

    def saved_state(self, pk: Any) -> dict[str, Any]:
        """The row as the service saved it, for the response."""
        return self.serializer_class(self.get_queryset().get(pk=pk)).data
