"""A manager imports a CSV export in a real browser: uploads it, maps the one column the
automatic mapping did not recognise, previews, starts, watches the progress bar (htmx
polling the job row) climb to 100 %, and downloads the error file of the failed rows.

The run goes to a worker thread here, a batch of two rows at a time with a pause between
batches, so the bar is seen moving: the page polls the job row exactly as it does for a
Celery worker (tests otherwise run Celery tasks eagerly, inside the request)."""

from __future__ import annotations

import csv
import importlib
import io
import threading
import time
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connection
from playwright.sync_api import Page, expect

from imports import run as run_module
from imports import services as import_services
from leads.models import Lead
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.e2e

HEADER = ["First Name", "Last Name", "Company", "Email", "Lead Source", "Handphone"]
ROWS = [
    ["Ana", "Pérez", "PT Nusantara", "ana@nusantara.example", "Web", "+62 811 1"],
    ["Budi", "Santoso", "", "budi@example.example", "Trade Show", "+62 811 2"],
    ["Chen", "Tan", "Tan Logistics", "chen@tan.example", "Webinar", "+62 811 3"],
    ["Dewi", "Lestari", "Lestari Co", "not-an-email", "Web", "+62 811 4"],
    ["Eko", "Wijaya", "Wijaya Group", "eko@wijaya.example", "Partner Referral", "+62 811 5"],
    ["Fatima", "Nur", "Nur Trading", "fatima@nur.example", "Web", "+62 811 6"],
]


@pytest.fixture
def people(transactional_db, pipeline_stages) -> dict[str, object]:
    importlib.import_module("sla.migrations.0002_default_policies").create(django_apps, None)
    boss = UserFactory(manager=True, username="mira", first_name="Mira", last_name="Santoso")
    team = TeamFactory(name="Jakarta Inbound", manager=boss)
    UserFactory(sdr=True, username="dewi", first_name="Dewi", last_name="Lestari", team=team)
    UserFactory(sdr=True, username="ayu", first_name="Ayu", last_name="Putri", team=team)
    return {"boss": boss}


@pytest.fixture
def slow_worker(monkeypatch):
    """`import_start` hands the run to a thread, as the broker hands it to a worker."""
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    original = run_module._run_batch

    def paced(*args, **kwargs):
        time.sleep(0.8)
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", paced)

    def queue(job_id):
        def work():
            try:
                run_module.import_run(job_id=job_id)
            finally:
                connection.close()

        threading.Thread(target=work, daemon=True).start()

    monkeypatch.setattr(import_services, "queue_run", queue)


def _csv() -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(ROWS)
    return text.getvalue().encode()


def test_import_a_file_map_a_column_watch_it_run_and_get_the_error_file(
    page: Page, live_server, login, screenshot, people, slow_worker, tmp_path: Path
):
    login(page, live_server, people["boss"])
    page.goto(f"{live_server.url}/leads/")
    page.get_by_test_id("import-leads").click()
    expect(page.get_by_role("heading", name="Import leads", level=1)).to_be_visible()

    upload = tmp_path / "hubspot-export.csv"
    upload.write_bytes(_csv())
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_test_id("upload-button").click()

    # the mapping step: the export's headers are recognised, "Handphone" is not
    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value("email")
    handphone = page.get_by_label("Handphone")
    expect(handphone).to_have_value("")
    handphone.select_option("phone")
    page.get_by_test_id("preview-button").click()
    preview = page.get_by_test_id("preview")
    expect(preview.locator("[data-outcome=failed]")).to_have_count(2)
    expect(preview).to_contain_text("Enter the company name.")
    expect(page.get_by_label("Handphone")).to_have_value("phone")  # the choice is kept
    screenshot(page, "mapping")

    page.get_by_test_id("start-button").click()
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", "running", timeout=15_000)
    expect(page.get_by_test_id("progress-percent")).not_to_have_text("100 %")
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %", timeout=30_000)
    expect(progress).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("count-created")).to_have_text("4")
    expect(page.get_by_test_id("count-failed")).to_have_text("2")
    screenshot(page, "done")

    with page.expect_download() as download:
        page.get_by_test_id("error-file").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "Row", "Problems"]
    # as uploaded, made spreadsheet-safe: a cell starting with "+" could be a formula
    assert [row[:6] for row in rows[1:]] == [
        [*ROWS[1][:5], "'+62 811 2"],
        [*ROWS[3][:5], "'+62 811 4"],
    ]
    assert "Company: Enter the company name." in rows[1][-1]
    assert "Email: Enter a valid email address." in rows[2][-1]
    assert Lead.objects.filter(phone="+62 811 1", owner__isnull=False).exists()
