"""The report settings over the API, mounted at /api/v1/ (beside the other apps' settings):
/api/v1/benchmarks/ and /api/v1/mql-targets/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from reports.api import settings

router = SimpleRouter()
router.register("mql-targets", settings.MqlTargetViewSet, basename="mql-target")

urlpatterns = [
    path("benchmarks/", settings.BenchmarksView.as_view(), name="benchmarks"),
    path("benchmarks/changes/", settings.BenchmarkChangesView.as_view(), name="benchmark-changes"),
    *router.urls,
]
