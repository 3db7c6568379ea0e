"""An outbox e-mail sent twice is the same message twice: it carries its delivery key.

Found by the fault suite (`make faults`): PostgreSQL restarted while the relay was sending
a marketing e-mail; the server had the message, the row's COMMIT was lost, the next sweep
sent it again — two messages with nothing to tell the receiver they were one. The relay
delivers at least once by design; the receiver now drops the copy by its Message-ID (the
same for every attempt) or by `X-Threshold-Delivery-Key`.
"""

from __future__ import annotations

import pytest
from django.core import mail

from crm.models import OutboxMessage
from crm.outbox.mail import DELIVERY_KEY_HEADER, send_mail
from crm.outbox.relay import outbox_sweep
from crm.services import notify
from leads import services as lead_services
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _send_again_as_after_a_lost_commit(key: str) -> None:
    OutboxMessage.objects.filter(delivery_key=key).update(delivered_at=None)
    assert outbox_sweep().delivered == 1


def test_a_notification_email_sent_again_is_the_same_message(sdr, revops):
    [bell] = notify(recipients=[sdr], kind="approval", message="Approve it", url="/x/", email=True)
    key = f"notification-email:{bell.pk}"
    assert outbox_sweep().delivered == 1
    _send_again_as_after_a_lost_commit(key)

    first, again = mail.outbox
    assert first.extra_headers[DELIVERY_KEY_HEADER] == key
    assert first.message()["Message-ID"] == again.message()["Message-ID"]
    assert first.message()["Message-ID"].endswith("@localhost>")  # DEFAULT_FROM_EMAIL's domain


def test_marketing_feedback_names_its_delivery_key_and_differs_from_other_keys(sdr, settings):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    lead = LeadFactory(owner=sdr)
    lead_services.lead_accept(lead_id=lead.pk, by=sdr, reason="Fits")
    notify(recipients=[sdr], kind="approval", message="Approve it", url="/x/", email=True)
    outbox_sweep()

    keys = {m.extra_headers[DELIVERY_KEY_HEADER] for m in mail.outbox}
    assert keys == set(OutboxMessage.objects.values_list("delivery_key", flat=True))
    assert len({m.message()["Message-ID"] for m in mail.outbox}) == 2


def test_outside_the_relay_it_is_plain_send_mail():
    assert send_mail("Hello", "Body", None, ["a@example.com"]) == 1
    [sent] = mail.outbox
    assert DELIVERY_KEY_HEADER not in sent.extra_headers
    assert sent.to == ["a@example.com"]
