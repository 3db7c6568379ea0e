"""The platform pieces: defaults from migrations, health, broker and cache, deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from crm.celery import app as celery_app
from crm.tasks import heartbeat_task
from opportunities.models import ConversionPolicy, Stage
from reports.models import BenchmarkRange
from sla.models import SlaPolicy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_domain_defaults_are_rows_revops_can_edit():
    assert list(Stage.objects.values_list("name", flat=True)) == [
        "Discovery",
        "Qualification",
        "Present/Demo",
        "Proposal",
        "Negotiation",
        "Closed Won",
        "Closed Lost",
        "Post-sale",
    ]
    assert set(Stage.objects.filter(is_entry=True).values_list("name", flat=True)) == {
        "Discovery",
        "Qualification",
    }
    targets = {p.key: (p.target_value, p.target_unit) for p in SlaPolicy.objects.all()}
    assert targets["route-mql"] == (5, "minutes")
    assert targets["first-contact"] == (24, "hours")
    assert targets["accept-reject"] == (5, "business_days")
    assert targets["convert-after-discovery"] == (3, "days")
    ranges = {
        b.source: (int(b.low_percent), int(b.high_percent)) for b in BenchmarkRange.objects.all()
    }
    assert ranges == {
        "overall": (5, 20),
        "inbound": (15, 25),
        "outbound": (3, 10),
        "referral": (25, 40),
        "event": (8, 15),
    }
    policy = ConversionPolicy.current()
    assert (policy.close_window_min_days, policy.close_window_max_days) == (90, 180)


@pytest.mark.django_db
def test_health_reports_database_and_worker_heartbeat(client):
    heartbeat_task()
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["worker_heartbeat"] is not None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)")
def test_broker_and_cache_are_redis_when_configured():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
    cache.set("threshold:test", "round-trip", timeout=30)
    assert cache.get("threshold:test") == "round-trip"


def test_production_settings_pass_check_deploy():
    # The browser tests' conftest allows async-unsafe ORM calls in-process; a deployment never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret",
        "ALLOWED_HOSTS": "crm.example.com",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DEBUG": "0", "DJANGO_SETTINGS_MODULE": "crm.settings"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
