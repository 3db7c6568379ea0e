"""Serializer plumbing every write endpoint shares: a write names only fields it may
write, and one answer lists every problem of the body.

`StrictFieldsMixin` goes first in a serializer's bases::

    class StageWriteSerializer(StrictFieldsMixin, serializers.ModelSerializer): ...

A key the serializer does not know is answered with code ``unknown_field``, a key naming a
read-only field with code ``read_only`` — each named, together with every other field problem
of the same body, instead of being silently dropped. A serializer may list in
``echo_fields`` the read-only keys clients commonly send back unchanged (``id``, say): those
are ignored rather than refused.

`validate_all(serializer, check=...)` validates and, when the serializer refuses the body,
also runs the service's own check (`leads.gate.intake_problems`, say) on the fields that
did parse, so a bad e-mail and a bad source come back together, each field named once.
`request_object(request)` is the body of an endpoint that reads raw keys itself.
`BoundedDateField` / `BoundedDateTimeField` take dates a CRM record can carry (1900-2999);
strict model serializers use them for every model date, and `TimeOfDayField` (documented
as `HH:MM[:SS]`, not OpenAPI's zoned `time`) for every model time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.settings import api_settings

from crm.api.exceptions import flatten_errors
from crm.dates import EARLIEST, LATEST  # one definition for every interface
from crm.exceptions import Problem, ValidationFailed

UNKNOWN_FIELD = "unknown_field"
READ_ONLY = "read_only"

# Problems the service finds in the fields that parsed: (parsed values) -> problems.
Check = Callable[[dict[str, Any]], list[Problem]]


class ApiProblemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A machine code: required, invalid, unknown_field…")
    field = serializers.CharField(
        allow_null=True, help_text="The field, `a.0.b` inside lists; null for the whole body."
    )
    message = serializers.CharField()


# The schema's 400 on a write: every problem of the body at once, each naming its field.
# (Inline: a serializer cannot declare a field named `errors`, its own property.)
ERRORS = OpenApiResponse(
    inline_serializer("ApiErrors", fields={"errors": ApiProblemSerializer(many=True)}),
    description="Every problem of the request at once, each naming its field "
    "(unknown and read-only fields included).",
)


def _out_of_range() -> ValidationError:
    return ValidationError(
        _("Enter a date between %(earliest)s and %(latest)s.")
        % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        code="out_of_range",
    )


class BoundedDateField(serializers.DateField):
    """A date between `EARLIEST` and `LATEST`."""

    def to_internal_value(self, value: Any) -> datetime.date:
        parsed = super().to_internal_value(value)
        if not EARLIEST <= parsed <= LATEST:
            raise _out_of_range()
        return parsed


class BoundedDateTimeField(serializers.DateTimeField):
    """A moment between `EARLIEST` and `LATEST`; one too close to datetime's limits to be
    put in the user's time zone is a 400, not an OverflowError."""

    def to_internal_value(self, value: Any) -> datetime.datetime:
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            raise _out_of_range() from None
        if not EARLIEST <= parsed.date() <= LATEST:
            raise _out_of_range()
        return parsed


# A time of day as the API writes and reads it: "09:00", "17:30:00", "08:15:00.5".
TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": TIME_OF_DAY_PATTERN,
        "example": "09:00:00",
        "description": "A local time of day, HH:MM or HH:MM:SS (no zone).",
    }
)
class TimeOfDayField(serializers.TimeField):
    """A wall-clock time without a zone (when a working day starts). Not OpenAPI's `time`
    format: that is RFC 3339's full-time, which needs an offset ("09:00:00Z"), so
    "09:00:00" would break the schema it was documented in."""


def _as_dict(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return dict(detail)
    return {api_settings.NON_FIELD_ERRORS_KEY: detail if isinstance(detail, list) else [detail]}


def unknown_key_problems(
    data: Mapping[str, Any], fields: Mapping[str, serializers.Field], *, echo: tuple[str, ...] = ()
) -> dict[str, list[ErrorDetail]]:
    """Each key of `data` that is no writable field of `fields`, with why."""
    problems: dict[str, list[ErrorDetail]] = {}
    for key in data:
        field = fields.get(key)
        if field is None or isinstance(field, serializers.HiddenField):
            message = _("Unknown field '%(name)s'.") % {"name": key}
            problems[key] = [ErrorDetail(message, code=UNKNOWN_FIELD)]
        elif field.read_only and key not in echo:
            message = _("'%(name)s' is read-only and cannot be written.") % {"name": key}
            problems[key] = [ErrorDetail(message, code=READ_ONLY)]
    return problems


class StrictFieldsMixin:
    """Refuse unknown and read-only keys in a write, alongside the fields' own errors.
    A model serializer's dates and datetimes are bounded (`BoundedDateField`)."""

    echo_fields: ClassVar[tuple[str, ...]] = ()
    serializer_field_mapping: ClassVar[dict[type[models.Field], type[serializers.Field]]] = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: BoundedDateField,
        models.DateTimeField: BoundedDateTimeField,
        models.TimeField: TimeOfDayField,
    }

    def to_internal_value(self, data: Any) -> Any:
        problems = (
            unknown_key_problems(data, self.fields, echo=self.echo_fields)  # type: ignore[attr-defined]
            if isinstance(data, Mapping)
            else {}
        )
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except ValidationError as exc:
            merged = _as_dict(exc.detail)
            for key, errors in problems.items():
                merged.setdefault(key, errors)
            raise ValidationError(merged) from exc
        if problems:
            raise ValidationError(problems)
        return value


def problems_of(serializer: serializers.BaseSerializer) -> list[Problem]:
    """The serializer's errors as problems, one per message, each naming its field."""
    return [Problem(e["code"], e["field"], e["message"]) for e in flatten_errors(serializer.errors)]


def _root(field: str | None) -> str | None:
    return field.split(".", 1)[0] if field else None


def _parsed_fields(
    serializer: serializers.BaseSerializer, faulted: set[str | None]
) -> dict[str, Any]:
    """The values of the fields that parsed, when the body as a whole did not."""
    data = serializer.initial_data
    parsed: dict[str, Any] = {}
    if not isinstance(data, Mapping) or not isinstance(serializer, serializers.Serializer):
        return parsed
    for name, field in serializer.fields.items():
        if field.read_only or name in faulted or field.source == "*":
            continue
        primitive = field.get_value(data)
        if primitive is empty:
            continue
        try:
            parsed[field.source if isinstance(field.source, str) else name] = field.run_validation(
                primitive
            )
        except (ValidationError, DjangoValidationError):
            continue
    return parsed


def validate_all(
    serializer: serializers.BaseSerializer, *, check: Check | None = None
) -> dict[str, Any]:
    """The validated data; or `ValidationFailed` listing the serializer's problems and, for
    the fields that parsed, those `check` finds too: every problem at once, a field named
    by the serializer not named again by the check."""
    if serializer.is_valid():
        return dict(serializer.validated_data)
    problems = problems_of(serializer)
    if check is not None and isinstance(serializer.initial_data, Mapping):
        faulted = {_root(p.field) for p in problems}
        seen = {(p.code, p.field) for p in problems}
        for problem in check(_parsed_fields(serializer, faulted)):
            if _root(problem.field) in faulted or (problem.code, problem.field) in seen:
                continue
            seen.add((problem.code, problem.field))
            problems.append(problem)
    raise ValidationFailed(problems=problems)


def request_object(request: Request) -> Mapping[str, Any]:
    """The request body, which must be one object (JSON `{...}` or a form)."""
    data = request.data
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            problems=[
                Problem(
                    "invalid",
                    None,
                    _("Send one object of fields, not %(kind)s.") % {"kind": _kind(data)},
                )
            ]
        )
    return data


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, bool):
        return _("a boolean")
    if isinstance(value, int | float):
        return _("a number")
    return type(value).__name__


@extend_schema_field(OpenApiTypes.STR)
class DisplayName(serializers.ReadOnlyField):
    """An object's display name, `str(obj)`, with `source="*"`. `CharField(source=
    "__str__")` says the same through DRF's callable check: an `inspect.signature` per
    object per row, 7 % of a lead list page."""

    def to_representation(self, value: Any) -> str:
        return str(value)
