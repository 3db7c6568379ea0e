"""Browser routes: /dashboard/ and /reports/... (included at the site root)."""

from django.urls import path
from django.views.generic import RedirectView

from reports import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/speed/", views.dashboard_speed, name="dashboard-speed"),
    path("reports/", RedirectView.as_view(pattern_name="reports:dashboard", query_string=True)),
    path("reports/conversion/", views.conversion, name="conversion"),
    path("reports/funnel/", views.funnel, name="funnel"),
    path("reports/quality/", views.quality, name="quality"),
    path("reports/pipeline/", views.pipeline, name="pipeline"),
    path("reports/sla/", views.sla, name="sla"),
    path("reports/feedback/", views.feedback, name="feedback"),
    path("reports/benchmarks/", views.benchmarks, name="benchmarks"),
    path("reports/drill/leads/", views.drill, {"kind": "leads"}, name="drill-leads"),
    path(
        "reports/drill/opportunities/",
        views.drill,
        {"kind": "opportunities"},
        name="drill-opportunities",
    ),
    path("reports/drill/moves/", views.drill, {"kind": "moves"}, name="drill-moves"),
    path("reports/drill/timers/", views.drill, {"kind": "timers"}, name="drill-timers"),
    path("reports/drill/handoffs/", views.drill, {"kind": "handoffs"}, name="drill-handoffs"),
    path("reports/drill/requests/", views.drill, {"kind": "requests"}, name="drill-requests"),
]
