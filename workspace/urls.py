"""Not namespaced: "home" is the name LOGIN_REDIRECT_URL and the navigation reverse."""

from django.urls import path

from workspace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.settings_hub, name="settings"),
]
