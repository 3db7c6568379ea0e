"""Every app's API under /api/v1/."""

from django.urls import include, path, re_path

from crm.api.exceptions import UnknownEndpointView
from crm.security.api import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    # Before the leads router: /leads/{id}/sla/ (a lead's clocks) is served by `sla`.
    path("", include("sla.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("opportunities.api.urls")),
    path("", include("reports.api.settings_urls")),
    path("reports/", include("reports.api.urls")),
    # Keep last: any other path under /api/v1/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", UnknownEndpointView.as_view(), name="api-unknown-endpoint"),
]
