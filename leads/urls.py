"""Browser routes for the SDR's day. Every view is thin: parse, call a service, render."""

from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_new, name="new"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/activities/", views.lead_activity_log, name="activity"),
    path(
        "<int:pk>/activities/<int:activity_pk>/complete/",
        views.lead_activity_complete,
        name="activity_complete",
    ),
    path("<int:pk>/qualification/", views.lead_qualification, name="qualification"),
    path("<int:pk>/accept/", views.lead_accept, name="accept"),
    path("<int:pk>/reject/", views.lead_reject, name="reject"),
    path("<int:pk>/qualify/", views.lead_qualify, name="qualify"),
    path("<int:pk>/handoff/", views.lead_handoff, name="handoff"),
    path("<int:pk>/discovery/", views.lead_discovery, name="discovery"),
    path("<int:pk>/nurture/", views.lead_nurture, name="nurture"),
    path("<int:pk>/disqualify/", views.lead_disqualify, name="disqualify"),
    path("<int:pk>/reopen/", views.lead_reopen, name="reopen"),
    path("<int:pk>/assign/", views.lead_assign, name="assign"),
]
