"""Report pages, the manager dashboard, drill-down lists and CSV exports. Thin: parse the
filters, call `reports.pages` / `reports.drill`, render (or write CSV with ?format=csv).
Refusals rise as domain errors; `crm.web.errors` turns them into the 403 / 404 page."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm import csv_safe
from crm.exceptions import NotAllowed
from crm.models import User
from crm.web.requests import AuthedHttpRequest
from leads.models import Lead, Source
from opportunities.models import ConversionRequest
from reports.cohorts import ReportRequest
from reports.dimensions import DIMENSIONS
from reports.drill import CSV_COLUMNS, DrillResult, drill_down
from reports.feedback import feedback_by, last_week_request
from reports.forms import ReportFilterForm
from reports.pages import (
    Page,
    conversion_page,
    dashboard_page,
    funnel_page,
    marketing_page,
    pipeline_page,
    quality_page,
    sla_page,
    speed_page,
)
from reports.rollups.reading import fresh_rollup_state
from reports.tables import Table

REPORT_NAV = (
    ("dashboard", "reports:dashboard", "bi-speedometer2"),
    ("conversion", "reports:conversion", "bi-bullseye"),
    ("funnel", "reports:funnel", "bi-funnel"),
    ("quality", "reports:quality", "bi-shield-check"),
    ("pipeline", "reports:pipeline", "bi-kanban"),
    ("sla", "reports:sla", "bi-stopwatch"),
    ("feedback", "reports:feedback", "bi-megaphone"),
    ("marketing", "reports:marketing", "bi-graph-up-arrow"),
)
# Tabs shown only to those their page admits.
REPORT_NAV_PERMS = {"marketing": "reports.view_marketing"}
# The breakdowns of the reports marketing reads: where source is, campaign is too.
SOURCE_OR_CAMPAIGN = ("source", "campaign")


def report_request(
    request: AuthedHttpRequest, *, use_rollups: bool = True
) -> tuple[ReportRequest, ReportFilterForm]:
    """The filters asked for; pages read the rollups while they are fresh."""
    form = ReportFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    now = timezone.now()
    state = fresh_rollup_state(now) if use_rollups else None
    as_of = state.refreshed_at if state else None
    return ReportRequest(user=request.user, filters=filters, now=now, rollups_as_of=as_of), form


def report_nav(user: User) -> list[tuple[str, str, str, str]]:
    """The report tabs `user` may open: (key, label, url, icon)."""
    labels = {
        "dashboard": _("Dashboard"),
        "conversion": _("Conversion"),
        "funnel": _("Funnel"),
        "quality": _("Quality"),
        "pipeline": _("Pipeline"),
        "sla": _("SLA"),
        "feedback": _("Lead feedback"),
        "marketing": _("Marketing"),
    }
    return [
        (key, labels[key], reverse(url), icon)
        for key, url, icon in REPORT_NAV
        if key not in REPORT_NAV_PERMS or user.has_perm(REPORT_NAV_PERMS[key])
    ]


def chart_labels() -> dict[str, str]:
    """The words the charts draw (legends, tooltips), in the reader's language."""
    return {
        "benchmark_range": _("Benchmark range"),
        "benchmark": _("Benchmark"),
        "conversion_rate": _("Conversion rate"),
        "rate": _("Rate"),
        "leads": _("leads"),
        "moving": _("Moving"),
        "stale": _("Stale (past the stage's age)"),
        "weighted": _("Weighted"),
        "unweighted": _("Unweighted"),
        "open_age": _("Open deals' age (days)"),
        "met": _("Met"),
        "breached": _("Breached"),
        "overdue": _("Overdue"),
        "past_due": _("Past due"),
        "later": _("Later"),
        "currency": _("Currency"),
    }


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _reset_url(request: HttpRequest, keep: list[str]) -> str:
    """The filters' Reset: this page with only the parameters that say what it shows
    (a drill-down's cohort, measure and group; a report's breakdown), filters dropped.
    Without them a drill-down is a 404."""
    kept = [(name, value) for name in keep for value in request.GET.getlist(name) if value]
    return f"{request.path}?{urlencode(kept)}" if kept else request.path


def csv_response(table: Table, filename: str) -> HttpResponse:
    # With the BOM Excel needs, and no cell a spreadsheet would run as a formula.
    return csv_safe.csv_response(filename, table.csv_header(), table.csv_rows())


def _filename(slug: str, r: ReportRequest, table_id: str = "") -> str:
    parts = ["threshold", slug, table_id, r.filters.start.isoformat(), r.filters.end.isoformat()]
    return slugify("-".join(p for p in parts if p))


def _csv_asked_for(
    request: AuthedHttpRequest, page: Page, slug: str, r: ReportRequest
) -> HttpResponse | None:
    """The page's table `?table=` names, as CSV, when `?format=csv` asks for it."""
    if request.GET.get("format") != "csv":
        return None
    table = page.table(request.GET.get("table"))
    return csv_response(table, _filename(slug, r, table.id))


def _render_page(
    request: AuthedHttpRequest,
    *,
    slug: str,
    template: str,
    r: ReportRequest,
    form: ReportFilterForm,
    page: Page,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    if (csv := _csv_asked_for(request, page, slug, r)) is not None:
        return csv
    context = {
        "r": r,
        "filters": r.filters,
        "form": form,
        "page": page,
        "tables": page.tables,
        "charts": {**page.charts, "labels": chart_labels()} if page.charts else {},
        "report_nav": report_nav(request.user),
        "current_report": slug,
        "query": _query_without(request, "format", "table"),
        "filter_query": _filter_query(r),
        "keep_params": ["by", "people_by"],
        "reset_url": _reset_url(request, ["by", "people_by"]),
        **page.context,
        **(extra or {}),
    }
    return render(request, template, context)


@login_required
@require_GET
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    r, form = report_request(request)
    people_by = request.GET.get("people_by") or "owner"
    if people_by not in ("owner", "team"):
        people_by = "owner"
    page = dashboard_page(r, people_by=people_by)
    return _render_page(
        request,
        slug="dashboard",
        template="reports/dashboard.html",
        r=r,
        form=form,
        page=page,
        extra={"people_by": people_by, "people_table_id": f"kpis_by_{people_by}"},
    )


@login_required
@require_GET
def dashboard_speed(request: AuthedHttpRequest) -> HttpResponse:
    """The dashboard's exact medians, loaded after the page (htmx): they sort the whole
    cohort, which the page itself never waits for."""
    r, form = report_request(request)
    page = speed_page(r)
    if (csv := _csv_asked_for(request, page, "speed", r)) is not None:
        return csv
    return render(
        request,
        "reports/_speed.html",
        {"r": r, "tables": page.tables, "query": _query_without(request, "format", "table")},
    )


def _by_param(request: AuthedHttpRequest, allowed: tuple[str, ...], default: str) -> str:
    by = request.GET.get("by") or default
    return by if by in allowed else default


def _report_by(
    request: AuthedHttpRequest,
    slug: str,
    page_for: Callable[[ReportRequest, str], Page],
    *,
    default: str,
    choices: list[tuple[str, str]],
    allowed: tuple[str, ...] | None = None,
) -> HttpResponse:
    """A report broken down by `?by=` (one of `allowed` when given; else the page itself
    answers an unknown breakdown), rendered by `reports/<slug>.html` or as CSV."""
    r, form = report_request(request)
    by = _by_param(request, allowed, default) if allowed else request.GET.get("by") or default
    return _render_page(
        request,
        slug=slug,
        template=f"reports/{slug}.html",
        r=r,
        form=form,
        page=page_for(r, by),
        extra={"by": by, "by_choices": choices},
    )


def _source_or_campaign() -> list[tuple[str, str]]:
    return [("source", _("Source")), ("campaign", _("Campaign"))]


@login_required
@require_GET
def conversion(request: AuthedHttpRequest) -> HttpResponse:
    return _report_by(
        request,
        "conversion",
        conversion_page,
        default="source",
        choices=_source_or_campaign(),
        allowed=SOURCE_OR_CAMPAIGN,
    )


@login_required
@require_GET
def funnel(request: AuthedHttpRequest) -> HttpResponse:
    return _report_by(
        request, "funnel", funnel_page, default="source", choices=_by_choices("leads")
    )


@login_required
@require_GET
def quality(request: AuthedHttpRequest) -> HttpResponse:
    choices = [("sdr", _("SDR")), ("ae", _("Account executive"))]
    return _report_by(request, "quality", quality_page, default="sdr", choices=choices)


@login_required
@require_GET
def pipeline(request: AuthedHttpRequest) -> HttpResponse:
    choices = [("owner", _("Owner")), ("team", _("Team"))]
    return _report_by(request, "pipeline", pipeline_page, default="owner", choices=choices)


@login_required
@require_GET
def sla(request: AuthedHttpRequest) -> HttpResponse:
    return _report_by(request, "sla", sla_page, default="policy", choices=_by_choices("timers"))


def _by_choices(cohort: str) -> list[tuple[str, str]]:
    return [(name, str(dim.label)) for name, dim in DIMENSIONS[cohort].items()]


@login_required
@require_GET
def feedback(request: AuthedHttpRequest) -> HttpResponse:
    """Weekly lead-quality feedback for marketing, by source (the e-mail's content)."""
    r, form = report_request(request)
    if "start" not in request.GET and "period" not in request.GET:
        r = last_week_request(request.user, r.filters.tz, now=r.now)
    by = _by_param(request, SOURCE_OR_CAMPAIGN, "source")
    summary = feedback_by(r, by)
    page = Page()
    page.add(summary.table)
    return _render_page(
        request,
        slug="feedback",
        template="reports/feedback.html",
        r=r,
        form=form,
        page=page,
        extra={"summary": summary, "by": by, "by_choices": _source_or_campaign()},
    )


@login_required
@require_GET
def marketing(request: AuthedHttpRequest) -> HttpResponse:
    """The marketing side of the SLA framework: MQLs delivered per month and source
    against the targets, and MQL -> revenue by source or campaign."""
    if not request.user.has_perm("reports.view_marketing"):
        raise NotAllowed(_("Only RevOps and managers see the marketing report."))
    return _report_by(
        request,
        "marketing",
        partial(marketing_page, drill_targets=request.user.sees_everything),
        default="source",
        choices=_source_or_campaign(),
        allowed=SOURCE_OR_CAMPAIGN,
    )


# --- drill-down lists ---------------------------------------------------------------------------

DRILL_TEMPLATES = {
    "leads": "reports/drill_leads.html",
    "opportunities": "reports/drill_opportunities.html",
    "moves": "reports/drill_moves.html",
    "timers": "reports/drill_timers.html",
    "handoffs": "reports/drill_handoffs.html",
    "requests": "reports/drill_requests.html",
}


@login_required
@require_GET
def drill(request: AuthedHttpRequest, kind: str) -> HttpResponseBase:
    r, form = report_request(request)
    groups = [k for k in request.GET if k.startswith("g_")]
    keep = ["cohort", "measure", *groups, "reached", "state"]
    result = drill_down(kind, r, request.GET)
    if request.GET.get("format") == "csv":
        return _drill_csv(kind, result, _filename(f"{kind}-list", r))
    next_url = ""
    if result.next_cursor:
        params = request.GET.copy()
        params["cursor"] = result.next_cursor
        next_url = f"?{params.urlencode()}"
    return render(
        request,
        DRILL_TEMPLATES[kind],
        {
            "r": r,
            "filters": r.filters,
            "form": form,
            "result": result,
            "rows": result.rows,
            "next_url": next_url,
            "first_url": f"?{_query_without(request, 'cursor')}" if "cursor" in request.GET else "",
            "csv_url": f"?{_query_without(request, 'cursor', 'format')}&format=csv",
            "back_url": f"{reverse('reports:dashboard')}?{_filter_query(r)}",
            "report_nav": report_nav(request.user),
            "current_report": "",
            "filter_query": _filter_query(r),
            "keep_params": keep,
            "reset_url": _reset_url(request, keep),
            "labels": _choice_labels(),
        },
    )


def _choice_labels() -> dict[str, dict[str, str]]:
    """The choice labels a list shows, translated once per page: `get_FOO_display` hashes
    every label of the field's choices on each call (a gettext each), per row."""
    return {
        "source": {key: str(label) for key, label in Source.choices},
        "status": {key: str(label) for key, label in Lead.Status.choices},
        "state": {key: str(label) for key, label in ConversionRequest.State.choices},
    }


def _filter_query(r: ReportRequest) -> str:
    return urlencode(r.filters.query_params())


def _drill_csv(kind: str, result: DrillResult, filename: str) -> StreamingHttpResponse:
    header, row = CSV_COLUMNS[kind]
    rows = (row(item) for item in result.queryset.iterator(chunk_size=2000))
    return csv_safe.streaming_csv_response(filename, header, rows)
