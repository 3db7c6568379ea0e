"""Lean reads for the API's hot paths: a serializer's output built from plain rows.

DRF builds a list page by making model instances (three per lead row with its owner and
AE), then walking ~45 fields per row through `get_attribute` / `to_representation`: more
than half of a 50-row page. A `Shape` reads the same serializer once, at start-up, and
turns it into the `values()` paths it needs and a plain function from such a row to the
very dict the serializer would return: the same keys in the same order, the same values
(dates in the active time zone, decimals as DRF writes them), nested references built from
the joined columns. Only the columns the answer shows are fetched (no password hash, no
unused column), and no model instance is made.

The serializer stays the one definition of the shape (and of the OpenAPI schema): a field
added to it is picked up here, and a field this module cannot build the DRF way (a method
field, a `source="*"` field, a many-to-many) fails loudly when the shape is made, unless
the shape is told how to build it (`Computed`, `Related`). Contract tests compare the
bytes with the serializer's.

`LeanReadMixin` gives a viewset the lean list (same filters, `?ordering=` and keyset
pages) and a lean `retrieve` (same scope, 404 and ETag).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend  # type: ignore[import-untyped]
from rest_framework import ISO_8601, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm.api.etags import with_etag
from crm.api.ordering import view_sort
from crm.api.prepared import Prepared
from crm.exceptions import NotFound

Row = Mapping[str, Any]
Zone = datetime.tzinfo | None
# A column's value (never None) -> its JSON value, given the active time zone.
Convert = Callable[[Any, Zone], Any]


@dataclass(frozen=True)
class Computed:
    """A field built from several columns of the same row, e.g. a person's display name:
    `Computed(("first_name", "last_name", "username"), user_display_name)`."""

    columns: tuple[str, ...]
    build: Callable[..., Any]


@dataclass(frozen=True)
class Related:
    """A field whose value comes from another query, made once per page: `load(keys)`
    returns the value for each key (the row's `key` column), `default` for a key it lacks."""

    key: str
    load: Callable[[list[Any]], Mapping[Any, Any]]
    default: Callable[[], Any] = list


def user_display_name(first_name: str, last_name: str, username: str) -> str:
    """`str(user)` from its columns: `User.__str__` (the full name, else the username)."""
    return f"{first_name} {last_name}".strip() or username


def active_zone() -> Zone:
    """The zone DRF writes instants in: the active one, or None without USE_TZ."""
    return timezone.get_current_timezone() if settings.USE_TZ else None


def datetime_text(value: datetime.datetime, zone: Zone) -> str:
    """`serializers.DateTimeField().to_representation(value)` with the zone looked up once
    per page, not once per value."""
    if zone is not None:
        if timezone.is_aware(value):
            value = value.astimezone(zone)
        else:
            value = timezone.make_aware(value, zone)
    elif timezone.is_aware(value):
        value = timezone.make_naive(value, datetime.UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date_text(value: datetime.date, zone: Zone) -> str:
    return value.isoformat()


_TEXT_COLUMNS = (
    models.CharField,
    models.TextField,
)
_INTEGER_COLUMNS = (models.IntegerField, models.AutoField, models.BigAutoField)


def _column(model: type[models.Model], path: str) -> models.Field[Any, Any]:
    """The model field at `path` (`owner__team__name`), following relations."""
    field: Any = None
    current = model
    for name in path.split("__"):
        field = current._meta.get_field(name)
        if field.is_relation and field.related_model is not None:
            current = field.related_model
    return field


def _plain_converter(field: serializers.Field, column: models.Field[Any, Any]) -> Convert | None:
    """How DRF writes a non-null value of `column` through `field`; None: as it is."""
    if isinstance(field, serializers.DateTimeField):
        output = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if hasattr(field, "timezone") or output is None or output.lower() != ISO_8601:
            raise ImproperlyConfigured(f"{field.field_name}: only ISO 8601 datetimes are lean")
        return datetime_text
    if isinstance(field, serializers.DateField):
        output = getattr(field, "format", api_settings.DATE_FORMAT)
        if output is None or output.lower() != ISO_8601:
            raise ImproperlyConfigured(f"{field.field_name}: only ISO 8601 dates are lean")
        return _date_text
    if isinstance(field, serializers.DecimalField):
        represent = field.to_representation
        return lambda value, zone: represent(value)
    if isinstance(field, serializers.ChoiceField | serializers.CharField):
        # DRF writes str(value) (a choice: the choice's own value, i.e. the same string).
        return None if isinstance(column, _TEXT_COLUMNS) else (lambda value, zone: str(value))
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(column, models.BooleanField) else (lambda v, zone: bool(v))
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(column, _INTEGER_COLUMNS) else (lambda v, zone: int(v))
    if isinstance(field, serializers.FloatField):
        return lambda value, zone: float(value)
    raise ImproperlyConfigured(
        f"{field.field_name}: {type(field).__name__} is not built by crm.api.lean; "
        "give the shape a Computed for it"
    )


# One output field: (key, column path or None for a whole-row part, how to build it).
# For a column: None keeps the value, a Convert turns a non-null value into JSON.
# For a whole-row part (nested, computed, related): a function of (row, zone, loaded).
_Part = tuple[str, str | None, Any]


class Shape:
    """The output of `serializer_class` built from `values()` rows of its model.

    `computed` builds fields DRF reads through a method or `source="*"`; `nested` gives
    the shape of a nested serializer (it is read from the joined columns, `owner__...`,
    and is null when the relation is); `related` loads a field from another query, once
    per page (a many-nested list, say)."""

    def __init__(
        self,
        serializer_class: type[serializers.Serializer[Any]],
        *,
        computed: Mapping[str, Computed] | None = None,
        nested: Mapping[str, Shape] | None = None,
        related: Mapping[str, Related] | None = None,
    ) -> None:
        self.serializer_class = serializer_class
        self.computed = dict(computed or {})
        self.nested = dict(nested or {})
        self.related = dict(related or {})
        self._parts_at: dict[str, tuple[list[_Part], list[str]]] = {}
        self._template: QuerySet[Any] | None = None
        # The detail's SQL, compiled once per scope (crm.api.prepared).
        self.detail = Prepared()

    @property
    def model(self) -> type[models.Model]:
        return self.serializer_class.Meta.model  # type: ignore[attr-defined]

    def fields(self) -> list[str]:
        """The serializer's readable fields, in its order: the keys of each row built."""
        return [name for name, f in self.serializer_class().fields.items() if not f.write_only]

    def _parts(self, prefix: str = "") -> tuple[list[_Part], list[str]]:
        """The parts of a row at `prefix` (`owner__`), and the column paths they read."""
        if prefix not in self._parts_at:
            self._parts_at[prefix] = self._make_parts(prefix)
        return self._parts_at[prefix]

    def _make_parts(self, prefix: str) -> tuple[list[_Part], list[str]]:
        parts: list[_Part] = []
        paths: list[str] = []
        known = set(self.computed) | set(self.nested) | set(self.related)
        readable = {
            name: f for name, f in self.serializer_class().fields.items() if not f.write_only
        }
        if unknown := known - set(readable):
            raise ImproperlyConfigured(f"{self.serializer_class.__name__} has no {unknown}")
        for name, field in readable.items():
            if name in self.computed:
                parts.append(self._computed_part(name, self.computed[name], prefix, paths))
            elif name in self.nested:
                parts.append(self._nested_part(name, field, prefix, paths))
            elif name in self.related:
                parts.append(self._related_part(name, self.related[name], prefix, paths))
            else:
                path, convert = self._plain(name, field)
                paths.append(prefix + path)
                parts.append((name, prefix + path, convert))
        return parts, paths

    def _computed_part(self, name: str, computed: Computed, prefix: str, paths: list[str]) -> _Part:
        columns = [prefix + column for column in computed.columns]
        paths.extend(columns)
        build = computed.build

        def part(row: Row, zone: Zone, loaded: Any) -> Any:
            return build(*(row[column] for column in columns))

        return (name, None, part)

    def _related_part(self, name: str, related: Related, prefix: str, paths: list[str]) -> _Part:
        column = prefix + related.key
        paths.append(column)
        default = related.default

        def part(row: Row, zone: Zone, loaded: Mapping[str, Mapping[Any, Any]]) -> Any:
            found = loaded[name].get(row[column])
            return default() if found is None else found

        return (name, None, part)

    def _nested_part(
        self, name: str, field: serializers.Field, prefix: str, paths: list[str]
    ) -> _Part:
        source = field.source
        if not isinstance(field, serializers.Serializer) or not isinstance(source, str):
            raise ImproperlyConfigured(f"{name}: only a nested serializer of a relation")
        if source == "*":
            raise ImproperlyConfigured(f"{name}: only a nested serializer of a relation")
        relation = prefix + source.replace(".", "__") + "__"
        shape = self.nested[name]
        parts, nested_paths = shape._parts(relation)
        key = relation + (shape.model._meta.pk.name if shape.model._meta.pk else "id")
        paths.extend([key, *nested_paths])
        build_row = _row_builder(parts)

        def part(row: Row, zone: Zone, loaded: Any) -> Any:
            return None if row[key] is None else build_row(row, zone, loaded)

        return (name, None, part)

    def _plain(self, name: str, field: serializers.Field) -> tuple[str, Convert | None]:
        """(values() path, converter) of a field read from one column."""
        source = field.source
        if source == "*" or not isinstance(source, str):
            raise ImproperlyConfigured(f"{name}: source='*' needs a Computed")
        path = source.replace(".", "__")
        try:
            column = _column(self.model, path)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{name}: {source} is not a column; give a Computed"
            ) from None
        if isinstance(field, serializers.PrimaryKeyRelatedField):
            if field.pk_field is not None or not column.many_to_one and not column.one_to_one:
                raise ImproperlyConfigured(f"{name}: only a plain foreign key id is lean")
            return path, None  # values() reads a foreign key as its id
        if isinstance(field, serializers.SlugRelatedField):
            return f"{path}__{field.slug_field}", None
        if isinstance(field, serializers.RelatedField | serializers.ManyRelatedField):
            raise ImproperlyConfigured(f"{name}: {type(field).__name__} is not lean")
        if isinstance(field, serializers.BaseSerializer):
            raise ImproperlyConfigured(f"{name}: a nested serializer needs `nested`")
        if column.is_relation:
            raise ImproperlyConfigured(f"{name}: {source} is a relation")
        return path, _plain_converter(field, column)

    @property
    def paths(self) -> list[str]:
        """Every column a row needs, each once, the model's id first."""
        _parts, paths = self._parts()
        return list(dict.fromkeys(["id", *paths]))

    def template(self) -> QuerySet[Any]:
        """Every row of the model as this shape reads them, its joins set up once per
        process; each caller gets its own copy (`.all()`), so none evaluates the shared one."""
        if self._template is None:
            self._template = self.values(self.model._default_manager.all())
        return self._template.all()

    def values(self, queryset: QuerySet[Any], *extra: str) -> QuerySet[Any]:
        """`queryset` as the rows this shape reads (plus the `extra` columns)."""
        return queryset.values(*dict.fromkeys([*self.paths, *extra]))

    def build(self, rows: Sequence[Row]) -> list[dict[str, Any]]:
        """The serializer's output for each row (its `data` with `many=True`)."""
        parts, _paths = self._parts()
        loaded = self._load(rows)
        build_row = _row_builder(parts)
        zone = active_zone()
        return [build_row(row, zone, loaded) for row in rows]

    def build_one(self, row: Row) -> dict[str, Any]:
        return self.build([row])[0]

    def _load(self, rows: Sequence[Row]) -> dict[str, Mapping[Any, Any]]:
        loaded: dict[str, Mapping[Any, Any]] = {}
        for name, related in self.related.items():
            keys = [row[related.key] for row in rows if row[related.key] is not None]
            loaded[name] = related.load(list(dict.fromkeys(keys))) if keys else {}
        return loaded

    def rows(self, queryset: QuerySet[Any], *extra: str) -> list[dict[str, Any]]:
        """The serializer's output for every row of `queryset`."""
        return self.build(list(self.values(queryset, *extra)))


def _row_builder(parts: list[_Part]) -> Callable[[Row, Zone, Any], dict[str, Any]]:
    """One function building a row's dict from `parts`, in the serializer's key order."""

    def build_row(row: Row, zone: Zone, loaded: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, path, how in parts:
            if path is None:
                out[key] = how(row, zone, loaded)
            else:
                value = row[path]
                out[key] = value if how is None or value is None else how(value, zone)
        return out

    return build_row


class LeanFilterBackend(DjangoFilterBackend):
    """django-filter, not run when the request names none of the filterset's parameters:
    then every filter is empty and filters nothing, while building and validating the
    filterset's form is a good part of an unfiltered page. (A parameter that merely
    starts with a filter's name still runs it: suffixed widgets, `x_min`, stay exact.)"""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            param.startswith(name)
            for param in request.query_params
            for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


# The list and the detail of a viewset from `lean_shape` rows. The list runs the view's
# own filter backends (django-filter, `?ordering=`) and its keyset pagination over
# `values()` rows; the detail reads the row from the view's scoped queryset (the same
# scope the permission rules give as a query), 404 when it is not there, with the row's
# version as ETag. (No class docstring: drf-spectacular would make it the description of
# every operation of the viewsets that mix it in, changing the schema.)
class LeanReadMixin:
    lean_shape: ClassVar[Shape]
    # The throttles' counts of a lean read, sent before the read and answered after it
    # (`_WindowCounting.begin`): the Redis round trip overlaps the database's.
    _pending_throttles: list[tuple[Any, Callable[[], bool]]] | None = None

    def check_throttles(self, request: Request) -> None:
        view: Any = self
        if getattr(view, "action", None) not in ("list", "retrieve"):
            super().check_throttles(request)  # type: ignore[misc]
            return
        pending: list[tuple[Any, Callable[[], bool]]] = []
        refused_now = False
        for throttle in view.get_throttles():
            begin = getattr(throttle, "begin", None)
            answer = begin(request, view) if begin else throttle.allow_request(request, view)
            if callable(answer):
                pending.append((throttle, answer))
            elif not answer:
                refused_now = True
                pending.append((throttle, lambda: False))
        self._pending_throttles = pending
        if refused_now:  # known before any read: refused before it, as DRF does
            self.settle_throttles(request)

    def settle_throttles(self, request: Request) -> None:
        """DRF's `check_throttles` verdict on the counts `check_throttles` began: every
        answer read (each holds a connection), Throttled (429) if any refused."""
        pending, self._pending_throttles = self._pending_throttles, None
        if not pending:
            return
        refused = [throttle for throttle, answer in pending if not answer()]
        if refused:
            durations = [d for d in (t.wait() for t in refused) if d is not None]
            view: Any = self
            view.throttled(request, max(durations, default=None))

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # A handler that did not settle its throttles (an override of list/retrieve):
        # settled here, a refusal answered as DRF answers it.
        if self._pending_throttles:
            view: Any = self
            try:
                self.settle_throttles(request)
            except Exception as error:  # Throttled
                response = view.handle_exception(error)
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]

    def lean_queryset(self) -> QuerySet[Any]:
        """The rows of `get_queryset()` as this shape reads them. A view may narrow
        `lean_shape.template()` by the same scope instead: cheaper than setting up the
        shape's columns and joins again on every request."""
        return self.lean_shape.values(self.get_queryset())  # type: ignore[attr-defined]

    def lean_list(self, request: Request) -> Response:
        view: Any = self
        # Filters and `?ordering=` on the rows; the sort's columns (annotated, an alias
        # for a related one) are in each row, for the pages' cursors.
        try:
            queryset = view.filter_queryset(self.lean_queryset())
            rows = view.paginate_queryset(view_sort(request, view).prepare(queryset))
        finally:  # a refusal wins over the read's own errors, as when checked first
            self.settle_throttles(request)
        return view.get_paginated_response(self.lean_shape.build(rows))

    def lean_retrieve(self, pk: Any, *, not_found: str) -> Response:
        view: Any = self
        try:
            # A malformed or out-of-range id names no row: the same 404 (crm.api.prepared).
            row = self.lean_shape.detail.one(self.lean_queryset(), pk)
        finally:  # a refusal wins over the read's own errors, as when checked first
            self.settle_throttles(view.request)
        if row is None:
            raise NotFound(not_found)
        return with_etag(Response(self.lean_shape.build_one(row)), row["version"])
