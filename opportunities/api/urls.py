from django.urls import path
from rest_framework.routers import SimpleRouter

from opportunities.api import bulk, settings, views

router = SimpleRouter()
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("stages", settings.StageViewSet, basename="stage")

urlpatterns = [
    # before the router's opportunities/<pk>/
    path("opportunities/bulk/", bulk.OpportunityBulkView.as_view(), name="opportunity-bulk"),
    path("leads/<int:pk>/readiness/", views.LeadReadinessView.as_view(), name="lead-readiness"),
    path("leads/<int:pk>/convert/", views.LeadConvertView.as_view(), name="lead-convert"),
    path(
        "leads/<int:pk>/override-request/",
        views.LeadOverrideRequestView.as_view(),
        name="lead-override-request",
    ),
    path(
        "override-requests/<int:pk>/<str:decision>/",
        views.OverrideDecisionView.as_view(),
        name="override-decide",
    ),
    path("conversion-policy/", settings.ConversionPolicyView.as_view(), name="conversion-policy"),
    path(
        "conversion-policy/changes/",
        settings.ConversionPolicyChangesView.as_view(),
        name="conversion-policy-changes",
    ),
    *router.urls,
]
