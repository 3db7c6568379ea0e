from django.urls import path

from reports.api import views

urlpatterns = [
    path(
        "conversion-by-source/",
        views.ConversionBySourceView.as_view(),
        name="api-report-conversion-by-source",
    ),
    path("funnel/", views.FunnelView.as_view(), name="api-report-funnel"),
    path("quality/", views.QualityView.as_view(), name="api-report-quality"),
    path("pipeline/", views.PipelineView.as_view(), name="api-report-pipeline"),
    path("sla/", views.SlaView.as_view(), name="api-report-sla"),
    path("feedback/", views.FeedbackView.as_view(), name="api-report-feedback"),
    path("marketing/", views.MarketingView.as_view(), name="api-report-marketing"),
]
