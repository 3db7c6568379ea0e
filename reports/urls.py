"""Browser routes: /dashboard/ and /reports/... (included at the site root)."""

from django.urls import path
from django.views.generic import RedirectView

from reports.views import pages, settings_pages

app_name = "reports"

urlpatterns = [
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("dashboard/speed/", pages.dashboard_speed, name="dashboard-speed"),
    path("reports/", RedirectView.as_view(pattern_name="reports:dashboard", query_string=True)),
    path("reports/conversion/", pages.conversion, name="conversion"),
    path("reports/funnel/", pages.funnel, name="funnel"),
    path("reports/quality/", pages.quality, name="quality"),
    path("reports/pipeline/", pages.pipeline, name="pipeline"),
    path("reports/sla/", pages.sla, name="sla"),
    path("reports/feedback/", pages.feedback, name="feedback"),
    path("reports/marketing/", pages.marketing, name="marketing"),
    path("reports/benchmarks/", settings_pages.benchmarks, name="benchmarks"),
    path(
        "reports/benchmarks/history/",
        settings_pages.benchmarks_history,
        name="benchmarks-history",
    ),
    path("reports/mql-targets/", settings_pages.mql_targets, name="mql-targets"),
    path(
        "reports/mql-targets/history/",
        settings_pages.mql_targets_history,
        name="mql-targets-history",
    ),
    path("reports/drill/leads/", pages.drill, {"kind": "leads"}, name="drill-leads"),
    path(
        "reports/drill/opportunities/",
        pages.drill,
        {"kind": "opportunities"},
        name="drill-opportunities",
    ),
    path("reports/drill/moves/", pages.drill, {"kind": "moves"}, name="drill-moves"),
    path("reports/drill/timers/", pages.drill, {"kind": "timers"}, name="drill-timers"),
    path("reports/drill/handoffs/", pages.drill, {"kind": "handoffs"}, name="drill-handoffs"),
    path("reports/drill/requests/", pages.drill, {"kind": "requests"}, name="drill-requests"),
]
