"""Every app's API under /api/v1/."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    # Before the leads router: /leads/{id}/sla/ (a lead's clocks) is served by `sla`.
    path("", include("sla.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("opportunities.api.urls")),
    path("reports/", include("reports.api.urls")),
]
