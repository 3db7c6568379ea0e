"""The transactional outbox: side effects are rows written with their change and delivered
after it — at least once, with retries, and once per delivery key.

A broker outage at a commit delays e-mail and never loses it, never turns the committed
change into an error, and keeps the idempotency record so a replay gets the first answer.
"""

from __future__ import annotations

import ast
import datetime
import threading
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from crm import enqueue
from crm.health import outbox_backlog
from crm.models import IdempotencyRecord, Notification, OutboxMessage
from crm.outbox import relay
from crm.outbox.relay import MAX_ATTEMPTS, backoff, outbox_deliver, outbox_purge, outbox_sweep
from crm.outbox.services import outbox_put, outbox_retry
from crm.services import notify
from crm.tasks import heartbeat_task, notification_email_task
from leads.models import Lead
from opportunities.models import Opportunity
from tests.factories import ConvertibleLeadFactory, UserFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
BROKER_DOWN = mock.patch(
    "celery.app.task.Task.apply_async", side_effect=OperationalError("Connection refused")
)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def fresh_broker_outage(monkeypatch):
    monkeypatch.setattr(enqueue, "outage", enqueue._Outage())


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def notify_by_email(*people, message="Approve Kopi Kita: 250,000 USD") -> list[Notification]:
    return notify(recipients=people, kind="approval", message=message, url="/x/", email=True)


def large_conversion() -> tuple[Lead, dict, object]:
    """A lead whose conversion e-mails marketing and the AE's manager (a large deal)."""
    boss = UserFactory(manager=True, username="boss")
    lead = ConvertibleLeadFactory()
    lead.ae.manager = boss
    lead.ae.save()
    return lead, wizard_input(lead, amount="250000"), boss


# --- written with the change ---------------------------------------------------------------


def test_effects_are_written_in_the_transaction_and_go_with_its_rollback(sdr, revops):
    written = []

    def change_that_fails() -> None:
        with transaction.atomic():
            notify_by_email(sdr, revops)
            written.append(OutboxMessage.objects.count())
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert written == [2]  # one row per recipient, in the transaction

    assert not OutboxMessage.objects.exists()
    outbox_sweep()
    assert mail.outbox == []


def test_after_the_commit_the_hand_off_delivers_at_once(sdr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [notification] = notify_by_email(sdr)

    assert len(callbacks) == 1
    [sent] = mail.outbox
    assert sent.to == [sdr.email] and sent.subject.startswith("Approve Kopi Kita")
    assert sent.body.endswith("/x/")
    row = OutboxMessage.objects.get()
    assert row.delivery_key == f"notification-email:{notification.pk}"
    assert row.payload == {"notification_id": notification.pk}  # ids, not addresses
    assert (row.state, row.attempts) == ("delivered", 1)


def test_people_without_an_address_get_no_outbox_row(sdr):
    sdr.email = ""
    sdr.save()

    notify_by_email(sdr)

    assert Notification.objects.filter(recipient=sdr).count() == 1
    assert not OutboxMessage.objects.exists()


def test_the_same_delivery_key_is_written_and_sent_once(sdr):
    [notification] = notify_by_email(sdr)
    outbox_put(
        notification_email_task,
        key=f"notification-email:{notification.pk}",
        notification_id=notification.pk,
    )

    assert OutboxMessage.objects.count() == 1
    assert outbox_sweep().delivered == 1
    assert outbox_deliver([f"notification-email:{notification.pk}"]).skipped == 1
    assert len(mail.outbox) == 1


def test_marketing_hears_each_lead_change_once(sdr, settings):
    from leads import services as lead_services
    from tests.factories import LeadFactory

    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    lead = LeadFactory(owner=sdr)

    lead_services.lead_accept(lead_id=lead.pk, by=sdr, reason="Fits")

    row = OutboxMessage.objects.get(kind="leads.tasks.marketing_feedback_task")
    lead.refresh_from_db()
    assert row.delivery_key == f"marketing-feedback:lead-{lead.pk}-v{lead.version}"
    assert row.payload["lead_id"] == lead.pk
    outbox_sweep()
    outbox_sweep()
    [sent] = mail.outbox
    assert sent.to == ["marketing@example.com"] and "accepted by sales" in sent.subject


# --- the broker is down at the commit ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_broker_down_at_a_conversions_commit_delays_the_emails_and_loses_nothing(settings, caplog):
    """Real commits (a transactional test): the after-commit hand-off runs inside the
    request, as in production, and the broker refuses it."""
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    lead, body, boss = large_conversion()
    client = api_client(lead.ae)
    url = f"/api/v1/leads/{lead.pk}/convert/"

    with BROKER_DOWN:
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    # the conversion is committed and the client is told so
    assert response.status_code == 201, response.content[:300]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert Opportunity.objects.filter(pk=response.json()["id"]).exists()
    # the e-mails wait in the outbox; the refusal is one warning, not an error
    assert mail.outbox == []
    pending = OutboxMessage.objects.pending()
    assert sorted(pending.values_list("kind", flat=True)) == [
        "crm.tasks.notification_email_task",
        "leads.tasks.marketing_feedback_task",
    ]
    refusals = [r for r in caplog.records if r.name == "crm.enqueue"]
    assert [r.levelname for r in refusals] == ["WARNING"]
    # the idempotency record is kept: a retry gets the first answer, not a second run
    assert IdempotencyRecord.objects.get(key="k-1").state == IdempotencyRecord.State.DONE
    with BROKER_DOWN:
        replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == response.json()
    assert Opportunity.objects.count() == 1

    # beat's sweep runs (the broker is back, or only beat is): each e-mail goes out once
    assert outbox_sweep().delivered == 2
    assert sorted(m.to[0] for m in mail.outbox) == [boss.email, "marketing@example.com"]
    assert outbox_sweep().delivered == 0
    assert len(mail.outbox) == 2
    assert not OutboxMessage.objects.pending().exists()


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_commit_keeps_the_answer_for_replays(caplog):
    """Whatever fails after the commit, the committed change's answer is stored and
    returned: the request is not a 500 and the record is not deleted."""
    lead, body, _boss = large_conversion()
    client = api_client(lead.ae)
    url = f"/api/v1/leads/{lead.pk}/convert/"

    with mock.patch("crm.outbox.services.hand_off", side_effect=RuntimeError("after commit")):
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 201, response.content[:300]
    assert "after-commit step" in caplog.text
    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert replay.status_code == 201 and replay.json() == response.json()
    outbox_sweep()
    assert len(mail.outbox) == 2  # the hand-off never ran; the sweep delivered


@pytest.mark.django_db(transaction=True)
def test_a_request_that_did_not_commit_gives_its_key_back():
    lead, body, _boss = large_conversion()
    client = api_client(lead.ae)
    url = f"/api/v1/leads/{lead.pk}/convert/"
    client.raise_request_exception = False

    with mock.patch("opportunities.selectors.api_opportunity", side_effect=RuntimeError("crash")):
        crashed = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    assert crashed.status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()
    assert not Opportunity.objects.exists()  # rolled back with the answer
    assert not OutboxMessage.objects.exists()
    retried = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


# --- retries, backoff, dead letters --------------------------------------------------------


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [
        MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        8 * MINUTE,
        60 * MINUTE,
        60 * MINUTE,
        60 * MINUTE,
    ]


def test_a_failing_handler_is_retried_with_backoff_then_kept_as_a_dead_letter(sdr):
    notify_by_email(sdr)
    now = timezone.now()

    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("SMTP down")):
        assert outbox_sweep(now=now).failed == 1
        row = OutboxMessage.objects.get()
        assert (row.attempts, row.state) == (1, "pending")
        assert row.last_error == "OSError: SMTP down"
        assert row.available_at == now + MINUTE
        assert outbox_sweep(now=now + MINUTE / 2).skipped == 0  # not due: not even looked at
        assert OutboxMessage.objects.get().attempts == 1

        at = now
        for attempt in range(2, MAX_ATTEMPTS + 1):
            at += backoff(attempt - 1)
            result = outbox_sweep(now=at)
        assert result.dead == 1

    row = OutboxMessage.objects.get()
    assert (row.attempts, row.state) == (MAX_ATTEMPTS, "dead")
    assert outbox_sweep(now=at + datetime.timedelta(days=1)).delivered == 0  # left alone
    assert mail.outbox == []

    assert outbox_retry(ids=[row.pk]) == 1
    assert outbox_sweep().delivered == 1
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.state == "delivered" and row.last_error == "OSError: SMTP down"


def test_an_unknown_handler_is_a_recorded_failure_not_a_crash():
    outbox_put("crm.tasks.no_such_task", key="test:unknown")

    assert outbox_sweep().failed == 1
    assert "No task is registered" in OutboxMessage.objects.get().last_error


def test_a_handlers_own_writes_roll_back_when_it_fails(sdr):
    def write_then_fail(**_kwargs):
        Notification.objects.create(recipient=sdr, kind="approval", message="half done")
        raise OSError("then fails")

    outbox_put(heartbeat_task, key="test:half")
    with mock.patch.object(relay, "handler_for", return_value=write_then_fail):
        assert outbox_sweep().failed == 1

    assert not Notification.objects.filter(message="half done").exists()
    assert OutboxMessage.objects.get().attempts == 1


def test_the_sweep_takes_the_oldest_due_rows_first_up_to_its_limit(sdr, revops, manager):
    notify_by_email(sdr)
    notify_by_email(revops)
    notify_by_email(manager)

    assert outbox_sweep(limit=2).delivered == 2
    assert [m.to for m in mail.outbox] == [[sdr.email], [revops.email]]
    assert outbox_sweep(limit=2).delivered == 1


def test_delivered_rows_are_purged_after_a_week_undelivered_never(sdr, revops):
    notify_by_email(sdr)
    outbox_sweep()
    notify_by_email(revops)

    assert outbox_purge(now=timezone.now() + datetime.timedelta(days=6)) == 0
    assert outbox_purge(now=timezone.now() + datetime.timedelta(days=8)) == 1
    assert OutboxMessage.objects.pending().count() == 1


# --- /health/ -------------------------------------------------------------------------------


def test_health_counts_the_backlog_and_its_oldest_age(sdr):
    assert outbox_backlog().ok and outbox_backlog().pending == 0
    notify_by_email(sdr)
    later = timezone.now() + datetime.timedelta(minutes=5)

    fresh = outbox_backlog(now=later)
    assert (fresh.pending, fresh.dead, fresh.ok) == (1, 0, True)
    assert 299 < fresh.oldest_age_seconds < 302

    behind = outbox_backlog(now=later + datetime.timedelta(minutes=6))
    assert behind.ok is False and behind.pending == 1


def test_health_is_503_while_an_outbox_row_waits_too_long_or_is_dead(client, sdr):
    heartbeat_task()
    notify_by_email(sdr)
    OutboxMessage.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=11))

    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 503 and "outbox" in body["failing"]
    assert body["outbox"] == "backlogged" and body["outbox_pending"] == 1
    assert body["outbox_oldest_age_seconds"] > 600

    OutboxMessage.objects.update(dead_at=timezone.now(), attempts=MAX_ATTEMPTS)
    body = client.get("/health/").json()
    assert body["outbox"] == "dead letters" and body["outbox_dead"] == 1
    assert body["outbox_pending"] == 0

    outbox_retry(ids=OutboxMessage.objects.values_list("pk", flat=True))
    outbox_sweep()
    body = client.get("/health/").json()
    assert body["outbox"] == "ok" and "outbox" not in body["failing"]


# --- the admin --------------------------------------------------------------------------------


def test_staff_see_dead_letters_in_the_admin_and_retry_them(
    client, sdr, django_capture_on_commit_callbacks
):
    admin = UserFactory(admin=True, username="root")
    notify_by_email(sdr)
    row = OutboxMessage.objects.get()
    OutboxMessage.objects.update(dead_at=timezone.now(), attempts=MAX_ATTEMPTS, last_error="x")
    client.force_login(admin)
    changelist = reverse("admin:crm_outboxmessage_changelist")

    listing = client.get(changelist, {"state": "dead"})
    assert listing.status_code == 200 and row.delivery_key in listing.content.decode()
    change_url = reverse("admin:crm_outboxmessage_change", args=[row.pk])
    assert client.get(change_url).status_code == 200
    assert client.get(reverse("admin:crm_outboxmessage_add")).status_code == 403
    assert client.post(change_url, {"kind": "other"}).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(
            changelist, {"action": "retry_now", "_selected_action": [row.pk]}, follow=True
        )
    assert retried.status_code == 200
    row.refresh_from_db()
    assert row.state == "delivered"  # handed off after the retry's commit (eager here)
    assert [m.to for m in mail.outbox] == [[sdr.email]]
    assert LogEntry.objects.filter(object_id=str(row.pk)).exists()


@pytest.mark.parametrize("role", ["revops", "manager", "sdr", "ae"])
def test_people_who_are_not_staff_do_not_reach_the_outbox_admin(client, role, request):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:crm_outboxmessage_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- every side effect goes through it ----------------------------------------------------------

PRODUCT_APPS = ("crm", "leads", "opportunities", "sla", "reports", "workspace", "demo")
# Only the outbox hands work to the broker after a commit, and only `crm.enqueue` publishes.
ALLOWED = {"crm/outbox/services.py", "crm/enqueue.py", "crm/idempotency.py"}


def _calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"delay", "apply_async", "on_commit"}
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}(")
    return found


def test_no_side_effect_is_queued_after_a_commit_outside_the_outbox():
    offenders = [
        call
        for app in PRODUCT_APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in ALLOWED
        for call in _calls(path)
    ]

    assert offenders == []


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_deliver_each_row_once():
    """Four sweepers and an after-commit relay at once on 40 rows the broker did not
    take: 40 e-mails, one each."""
    people = [UserFactory(sdr=True, username=f"p{i}") for i in range(40)]
    with BROKER_DOWN, transaction.atomic():
        for person in people:
            notify_by_email(person)
    keys = list(OutboxMessage.objects.values_list("delivery_key", flat=True))
    assert len(keys) == 40 and mail.outbox == []
    barrier = threading.Barrier(5)
    errors: list[Exception] = []

    def run(job) -> None:
        try:
            barrier.wait()
            job()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    jobs = [outbox_sweep] * 4 + [lambda: outbox_deliver(keys)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    assert OutboxMessage.objects.filter(attempts=1, delivered_at__isnull=False).count() == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_skips_a_row_another_relay_holds():
    person = UserFactory(sdr=True, username="held")
    with BROKER_DOWN, transaction.atomic():
        notify_by_email(person)
    row = OutboxMessage.objects.get()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(pk=row.pk))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        assert outbox_sweep().skipped == 1  # not waited for
    finally:
        release.set()
        holder.join()
    assert outbox_sweep().delivered == 1
    assert [m.to for m in mail.outbox] == [[person.email]]
