from django.urls import path
from rest_framework.routers import SimpleRouter

from leads.api.bulk import LeadBulkView
from leads.api.merge import LeadMergeView
from leads.api.settings import (
    DisqualificationReasonViewSet,
    RejectionReasonViewSet,
    RoutingRuleViewSet,
)
from leads.api.views import LeadViewSet

router = SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
router.register("rejection-reasons", RejectionReasonViewSet, basename="rejection-reason")
router.register(
    "disqualification-reasons", DisqualificationReasonViewSet, basename="disqualification-reason"
)
urlpatterns = [
    path("leads/bulk/", LeadBulkView.as_view(), name="lead-bulk"),  # before leads/<pk>/
    *router.urls,
    path("leads/<str:pk>/merge/", LeadMergeView.as_view(), name="lead-merge"),
]
