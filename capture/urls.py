"""Pages: RevOps' capture settings, and the public web form (/f/<key>/) visitors post to."""

from django.urls import URLPattern, URLResolver, path

from capture.views import public, settings

app_name = "capture"

urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/web-forms/", settings.web_forms, name="forms"),
    path("settings/web-forms/new/", settings.web_form_new, name="form_new"),
    path("settings/web-forms/<int:pk>/", settings.web_form_edit, name="form_edit"),
    path("settings/intake-keys/", settings.intake_keys, name="keys"),
    path(
        "settings/intake-keys/<int:pk>/revoke/",
        settings.intake_key_revoke_view,
        name="key_revoke",
    ),
    path("f/<slug:key>/", public.web_form_endpoint, name="public_form"),
    # Without the slash too: a pasted action URL missing it must not lose the post
    # (APPEND_SLASH cannot redirect a POST).
    path("f/<slug:key>", public.web_form_endpoint),
]
