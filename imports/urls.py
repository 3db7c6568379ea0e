"""Import pages: /imports/ (upload and recent imports), each import's mapping, progress,
cancel, error file and "run for real" after a dry run; /settings/imports/ (RevOps)."""

from django.urls import URLPattern, URLResolver, path

from imports import views

app_name = "imports"

urlpatterns: list[URLPattern | URLResolver] = [
    path("imports/", views.import_list, name="list"),
    path("imports/<int:pk>/", views.import_detail, name="detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="mapping"),
    path("imports/<int:pk>/progress/", views.import_progress, name="progress"),
    path("imports/<int:pk>/cancel/", views.import_cancel, name="cancel"),
    path("imports/<int:pk>/run/", views.import_run_for_real, name="run-for-real"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="errors"),
    path("settings/imports/", views.import_settings, name="settings"),
]
