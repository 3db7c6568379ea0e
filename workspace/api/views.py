"""`GET /api/v1/search/?q=`: the global search as JSON, the same grouped results the
search page and the Ctrl+K palette show (`workspace.search`), scoped to the caller."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.serializers import ERRORS
from crm.web.requests import AuthedRequest
from workspace.search import DEFAULT_LIMIT, KINDS, MAX_LIMIT, search
from workspace.search_query import QUERY_MAX_LENGTH, QUERY_MIN_LENGTH, Shape

KIND_NAMES = [kind.name for kind in KINDS]


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(
        allow_blank=True,
        trim_whitespace=True,
        max_length=QUERY_MAX_LENGTH,
        help_text=f"What to find: a name, company, e-mail, web domain or phone number. "
        f"Shorter than {QUERY_MIN_LENGTH} characters finds nothing.",
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text="The most results of each kind.",
    )


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KIND_NAMES)
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField(allow_blank=True)
    badge = serializers.CharField(
        allow_blank=True, help_text="A lead's status, a deal's stage; empty for the others."
    )
    url = serializers.CharField(help_text="The page to open, relative to the site.")


class SearchGroupSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KIND_NAMES)
    # A declared field named like Field.label: DRF takes it off the class; the stubs do not know.
    label = serializers.CharField()  # type: ignore[assignment]
    results = SearchHitSerializer(many=True, help_text="Best first.")
    more = serializers.BooleanField(help_text="More matched than `limit`: refine the query.")
    list_url = serializers.CharField(help_text="The kind's own list, searched the same way.")


class SearchResultsSerializer(serializers.Serializer):
    query = serializers.CharField(allow_blank=True, help_text="The query as searched.")
    shape = serializers.ChoiceField(
        choices=[shape.value for shape in Shape],
        help_text="What the query was taken for, which decides the fields searched.",
    )
    fuzzy = serializers.BooleanField(
        help_text="Typo-tolerant matching (PostgreSQL trigrams); false: plain containment."
    )
    groups = SearchGroupSerializer(
        many=True, help_text="One per kind, always in the same order: " + ", ".join(KIND_NAMES)
    )


class SearchView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="The text to find."),
            OpenApiParameter("limit", int, description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}."),
        ],
        responses={200: SearchResultsSerializer, 400: ERRORS},
    )
    def get(self, request: AuthedRequest) -> Response:
        """Leads, opportunities, accounts and contacts the caller may see that match `q`
        by name, company, e-mail, web domain or phone number, grouped by kind."""
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        results = search(request.user, data["q"], limit=data["limit"])
        return Response(SearchResultsSerializer(results.as_dict()).data)
