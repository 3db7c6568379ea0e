"""Every report as JSON under /api/v1/reports/: the page's filters (start, end, period,
team, owner, source), the page's scoping, the page's figures.

Invalid filters are a 400 with the usual ``{"errors": [...]}`` body (the pages instead
fall back to the default for a part that does not parse). Rates are percentages (0-100),
durations seconds, money ``{"currency", "amount"}`` per currency - never summed across.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.exceptions import NotAllowed
from crm.web.requests import AuthedRequest
from reports.cohorts import ReportRequest
from reports.feedback import feedback_by, last_week_request
from reports.filters import ReportFilters, user_zone
from reports.forms import ReportFilterForm
from reports.pages import funnel_page, marketing_page, pipeline_page, quality_page, sla_page
from reports.selectors import conversion_by_source
from reports.selectors.conversion import OVERALL
from reports.selectors.tally import Group
from reports.tables import CONVERSION_DEFINITION, Table

FILTERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (reader's zone)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive."),
    OpenApiParameter(
        "period",
        str,
        enum=["30d", "90d", "qtd", "lq", "ytd", "12m"],
        description="Instead of dates.",
    ),
    OpenApiParameter("team", int),
    OpenApiParameter(
        "owner", int, description="A user: leads owned or handed to them, deals owned."
    ),
    OpenApiParameter("source", str),
]


def _by(choices: list[str]) -> OpenApiParameter:
    return OpenApiParameter("by", str, enum=choices, description="Breakdown.")


def breakdown(request: AuthedRequest, choices: list[str]) -> str:
    """The `by=` asked for, the first choice when absent; anything else is a 400 naming
    `by` rather than a silent fall-back the client would take for its answer."""
    by = request.query_params.get("by") or choices[0]
    if by not in choices:
        raise serializers.ValidationError(
            {
                "by": [
                    ErrorDetail(
                        _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)},
                        code="invalid_choice",
                    )
                ]
            }
        )
    return by


def report_request(request: AuthedRequest) -> ReportRequest:
    if not request.query_params:
        # Nothing to parse: the default period in the reader's zone, as the form gives.
        filters = ReportFilters.default(tz=user_zone(request.user))
        return ReportRequest(user=request.user, filters=filters, now=timezone.now())
    form = ReportFilterForm(request.query_params, user=request.user)
    if not form.is_valid():
        raise serializers.ValidationError(
            {
                ("non_field_errors" if field == "__all__" else field): [
                    ErrorDetail(error["message"], code=error["code"] or "invalid")
                    for error in errors
                ]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    return ReportRequest(user=request.user, filters=form.filters(), now=timezone.now())


def _period(r: ReportRequest) -> dict[str, Any]:
    f = r.filters
    return {
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "time_zone": str(f.tz),
        "team": f.team.pk if f.team else None,
        "owner": f.owner.pk if f.owner else None,
        "source": f.source,
    }


def _tables(tables: dict[str, Table]) -> dict[str, Any]:
    return {table_id: table.json_rows() for table_id, table in tables.items()}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _conversion_row(group: Group) -> dict[str, Any]:
    low, high = group["benchmark_low"], group["benchmark_high"]
    return {
        "source": group.key,
        "label": group.label,
        "leads": group["leads"],
        "converted": group["converted"],
        "rate": _rate(group["rate"]),
        "benchmark_low": None if low is None else float(low),
        "benchmark_high": None if high is None else float(high),
        "status": group["status"],
    }


class ConversionBySourceView(APIView):
    @extend_schema(parameters=FILTERS, responses=OpenApiTypes.OBJECT)
    def get(self, request: AuthedRequest) -> Response:
        """Lead -> opportunity conversion per source and overall, against the benchmarks.
        Status: below | within | above the range (null without leads or a range)."""
        r = report_request(request)
        report = conversion_by_source(r)
        overall = _conversion_row(report.overall)
        overall["source"] = OVERALL
        return Response(
            {
                "filters": _period(r),
                "definition": str(CONVERSION_DEFINITION),
                "rows": [_conversion_row(group) for group in report.rows],
                "overall": overall,
            }
        )


class FunnelView(APIView):
    @extend_schema(
        parameters=[*FILTERS, _by(["source", "campaign", "team", "owner"])],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: AuthedRequest) -> Response:
        r = report_request(request)
        page = funnel_page(r, breakdown(request, ["source", "campaign", "team", "owner"]))
        return Response({"filters": _period(r), **_tables(page.tables)})


class QualityView(APIView):
    @extend_schema(parameters=[*FILTERS, _by(["sdr", "ae"])], responses=OpenApiTypes.OBJECT)
    def get(self, request: AuthedRequest) -> Response:
        r = report_request(request)
        page = quality_page(r, breakdown(request, ["sdr", "ae"]))
        return Response({"filters": _period(r), **_tables(page.tables)})


class PipelineView(APIView):
    @extend_schema(parameters=[*FILTERS, _by(["owner", "team"])], responses=OpenApiTypes.OBJECT)
    def get(self, request: AuthedRequest) -> Response:
        r = report_request(request)
        page = pipeline_page(r, breakdown(request, ["owner", "team"]))
        return Response({"filters": _period(r), **_tables(page.tables)})


class SlaView(APIView):
    @extend_schema(
        parameters=[*FILTERS, _by(["policy", "owner", "team", "source"])],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: AuthedRequest) -> Response:
        r = report_request(request)
        page = sla_page(r, breakdown(request, ["policy", "owner", "team", "source"]))
        return Response({"filters": _period(r), **_tables(page.tables)})


class FeedbackView(APIView):
    @extend_schema(
        parameters=[*FILTERS, _by(["source", "campaign"])], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: AuthedRequest) -> Response:
        """Lead quality by source (or campaign) for marketing; without dates, the last full
        week. Each rejection reason row names its source (or campaign) label."""
        r = report_request(request)
        by = breakdown(request, ["source", "campaign"])
        if not ({"start", "end", "period"} & set(request.query_params)):
            r = last_week_request(request.user, r.filters.tz, now=r.now)
        summary = feedback_by(r, by)
        return Response(
            {
                "filters": _period(r),
                "rows": summary.table.json_rows(),
                "rejection_reasons": [
                    {by: label, "reason": reason, "count": count}
                    for label, reason, count in summary.reasons
                ],
            }
        )


class MarketingView(APIView):
    @extend_schema(
        parameters=[*FILTERS, _by(["source", "campaign"])], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: AuthedRequest) -> Response:
        """The marketing SLA (RevOps, managers): `mql_targets`, MQLs delivered per month and
        source against the targets (company-wide, whole months the period touches), and
        `revenue_by_<by>`, MQL -> opportunity -> won and the value won per currency."""
        if not request.user.has_perm("reports.view_marketing"):
            raise NotAllowed("Only RevOps and managers see the marketing report.")
        r = report_request(request)
        by = breakdown(request, ["source", "campaign"])
        page = marketing_page(r, by)
        return Response({"filters": _period(r), **_tables(page.tables)})
