"""The receiver: an e-mail backend that files each message, and the reader that counts them.

The processes under test send through `EmailBackend` (settings `EMAIL_BACKEND`,
`EMAIL_FILE_PATH`): every message becomes one JSON file, written under a temporary name and
renamed into place, so a process killed mid-write leaves no half message and two processes
never write into the same file. `read_mailbox` reads them back for the invariant checker,
which compares them with what the delivered outbox rows should have sent.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from crm.outbox.mail import DELIVERY_KEY_HEADER


@dataclass(frozen=True)
class Mail:
    """One message as the receiver saw it."""

    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def signature(self) -> tuple[tuple[str, ...], str, str]:
        """What makes two messages the same message: recipients, subject and text."""
        return signature(self.to, self.subject, self.body)

    @property
    def delivery_key(self) -> str:
        """The effect this message is (`crm.outbox.mail`), empty when it names none."""
        return dict(self.headers).get(DELIVERY_KEY_HEADER, "")


def signature(to: Sequence[str], subject: str, body: str) -> tuple[tuple[str, ...], str, str]:
    return tuple(sorted(to)), " ".join(subject.split()), body.strip()


def mail_of(message: EmailMessage) -> Mail:
    """An outgoing message as the receiver will read it (the MIME form sets its Message-ID)."""
    mime = message.message()
    return Mail(
        to=tuple(message.recipients()),
        subject=str(message.subject),
        body=str(message.body),
        message_id=str(mime["Message-ID"] or ""),
        headers=tuple((str(k), str(v)) for k, v in (message.extra_headers or {}).items()),
    )


class EmailBackend(BaseEmailBackend):
    """One JSON file per message in `EMAIL_FILE_PATH`."""

    def __init__(self, *, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.folder = Path(str(kwargs.get("file_path") or getattr(settings, "EMAIL_FILE_PATH", "")))

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            mail = mail_of(message)
            record = {
                "to": list(mail.to),
                "subject": mail.subject,
                "body": mail.body,
                "message_id": mail.message_id,
                "headers": [list(h) for h in mail.headers],
                "pid": os.getpid(),
            }
            name = uuid.uuid4().hex
            partial = self.folder / f".{name}.part"
            partial.write_text(json.dumps(record))
            partial.replace(self.folder / f"{name}.json")
        return len(email_messages)


def read_mailbox(folder: Path) -> list[Mail]:
    """Every message filed so far (never a half-written one)."""
    mails = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = json.loads(path.read_text())
        mails.append(
            Mail(
                to=tuple(record["to"]),
                subject=record["subject"],
                body=record["body"],
                message_id=record["message_id"],
                headers=tuple((k, v) for k, v in record.get("headers", [])),
            )
        )
    return mails
