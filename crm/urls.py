"""The project's root URLconf: the one place that mounts every app's pages, by module
path (strings, not imports, so `crm` still imports nothing above it)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from crm import views
from crm.security import api as security_api

urlpatterns = [
    path("", include("workspace.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    # gettext() for static/js, in the request's language (locale/*/djangojs.po). Its URL
    # carries the language (templates/base.html), so each language is cached apart.
    path("jsi18n/", cache_page(60 * 60)(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("leads/", include("leads.urls")),
    path("sla/", include("sla.urls")),
    path("notifications/", include("crm.notification_views")),
    path("views/", include("crm.saved_view_pages")),  # saving a list's filters as a view
    path("settings/sign-in-protection/", include("crm.security.urls")),
    path("settings/me/", include("crm.preference_views")),
    path("", include("opportunities.urls")),
    path("", include("reports.urls")),
    path("", include("imports.urls")),
    path("", include("capture.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api.urls")),
    path("api/schema/", security_api.schema_view, name="api-schema"),
    path("api/docs/", security_api.docs_view, name="api-docs"),
]
