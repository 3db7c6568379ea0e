"""Browser routes for the AE's half: conversion wizard, deals, the board, approvals, and
RevOps' pipeline settings (stages, conversion policy)."""

from django.urls import path

from opportunities.views import board, bulk, convert, deals, inline, overrides, settings

app_name = "opportunities"

urlpatterns = [
    path("opportunities/", deals.opportunity_list, name="list"),
    path("opportunities/export/", deals.opportunity_export, name="export"),
    path("opportunities/bulk/", bulk.opportunity_bulk_run, name="bulk"),
    path("opportunities/bulk/bar/", bulk.opportunity_bulk_bar, name="bulk-bar"),
    path("opportunities/<int:pk>/", deals.opportunity_detail, name="detail"),
    path("opportunities/<int:pk>/edit/", deals.opportunity_edit, name="edit"),
    path("opportunities/<int:pk>/cell/<str:field>/", inline.opportunity_cell, name="cell"),
    path(
        "opportunities/<int:pk>/cell/<str:field>/edit/",
        inline.opportunity_cell_edit,
        name="cell-edit",
    ),
    path("opportunities/<int:pk>/stage/", deals.opportunity_stage, name="stage"),
    path("opportunities/<int:pk>/approval/", deals.opportunity_approval, name="approval"),
    path("opportunities/overrides/", overrides.override_list, name="overrides"),
    path(
        "opportunities/overrides/<int:pk>/decide/",
        overrides.override_decide,
        name="override-decide",
    ),
    path("pipeline/", board.pipeline_board, name="board"),
    path("pipeline/stages/<int:stage_id>/cards/", board.board_column, name="board-column"),
    path("leads/<int:pk>/convert/", convert.lead_convert, name="convert"),
    path("settings/stages/", settings.stage_list, name="settings-stages"),
    path("settings/stages/new/", settings.stage_new, name="settings-stage-new"),
    path("settings/stages/<int:pk>/", settings.stage_edit, name="settings-stage"),
    path("settings/stages/<int:pk>/move/", settings.stage_move, name="settings-stage-move"),
    path(
        "settings/conversion-policy/",
        settings.conversion_policy,
        name="settings-conversion-policy",
    ),
]
