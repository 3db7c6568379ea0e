"""CSV downloads from the API: `GET /api/v1/<list>/export/` answers a streamed `text/csv`
file of every row the list's filters match (`crm.csv_safe` writes it).

Errors stay JSON whatever the client accepts: `CsvNegotiation` never refuses an `Accept:
text/csv` (a 406), and renders error bodies as the API's one error shape. The schema says
the success is `text/csv` (`csv_export_schema`), so a client generator and the
schemathesis suite read the answer for what it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from crm.api.serializers import ERRORS
from crm.exceptions import Problem, ValidationFailed
from crm.web.sorting import ORDERING_PARAM

CSV_MEDIA_TYPE = "text/csv"


class CsvNegotiation(DefaultContentNegotiation):
    """The first renderer (JSON) for whatever the client accepts: the file itself is a
    streamed response that needs no renderer, and errors are always JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


def csv_export_schema(description: str) -> Any:
    """`extend_schema` for an export action: 200 is a `text/csv` file, 400 a bad filter."""
    return extend_schema(
        description=description,
        filters=True,  # the list's filters and `ordering`, though the answer is no list
        responses={
            (200, CSV_MEDIA_TYPE): OpenApiResponse(
                response=OpenApiTypes.STR,
                description=(
                    "A CSV file (UTF-8 with a byte order mark, comma-separated, a header "
                    "row), streamed. Every row the filters match, in the `ordering` asked. "
                    "Text cells a spreadsheet would run as a formula (starting with =, +, "
                    "-, @, a tab or a carriage return) start with a single quote. Instants "
                    "are ISO 8601 in the user's time zone with its offset; amounts are "
                    "plain numbers next to their ISO 4217 currency."
                ),
            ),
            400: ERRORS,
        },
    )


def refuse_unknown_filters(request: Request, filterset_class: Any) -> None:
    """An export is every row its filters match, so a parameter it does not know (a typo,
    or the browser list's `q` for the API's `search`) would silently widen it to every
    row. Refused instead, each unknown parameter named (400)."""
    known = {*filterset_class.base_filters, ORDERING_PARAM, "format"}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known - {"format"}))
        raise ValidationFailed(
            problems=[
                Problem(
                    "unknown_filter",
                    name,
                    _("This export has no filter “%(name)s”; it takes %(known)s.")
                    % {"name": name, "known": takes},
                )
                for name in unknown
            ]
        )
