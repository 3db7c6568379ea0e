"""Every app's API under /api/v1/."""

from django.urls import include, path, re_path

from crm.api.exceptions import UnknownEndpointView
from crm.api.me import MeView
from crm.security.api import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    # Before the leads router: /leads/{id}/sla/ (a lead's clocks) is served by `sla`.
    path("", include("sla.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("opportunities.api.urls")),
    path("", include("reports.api.settings_urls")),
    path("reports/", include("reports.api.urls")),
    path("", include("imports.api.urls")),
    path("", include("capture.api.urls")),
    path("", include("crm.api.saved_views")),  # /api/v1/views/: saved views of the lists
    path("", include("workspace.api.urls")),  # /search/
    # Keep last: any other path under /api/v1/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", UnknownEndpointView.as_view(), name="api-unknown-endpoint"),
]
