"""Browser routes under /sla/: the overview for managers and RevOps, RevOps' editors."""

from django.urls import path

from sla import list_views, views

app_name = "sla"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clocks/", list_views.timer_list, name="clocks"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new/", views.policy_new, name="policy_new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_new, name="calendar_new"),
    path("calendars/<int:pk>/", views.calendar_edit, name="calendar"),
    path("calendars/<int:pk>/holidays/", views.calendar_holiday_add, name="holiday_add"),
    path(
        "calendars/<int:pk>/holidays/<int:holiday_pk>/delete/",
        views.calendar_holiday_delete,
        name="holiday_delete",
    ),
]
