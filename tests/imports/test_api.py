"""The import API: 202 and the job on a good file (the run queued, here run eagerly), the
one JSON error shape for a broken file, a bad mapping or a role that may not import,
following a job, cancelling it, its error file."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from imports.models import ImportJob
from leads.models import Lead
from tests.factories import UserFactory
from tests.imports.conftest import csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _file(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("export.csv", content, content_type="text/csv")


def test_post_a_file_and_follow_the_job(revops, sdrs, django_capture_on_commit_callbacks):
    content = csv_bytes([sf_row(1), sf_row(2, Email="bad")])
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(revops).post(URL, {"file": _file(content)}, format="multipart")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["total"] == 2
    assert response["Location"].endswith(f"/api/v1/imports/{body['id']}/")
    assert {"header": "Email", "field": "email"} in body["columns"]
    job = _api(revops).get(f"{URL}{body['id']}/").json()
    assert (job["status"], job["processed"], job["created"], job["failed"]) == ("done", 2, 1, 1)
    assert job["error_file"].endswith(f"/api/v1/imports/{body['id']}/errors/")
    errors = _api(revops).get(job["error_file"])
    assert errors["Content-Type"].startswith("text/csv")
    assert "Email: Enter a valid email address." in b"".join(errors.streaming_content).decode()


def test_mapping_dry_run_and_defaults(revops, sdrs, django_capture_on_commit_callbacks):
    content = csv_bytes([["Acme", "Lee", "lee@acme.example"]], header=["Org", "Nom", "Courriel"])
    payload = {
        "file": _file(content),
        "mapping": json.dumps({"Org": "company_name", "Nom": "last_name", "Courriel": "email"}),
        "default_source": "partner",
        "dry_run": "true",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(revops).post(URL, payload, format="multipart")
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.dry_run) == ("done", 1, True)
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({}, "file", "required"),
        ({"file": b"%PDF-1.4"}, "file", "not_csv"),
        ({"file": b""}, "file", "empty"),
        ({"mapping": "{not json"}, "mapping", "invalid"),
        ({"mapping": json.dumps({"Nope": "email"})}, "mapping.Nope", "unknown_column"),
        ({"mapping": json.dumps({"Email": "salary"})}, "mapping.Email", "invalid_choice"),
        ({"mapping": json.dumps({"Company": ""})}, "company_name", "unmapped"),
        ({"date_format": "ymd"}, "date_format", "invalid_choice"),
        ({"on_duplicate": "merge"}, "on_duplicate", "invalid_choice"),
        ({"surprise": "1"}, "surprise", "unknown_field"),
    ],
)
def test_bad_requests_answer_400_naming_the_field(revops, payload, field, code):
    data = {"file": csv_bytes([sf_row(1)]), **payload}
    if isinstance(data.get("file"), bytes):
        data["file"] = _file(data["file"])
    elif "file" in payload:
        data.pop("file")
    if payload == {}:
        data.pop("file")
    response = _api(revops).post(URL, data, format="multipart")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    if code:
        assert code in [e["code"] for e in errors if e["field"] == field]
    assert not ImportJob.objects.exists()  # nothing half-made


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_may_not_import(role):
    response = _api(UserFactory(role=role)).post(
        URL, {"file": _file(csv_bytes([sf_row(1)]))}, format="multipart"
    )
    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert error["code"] == "permission_denied"
    # who may import, and who can open it to SDRs: not a bare "you may not"
    assert "RevOps and managers" in error["message"]
    # the setting that opens imports is named to the SDRs it concerns only
    assert ("import settings" in error["message"]) == (role == "sdr")


def test_anonymous_is_401():
    response = APIClient().get(URL)
    assert response.status_code == 401


def test_jobs_are_scoped(revops, manager):
    job = upload(revops, csv_bytes([sf_row(1)]))
    assert _api(manager).get(f"{URL}{job.pk}/").status_code == 404
    assert _api(manager).get(URL).json()["results"] == []
    assert [j["id"] for j in _api(revops).get(URL).json()["results"]] == [job.pk]


def test_cancel(revops):
    job = upload(revops, csv_bytes([sf_row(1)]))
    response = _api(revops).post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = _api(revops).post(f"{URL}{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "invalid_transition"


def test_a_large_upload_is_not_refused_by_the_body_limit(client, settings, revops):
    """The API refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE; the import endpoint takes
    files up to 200 MB."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    content = csv_bytes([sf_row(n) for n in range(100)])
    client.force_login(revops)
    big = client.post(URL, {"file": _file(content)})
    assert big.status_code == 202, big.content
    elsewhere = client.post("/api/v1/leads/", {"x": "y" * 2000})
    assert elsewhere.status_code == 413
