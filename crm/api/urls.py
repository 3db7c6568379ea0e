"""Every app's API under /api/v1/."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("leads.api.urls")),
    path("sla/", include("sla.api.urls")),
    path("", include("opportunities.api.urls")),
    path("reports/", include("reports.api.urls")),
]
