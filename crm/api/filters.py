"""Query-parameter filters that answer a bad value with 400 naming it, never a 500 or a
silently ignored filter: ids that are whole numbers in the database's range, and booleans
that are true or false (django-filter reads "maybe" as "no filter")."""

from __future__ import annotations

from typing import Any

import django_filters  # type: ignore[import-untyped]  # django-filter ships no type hints
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The largest id any of our tables can hold (a signed 64-bit integer); a larger number
# names no row, and SQLite cannot even compare with it.
MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    """`value` as an id (a whole number from 1 to `MAX_ID`, written in ASCII digits), else
    None. `str.isdigit` alone would let "¹" or "²" through, which `int` then refuses."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number from 1 up (`owner=12`)."""

    field_class = IdField


class IdsField(forms.ModelMultipleChoiceField):
    """Ids of rows in the queryset, each checked to be an id before it reaches the database."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else []:
            if parse_id(pk) is None:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdsField


class ChoicesField(django_filters.fields.MultipleChoiceField):
    """Choices, each checked; an empty value (`status=`, what a form posts for "any")
    is no choice rather than a refused one (Django's message would name an empty value:
    "Select a valid choice.  is not one of the available choices.")."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            value = [v for v in value if str(v).strip()]
        return super().clean(value)


class ChoicesFilter(django_filters.MultipleChoiceFilter):
    """`status=mql&status=sal`: any of these choices; a bad one is a 400 naming it."""

    field_class = ChoicesField


class _BooleanWidget(forms.TextInput):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StrictBooleanField(forms.NullBooleanField):
    widget = _BooleanWidget
    default_error_messages = {"invalid": _("Use true or false.")}

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")

    def validate(self, value: Any) -> None:
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    """true/false (also 1/0, yes/no); anything else is a 400, not "no filter"."""

    field_class = StrictBooleanField
