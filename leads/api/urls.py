from rest_framework.routers import SimpleRouter

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
urlpatterns = router.urls
