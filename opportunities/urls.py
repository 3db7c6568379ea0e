"""Browser routes for the AE's half: conversion wizard, deals, the board, approvals."""

from django.urls import path

from opportunities.views import board, convert, deals, overrides

app_name = "opportunities"

urlpatterns = [
    path("opportunities/", deals.opportunity_list, name="list"),
    path("opportunities/<int:pk>/", deals.opportunity_detail, name="detail"),
    path("opportunities/<int:pk>/edit/", deals.opportunity_edit, name="edit"),
    path("opportunities/<int:pk>/stage/", deals.opportunity_stage, name="stage"),
    path("opportunities/<int:pk>/approval/", deals.opportunity_approval, name="approval"),
    path("opportunities/overrides/", overrides.override_list, name="overrides"),
    path(
        "opportunities/overrides/<int:pk>/decide/",
        overrides.override_decide,
        name="override-decide",
    ),
    path("pipeline/", board.pipeline_board, name="board"),
    path("leads/<int:pk>/convert/", convert.lead_convert, name="convert"),
]
