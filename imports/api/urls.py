"""API routes under /api/v1/: imports/, imports/{id}/, and each import's cancel/ and errors/."""

from rest_framework.routers import SimpleRouter

from imports.api.views import ImportViewSet

router = SimpleRouter()
router.register("imports", ImportViewSet, basename="import")
urlpatterns = router.urls
