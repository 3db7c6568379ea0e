"""The SLA API: /api/v1/sla/ (policies and business calendars) and a lead's clocks at
/api/v1/leads/{id}/sla/ (the clocks are `sla`'s, so is their endpoint)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from sla.api.timers import SlaTimerViewSet
from sla.api.views import BusinessCalendarViewSet, LeadTimersView, SlaPolicyViewSet

router = SimpleRouter()
router.register("policies", SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", BusinessCalendarViewSet, basename="sla-calendar")
router.register("timers", SlaTimerViewSet, basename="sla-timer")

urlpatterns = [
    path("sla/", include(router.urls)),
    path("leads/<int:pk>/sla/", LeadTimersView.as_view(), name="lead-sla"),
]
