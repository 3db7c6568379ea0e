"""/health/: JSON always, 200 only when every dependency answers, 503 naming what is down."""

from __future__ import annotations

import datetime
import logging
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from crm.health import HEARTBEAT_KEY, OutboxBacklog, heartbeat_record
from crm.tasks import heartbeat_task
from tests.crm.private_redis import (  # noqa: F401 - fixtures
    blackhole,
    needs_redis_server,
    private_redis,
    use_production_redis,
)

pytestmark = pytest.mark.django_db

DEPENDENCIES = ("database", "cache", "broker", "worker")


@pytest.fixture(autouse=True)
def heartbeat_file(settings, tmp_path, monkeypatch):
    """Each test its own cache, broker folder and heartbeat file, so parallel tests (and a
    REDIS_URL shared by the suite) never see each other's beats; and no memory of what an
    earlier test's probe found. The Redis tests below replace cache and broker again."""
    monkeypatch.setattr("crm.health._last_seen", {})
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "h"}
    }
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
    }
    settings.THRESHOLD_HEARTBEAT_FILE = str(tmp_path / "worker-heartbeat")
    cache.delete(HEARTBEAT_KEY)
    return tmp_path / "worker-heartbeat"


def health(client) -> tuple[int, dict]:
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def test_all_well_is_200_naming_every_dependency(client):
    heartbeat_task()

    status, body = health(client)

    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert {name: body[name] for name in DEPENDENCIES} == dict.fromkeys(DEPENDENCIES, "ok")
    assert 0 <= body["worker_heartbeat_age_seconds"] < 60
    assert body["worker_heartbeat_max_age_seconds"] == 180  # three missed 60 s beats
    assert body["outbox"] == "ok" and (body["outbox_pending"], body["outbox_dead"]) == (0, 0)


def test_no_heartbeat_is_503_naming_the_worker(client):
    status, body = health(client)

    assert status == 503
    assert body["status"] == "degraded" and body["failing"] == ["worker"]
    assert body["worker"] == "no heartbeat" and body["worker_heartbeat"] is None
    assert body["database"] == body["cache"] == body["broker"] == "ok"
    # beat schedules the heartbeat, a worker runs it: the operator is told to check both.
    assert "celery beat" in body["worker_hint"] and "a worker runs it" in body["worker_hint"]


def test_a_heartbeat_older_than_three_beats_is_stale(client):
    heartbeat_record(at=timezone.now() - datetime.timedelta(minutes=4))

    status, body = health(client)

    assert status == 503 and body["failing"] == ["worker"]
    assert body["worker"] == "stale"
    assert 235 < body["worker_heartbeat_age_seconds"] < 250


def test_two_beats_ago_is_still_fresh(client):
    heartbeat_record(at=timezone.now() - datetime.timedelta(seconds=125))

    status, body = health(client)

    assert status == 200 and body["worker"] == "ok"


def test_the_heartbeat_file_answers_when_the_cache_has_none(client):
    heartbeat_task()
    cache.delete(HEARTBEAT_KEY)  # e.g. Redis restarted empty, or is down

    status, body = health(client)

    assert status == 200 and body["worker"] == "ok"


def test_the_newer_of_cache_and_file_counts(client, heartbeat_file):
    heartbeat_task()
    heartbeat_file.write_text((timezone.now() - datetime.timedelta(hours=1)).isoformat())

    status, body = health(client)

    assert status == 200 and body["worker_heartbeat_age_seconds"] < 60


def test_a_database_that_does_not_answer_is_503_json(client):
    heartbeat_task()
    with mock.patch("crm.health._database", side_effect=ConnectionError("refused")):
        status, body = health(client)

    assert status == 503 and body["failing"] == ["database"]
    assert body["database"] == "unavailable"


def test_a_broker_folder_that_is_gone_is_503_naming_the_broker(client, settings, tmp_path):
    heartbeat_task()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "missing"),
        "data_folder_out": str(tmp_path / "missing"),
    }

    status, body = health(client)

    assert status == 503 and body["failing"] == ["broker"]


def test_a_failing_probe_is_still_a_json_503(client):
    with mock.patch("crm.views.health_report", side_effect=RuntimeError("bug")):
        status, body = health(client)

    assert status == 503
    assert body["status"] == "degraded" and body["failing"] == ["health"]


def test_an_outbox_that_falls_behind_is_503_naming_it(client):
    heartbeat_task()
    behind = OutboxBacklog(pending=40, oldest_age_seconds=900.0, ok=False)
    with mock.patch("crm.health.outbox_backlog", return_value=behind):
        status, body = health(client)

    assert status == 503 and body["failing"] == ["outbox"]
    assert body["outbox"] == "backlogged"
    assert body["outbox_pending"] == 40 and body["outbox_oldest_age_seconds"] == 900.0


def test_a_dependency_down_for_many_probes_is_logged_once_and_once_back(client, caplog):
    heartbeat_task()
    caplog.set_level(logging.DEBUG)

    with mock.patch("crm.health._database", side_effect=ConnectionError("refused")):
        for _ in range(5):
            assert health(client)[0] == 503
    assert health(client)[0] == 200

    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name in ("crm.health", "django.request")
    ]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Health: database is unavailable (ConnectionError: refused")
    assert lines[1] == "Health: database is ok again (was unavailable)"


def test_health_is_anonymous_and_read_only(client):
    assert client.head("/health/").status_code in (200, 503)
    assert client.post("/health/").status_code == 405


# --- against a real Redis that goes away -------------------------------------------------


@needs_redis_server
def test_redis_down_is_503_naming_cache_and_broker_then_200_when_it_is_back(
    private_redis,  # noqa: F811
    client,
    settings,
    monkeypatch,
    heartbeat_file,
):
    use_production_redis(monkeypatch, settings, private_redis.url, heartbeat_file)
    heartbeat_task()
    status, body = health(client)
    assert status == 200, body
    assert body["cache"] == body["broker"] == "ok"

    # when Redis (cache and broker here) stops
    private_redis.stop()
    status, body = health(client)

    # then /health/ names both, and still reads the worker's beat from the file
    assert status == 503
    assert body["status"] == "degraded"
    assert body["failing"] == ["cache", "broker"]
    assert body["cache"] == body["broker"] == "unavailable"
    assert body["database"] == "ok" and body["worker"] == "ok"

    # when it is back and the worker beats again
    private_redis.start()
    heartbeat_task()
    status, body = health(client)

    assert status == 200, body
    assert body["failing"] == [] and body["worker_heartbeat_age_seconds"] < 60
    # the check found the cache back, so this process uses it again at once
    heartbeat_task()
    assert cache.get(HEARTBEAT_KEY) is not None


@needs_redis_server
def test_a_blackholed_redis_answers_503_within_the_timeouts(
    blackhole,  # noqa: F811
    client,
    settings,
    monkeypatch,
    heartbeat_file,
):
    use_production_redis(monkeypatch, settings, blackhole.url, heartbeat_file)
    heartbeat_record(at=timezone.now())

    started = time.monotonic()
    status, body = health(client)
    took = time.monotonic() - started

    assert status == 503 and body["failing"] == ["cache", "broker"]
    assert body["worker"] == "ok"
    # A bound against hanging (a blackholed socket waits forever without timeouts): the
    # cache's 0.5 s socket timeout plus the broker ping's 0.5 s, with room for a slow CI.
    assert took < 3.0, took
