"""E-mail sent by an outbox handler carries its delivery key, so the receiver sees it once.

The relay delivers at least once: a process that dies — or a database that goes away —
after the mail server accepted a message and before the row's COMMIT sends that message
again on the next attempt. The fault suite (`make faults`, PostgreSQL restarted while the
relay was sending) saw exactly that: one marketing e-mail twice, with nothing in it to
tell the copies apart. Now both copies are the same message to the receiver:

- `Message-ID` is derived from the delivery key (not random per attempt), and mail
  servers and clients keep one message per Message-ID;
- `X-Threshold-Delivery-Key` names the effect, for receivers that are programs
  (marketing's automation) to drop what they already processed.

Handlers call `send_mail` from here instead of Django's (same arguments). Outside a relay
(a handler run by hand, a test) it is Django's `send_mail` with nothing added.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator, Sequence
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage

DELIVERY_KEY_HEADER = "X-Threshold-Delivery-Key"

_delivery_key: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "outbox_delivery_key", default=None
)


@contextlib.contextmanager
def delivering(key: str) -> Iterator[None]:
    """While the relay runs the handler of the row with this delivery key."""
    token = _delivery_key.set(key)
    try:
        yield
    finally:
        _delivery_key.reset(token)


def delivery_headers() -> dict[str, str]:
    """The headers naming the effect being delivered; empty outside a relay."""
    key = _delivery_key.get()
    if not key:
        return {}
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return {"Message-ID": f"<outbox.{digest}@{_domain()}>", DELIVERY_KEY_HEADER: key}


def _domain() -> str:
    """The sender's domain: the same on every worker, unlike the host name Django uses."""
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    return address.rpartition("@")[2] or "threshold.invalid"


def send_mail(
    subject: str, message: str, from_email: str | None, recipient_list: Sequence[str]
) -> int:
    """Django's `send_mail`, with the delivery key's headers when a relay runs it."""
    return EmailMessage(
        subject, message, from_email, list(recipient_list), headers=delivery_headers()
    ).send()
