"""Browser routes for the SDR's day, and RevOps' leads settings (routing rules, reasons).
Every view is thin: parse, call a service, render."""

from django.urls import path

from leads.views import (
    actions,
    activities,
    bulk,
    detail,
    handoff,
    inline,
    intake,
    merge,
    qualification,
    queue,
    settings,
)

app_name = "leads"

urlpatterns = [
    path("", queue.lead_list, name="list"),
    path("export/", queue.lead_export, name="export"),
    path("bulk/", bulk.lead_bulk_run, name="bulk"),
    path("bulk/bar/", bulk.lead_bulk_bar, name="bulk_bar"),
    path("new/", intake.lead_new, name="new"),
    path("new/duplicates/", intake.lead_duplicates, name="duplicates"),
    path("<int:pk>/", detail.lead_detail, name="detail"),
    path("<int:pk>/edit/", intake.lead_edit, name="edit"),
    path("<int:pk>/cell/<str:field>/", inline.lead_cell, name="cell"),
    path("<int:pk>/cell/<str:field>/edit/", inline.lead_cell_edit, name="cell_edit"),
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
    path("<int:pk>/assign/queue/", queue.lead_assign_from_queue, name="assign_from_queue"),
    path("<int:pk>/merge/", merge.lead_merge_pick, name="merge_pick"),
    path("<int:pk>/merge/<int:duplicate_pk>/", merge.lead_merge, name="merge"),
    # RevOps' settings (managers read them)
    path("settings/routing/", settings.routing_rules, name="settings_routing"),
    path("settings/routing/new/", settings.routing_rule_new, name="settings_routing_new"),
    path("settings/routing/<int:pk>/", settings.routing_rule_edit, name="settings_routing_edit"),
    path(
        "settings/routing/<int:pk>/active/",
        settings.routing_rule_active,
        name="settings_routing_active",
    ),
    path(
        "settings/routing/<int:pk>/move/",
        settings.routing_rule_move,
        name="settings_routing_move",
    ),
    path("settings/reasons/", settings.reason_lists, name="settings_reasons"),
    path(
        "settings/reasons/<str:kind>/new/",
        settings.reason_new,
        name="settings_reason_new",
    ),
    path(
        "settings/reasons/<str:kind>/<int:pk>/",
        settings.reason_edit,
        name="settings_reason_edit",
    ),
    path(
        "settings/reasons/<str:kind>/<int:pk>/active/",
        settings.reason_active,
        name="settings_reason_active",
    ),
    path("settings/history/", settings.change_history, name="settings_history"),
]
