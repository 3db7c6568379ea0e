"""API routes under /api/v1/: web forms and intake keys (RevOps), and the webhook."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from capture.api.views import IntakeKeyViewSet, IntakeView, WebFormViewSet

router = SimpleRouter()
router.register("forms", WebFormViewSet, basename="web-form")
router.register("intake-keys", IntakeKeyViewSet, basename="intake-key")

urlpatterns: list[URLPattern | URLResolver] = [
    path("intake/", IntakeView.as_view(), name="capture-intake"),
    *router.urls,
]
