"""Mounted by `crm.urls` under /settings/sign-in-protection/ (namespace `security`)."""

from django.urls import path

from crm.security import views

app_name = "security"

urlpatterns = [
    path("", views.login_protection, name="login_protection"),
    path("policy/", views.policy_edit, name="policy"),
    path("unlock/", views.unlock, name="unlock"),
]
