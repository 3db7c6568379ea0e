"""Browser routes for the AE's half: conversion wizard, deals, the board, approvals."""

from django.urls import path

from opportunities import views

app_name = "opportunities"

urlpatterns = [
    path("opportunities/", views.opportunity_list, name="list"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("opportunities/<int:pk>/stage/", views.opportunity_stage, name="stage"),
    path("opportunities/<int:pk>/approval/", views.opportunity_approval, name="approval"),
    path("opportunities/overrides/", views.override_list, name="overrides"),
    path("opportunities/overrides/<int:pk>/decide/", views.override_decide, name="override-decide"),
    path("pipeline/", views.pipeline_board, name="board"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="convert"),
]
