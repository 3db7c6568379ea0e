"""Degraded, not dead: with Redis (cache or broker) unreachable, pages and the API answer.

Each test runs its own Redis (tests/crm/private_redis.py) with the cache, broker and API
throttles configured exactly as `crm/settings.py` configures them for REDIS_URL, stops
it, and checks what users and operators get.
"""

from __future__ import annotations

import datetime
import logging
import time
from unittest import mock

import pytest
from celery import Celery
from django.core import mail
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from crm import enqueue
from crm.enqueue import enqueue_now
from crm.health import heartbeat_last
from crm.models import IdempotencyRecord, OutboxMessage
from crm.outbox.relay import outbox_sweep
from crm.outbox.services import outbox_put
from crm.tasks import heartbeat_task
from reports.tasks import send_weekly_lead_feedback
from tests.crm.private_redis import (  # noqa: F401 - fixtures
    blackhole,
    needs_redis_server,
    private_redis,
    use_production_redis,
)
from tests.factories import ConvertibleLeadFactory, LeadFactory, UserFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = [pytest.mark.django_db]

ROLES = ["revops", "manager", "sdr", "ae"]
# Bounds against hanging, not speed targets: without socket timeouts these calls wait
# for as long as the dead connection stays open (minutes).
HANG = 5.0


@pytest.fixture(autouse=True)
def fresh_broker_outage(monkeypatch):
    """Each test starts with no broker outage on record (the log says the first refusal)."""
    monkeypatch.setattr(enqueue, "outage", enqueue._Outage())


@pytest.fixture
def redis_cache(private_redis, settings, monkeypatch, tmp_path):  # noqa: F811
    """The private Redis as cache, broker and throttle store, as production sets it up."""
    use_production_redis(monkeypatch, settings, private_redis.url, tmp_path / "heartbeat")
    return private_redis


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def cache_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "crm.cache_guard" and r.levelno >= logging.WARNING
    ]


# --- the cache ---------------------------------------------------------------------------


@needs_redis_server
def test_throttles_keep_their_history_in_redis_while_it_answers(redis_cache, sdr):
    LeadFactory(owner=sdr)

    assert api_client(sdr).get("/api/v1/leads/").status_code == 200

    assert any(b"throttle" in key for key in redis_cache.client().keys("*"))


@needs_redis_server
@pytest.mark.parametrize("role", ROLES)
def test_api_answers_with_the_cache_down(redis_cache, role, request):
    user = request.getfixturevalue(role)
    LeadFactory(owner=user)
    client = api_client(user)
    redis_cache.stop()

    response = client.get("/api/v1/leads/")

    assert response.status_code == 200, response.content[:300]
    assert "results" in response.json()


@needs_redis_server
def test_anonymous_api_and_token_login_answer_with_the_cache_down(redis_cache, sdr):
    redis_cache.stop()
    anonymous = APIClient()

    assert anonymous.get("/api/v1/leads/").status_code == 401
    token = anonymous.post(
        "/api/v1/auth/token/", {"username": "sdr", "password": "pw-for-tests-1"}, format="json"
    )
    assert token.status_code == 200, token.content[:300]


@needs_redis_server
@pytest.mark.parametrize("role", ROLES)
def test_pages_answer_with_the_cache_down(redis_cache, client, role, request):
    user = request.getfixturevalue(role)
    lead = LeadFactory(owner=user)
    client.force_login(user)
    redis_cache.stop()

    assert client.get("/").status_code == 200
    assert client.get("/leads/").status_code == 200
    if role == "sdr":
        assert client.get(f"/leads/{lead.pk}/").status_code == 200


@needs_redis_server
def test_one_warning_per_outage_and_one_when_it_is_over(redis_cache, settings, sdr, caplog):
    options = settings.CACHES["default"]["OPTIONS"]
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "OPTIONS": {**options, "fail_open_retry_after": 0.2},
        }
    }
    client = api_client(sdr)
    caplog.set_level(logging.INFO)
    redis_cache.stop()

    for _ in range(10):
        assert client.get("/api/v1/leads/").status_code == 200
        time.sleep(0.03)  # some requests land after the retry interval: still one line

    warnings = cache_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "unreachable" in warnings[0] and "failing open" in warnings[0]

    redis_cache.start()
    time.sleep(0.25)
    assert client.get("/api/v1/leads/").status_code == 200

    warnings = cache_warnings(caplog)
    assert len(warnings) == 2 and "answers again" in warnings[1], warnings
    assert any(b"throttle" in key for key in redis_cache.client().keys("*"))


@needs_redis_server
def test_a_blackholed_cache_costs_a_timeout_not_a_hang(
    settings,
    monkeypatch,
    tmp_path,
    blackhole,  # noqa: F811
    sdr,
):
    use_production_redis(monkeypatch, settings, blackhole.url, tmp_path / "heartbeat")
    client = api_client(sdr)

    started = time.monotonic()
    first = client.get("/api/v1/leads/")
    then = [client.get("/api/v1/leads/").status_code for _ in range(5)]
    took = time.monotonic() - started

    assert first.status_code == 200 and then == [200] * 5
    # One socket timeout (0.5 s), then the circuit skips Redis for the next requests.
    assert took < HANG, took


@needs_redis_server
def test_heartbeat_is_kept_in_a_file_while_the_cache_is_down(redis_cache, settings):
    redis_cache.stop()

    heartbeat_task()

    beat = heartbeat_last()
    assert beat is not None
    assert (datetime.datetime.now(datetime.UTC) - beat).total_seconds() < 60


@needs_redis_server
def test_weekly_feedback_is_sent_not_skipped_with_the_cache_down(redis_cache, settings):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    redis_cache.stop()

    sent = send_weekly_lead_feedback(now=datetime.datetime(2026, 4, 13, 7, tzinfo=datetime.UTC))

    assert sent is True
    assert [m.to for m in mail.outbox] == [["marketing@example.com"]]


# --- the broker ---------------------------------------------------------------------------


def celery_on(url: str, production: dict) -> Celery:
    """A Celery app publishing to `url` with production's broker options."""
    app = Celery("threshold-test", broker=url, set_as_current=False)
    app.conf.broker_transport_options = production["CELERY_BROKER_TRANSPORT_OPTIONS"]
    app.conf.task_publish_retry_policy = production["CELERY_TASK_PUBLISH_RETRY_POLICY"]
    return app


def _noop(**kwargs) -> None:
    """The body of the stand-in tasks: only the publish is under test."""


@needs_redis_server
def test_a_task_queued_while_the_broker_answers_is_in_redis(
    private_redis,  # noqa: F811
    settings,
    monkeypatch,
    tmp_path,
):
    production = use_production_redis(monkeypatch, settings, private_redis.url, tmp_path / "hb")
    app = celery_on(private_redis.url, production)
    task = app.task(name="crm.tasks.heartbeat_task")(_noop)

    assert enqueue_now(task) is True
    assert private_redis.client().llen("celery") == 1


@needs_redis_server
def test_a_task_the_broker_refuses_is_logged_not_raised(
    private_redis,  # noqa: F811
    settings,
    monkeypatch,
    tmp_path,
    caplog,
):
    production = use_production_redis(monkeypatch, settings, private_redis.url, tmp_path / "hb")
    app = celery_on(private_redis.url, production)
    task = app.task(name="crm.tasks.send_notification_email_task")(_noop)
    private_redis.stop()

    started = time.monotonic()
    queued = enqueue_now(task, to="ceo@example.com", subject="s", body="b")

    assert queued is False
    assert time.monotonic() - started < HANG
    [line] = [r.getMessage() for r in caplog.records if r.name == "crm.enqueue"]
    assert "send_notification_email_task(body, subject, to) was NOT queued" in line
    assert "ceo@example.com" not in line  # names only: values may be personal data


@needs_redis_server
def test_publishing_to_a_blackholed_broker_times_out(
    settings,
    monkeypatch,
    tmp_path,
    blackhole,  # noqa: F811
):
    production = use_production_redis(monkeypatch, settings, blackhole.url, tmp_path / "hb")
    app = celery_on(blackhole.url, production)
    task = app.task(name="crm.tasks.heartbeat_task")(_noop)

    started = time.monotonic()
    assert enqueue_now(task) is False
    # Without the transport's socket timeouts this publish waits forever.
    assert time.monotonic() - started < 2 * HANG


def test_the_outbox_hand_off_does_not_raise_after_the_commit(
    django_capture_on_commit_callbacks, caplog
):
    with (
        mock.patch("celery.app.task.Task.apply_async", side_effect=OperationalError("down")),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        outbox_put(heartbeat_task, key="test:heartbeat")
        outbox_put(heartbeat_task, key="test:heartbeat-2")

    assert len(callbacks) == 2
    refusals = [r for r in caplog.records if r.name == "crm.enqueue"]
    assert [r.levelname for r in refusals] == ["WARNING"], "logged once per outage"
    assert "outbox_relay_task(keys) was NOT queued" in refusals[0].getMessage()
    assert "sweep delivers" in refusals[0].getMessage()
    assert OutboxMessage.objects.pending().count() == 2  # nothing lost: the sweep has them


def test_a_conversion_committed_while_the_broker_is_down_is_not_an_error(
    django_capture_on_commit_callbacks, settings
):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    boss = UserFactory(manager=True, username="boss")
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss
    lead.ae.save()
    client = api_client(lead.ae)
    url = f"/api/v1/leads/{lead.pk}/convert/"
    body = wizard_input(lead, amount="250000")

    with (
        mock.patch("celery.app.task.Task.apply_async", side_effect=OperationalError("down")),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="convert-once")
    # (the test client's transaction runs the after-commit callbacks here, on exit)

    assert response.status_code == 201, response.content[:300]
    assert callbacks, "the conversion hands its e-mails to the broker after the commit"
    assert mail.outbox == []  # the broker refused: delayed, not lost
    assert IdempotencyRecord.objects.get(key="convert-once").state == "done"
    assert OutboxMessage.objects.pending().count() == 2  # marketing and the manager

    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="convert-once")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == response.json()

    outbox_sweep()  # the broker is back, or only beat runs
    assert sorted(m.to[0] for m in mail.outbox) == [boss.email, "marketing@example.com"]
    outbox_sweep()
    assert len(mail.outbox) == 2
