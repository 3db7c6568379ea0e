"""/api/v1/sla/: policies and business calendars."""

from rest_framework.routers import SimpleRouter

from sla.api.views import BusinessCalendarViewSet, SlaPolicyViewSet

router = SimpleRouter()
router.register("policies", SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", BusinessCalendarViewSet, basename="sla-calendar")
urlpatterns = router.urls
