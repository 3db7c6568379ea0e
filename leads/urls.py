"""Browser routes for the SDR's day. Every view is thin: parse, call a service, render."""

from django.urls import path

from leads.views import actions, activities, detail, handoff, intake, qualification, queue

app_name = "leads"

urlpatterns = [
    path("", queue.lead_list, name="list"),
    path("new/", intake.lead_new, name="new"),
    path("<int:pk>/", detail.lead_detail, name="detail"),
    path("<int:pk>/edit/", intake.lead_edit, name="edit"),
    path("<int:pk>/activities/", activities.lead_activity_log, name="activity"),
    path(
        "<int:pk>/activities/<int:activity_pk>/complete/",
        activities.lead_activity_complete,
        name="activity_complete",
    ),
    path("<int:pk>/qualification/", qualification.lead_qualification, name="qualification"),
    path("<int:pk>/accept/", actions.lead_accept, name="accept"),
    path("<int:pk>/reject/", actions.lead_reject, name="reject"),
    path("<int:pk>/qualify/", qualification.lead_qualify, name="qualify"),
    path("<int:pk>/handoff/", handoff.lead_handoff, name="handoff"),
    path("<int:pk>/discovery/", handoff.lead_discovery, name="discovery"),
    path("<int:pk>/nurture/", actions.lead_nurture, name="nurture"),
    path("<int:pk>/disqualify/", actions.lead_disqualify, name="disqualify"),
    path("<int:pk>/reopen/", actions.lead_reopen, name="reopen"),
    path("<int:pk>/assign/", actions.lead_assign, name="assign"),
]
