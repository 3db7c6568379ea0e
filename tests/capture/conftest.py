"""Capture fixtures: a cache of each test's own (rate-limit counters never leak between
tests or parallel workers), a web form made through the service, API clients by role."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from capture.models import WebForm
from capture.services.forms import web_form_create
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def own_cache(settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"capture-{uuid.uuid4()}",
        }
    }


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def as_role(db) -> Callable[[str], APIClient]:
    return lambda role: client_for(UserFactory(**{role: True}))


@pytest.fixture
def make_form(revops) -> Callable[..., WebForm]:
    def _make(**data: Any) -> WebForm:
        values = {"name": f"Form {uuid.uuid4().hex[:6]}"} | data
        return web_form_create(by=revops, data=values)

    return _make


@pytest.fixture
def web_form(make_form) -> WebForm:
    return make_form(
        name="Demo request – website",
        fields=["first_name", "last_name", "email", "company_name", "job_title", "country"],
        source="inbound",
        campaign="Website demo",
        thank_you_message="Thanks! An expert will call you within a day.",
    )


LEAD = {
    "first_name": "Ana",
    "last_name": "Pérez",
    "email": "ana@acme.example",
    "company_name": "Acme Logistics",
    "job_title": "Head of Ops",
}
