"""A file past the size limit is refused with a field error on "file" (413), never a 500:
up front when the request's Content-Length says so (the body is not read), and by the
upload handler when the bytes run past the limit anyway (nothing more is read or kept)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.urls import reverse
from rest_framework.test import APIClient

from imports import files
from imports.models import ImportJob
from tests.imports.conftest import csv_bytes, sf_row

pytestmark = pytest.mark.django_db
LIMIT = 4_000
API = "/api/v1/imports/"


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(files, "MAX_BYTES", LIMIT)
    monkeypatch.setattr(files, "BODY_SLACK", 2_000)


def _file(size: int) -> SimpleUploadedFile:
    rows, content = [], b""
    while len(content) < size:
        rows.append(sf_row(len(rows)))
        content = csv_bytes(rows)
    return SimpleUploadedFile("big.csv", content[:size], content_type="text/csv")


@pytest.fixture
def parsed(monkeypatch) -> list[int]:
    """How many times a multipart body was parsed (read)."""
    calls: list[int] = []
    original = MultiPartParser.parse

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(MultiPartParser, "parse", counting)
    return calls


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _field_error(response) -> dict:
    (problem,) = response.json()["errors"]
    return problem


def test_api_refuses_a_declared_big_body_without_reading_it(revops, sdrs, parsed):
    response = _api(revops).post(API, {"file": _file(LIMIT + 3_000)}, format="multipart")
    assert response.status_code == 413
    assert _field_error(response)["code"] == "too_large"
    assert _field_error(response)["field"] == "file"
    assert parsed == [] and not ImportJob.objects.exists()


def test_api_stops_a_file_that_runs_past_the_limit(revops, sdrs, parsed):
    # within the slack for the multipart envelope: read, until the bytes pass the limit
    response = _api(revops).post(API, {"file": _file(LIMIT + 500)}, format="multipart")
    assert response.status_code == 413, response.json()
    assert (_field_error(response)["code"], _field_error(response)["field"]) == (
        "too_large",
        "file",
    )
    assert parsed == [1] and not ImportJob.objects.exists()


def test_api_takes_a_file_at_the_limit(revops, sdrs, django_capture_on_commit_callbacks):
    response = _api(revops).post(API, {"file": _file(LIMIT)}, format="multipart")
    assert response.status_code == 202, response.json()


def test_the_browser_form_says_the_file_is_too_large(client, revops, parsed):
    client.force_login(revops)
    url = reverse("imports:list")
    for size, reads in ((LIMIT + 3_000, 0), (LIMIT + 500, 1)):
        parsed.clear()
        response = client.post(url, {"file": _file(size)})
        assert response.status_code == 413
        assert len(parsed) == reads
        field_errors = response.context["form"].errors
        assert list(field_errors) == ["file"]
        assert field_errors["file"][0].startswith("The file is larger than")
        assert "The file is larger than" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_browser_form_still_checks_csrf(revops, sdrs):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(revops)
    response = client.post(reverse("imports:list"), {"file": _file(LIMIT)})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
