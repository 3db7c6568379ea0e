"""Shared write paths: in-app notifications (and their e-mail, through the outbox) and
account/contact find-or-create."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import (
    Account,
    Contact,
    Notification,
    User,
    normalize_company_name,
    normalize_domain,
)


def notify(
    *,
    recipients: Iterable[User | None],
    kind: str,
    message: str,
    url: str = "",
    email: bool = False,
) -> list[Notification]:
    """Bell notifications for `recipients`, written in the caller's transaction. E-mail,
    when asked for, is an outbox row per recipient in the same transaction, sent after
    the commit (see `notifications_email`)."""
    people = {r.pk: r for r in recipients if r is not None and r.is_active}
    rows = Notification.objects.bulk_create(
        Notification(recipient=r, kind=kind, message=message[:300], url=url)
        for r in people.values()
    )
    if email:
        notifications_email(n for n in rows if people[n.recipient_id].email)
    return rows


def notifications_email(notifications: Iterable[Notification]) -> None:
    """E-mail these just-written notifications to their recipients: one outbox row each,
    in the caller's transaction, keyed by the notification so each is sent once."""
    from crm.outbox.services import Effect, outbox_put_many
    from crm.tasks import notification_email_task

    effects = []
    for n in notifications:
        if n.pk is None:  # bulk_create returns ids on PostgreSQL and SQLite, the two we run on
            raise ValueError("Only saved notifications can be e-mailed")
        effects.append(
            Effect(
                notification_email_task,
                key=f"notification-email:{n.pk}",
                payload={"notification_id": n.pk},
            )
        )
    outbox_put_many(effects)


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread when `ids` is None)."""
    queryset = Notification.objects.for_user(user).unread()
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())


# Mailbox providers: their domain says nothing about the company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.id",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "mail.com",
        "ymail.com",
    }
)


def company_domain(*, domain: str, email: str) -> str:
    """The domain that identifies the company: its web domain, else its people's e-mail
    domain unless that is a free mailbox provider."""
    found = normalize_domain(domain)
    if found:
        return found
    from_email = normalize_domain(email) if "@" in (email or "") else ""
    return "" if from_email in FREE_MAIL_DOMAINS else from_email


def account_match(*, name: str, domain: str) -> Account | None:
    """The existing account for a company: same normalized domain, else same name."""
    if domain:
        found = Account.objects.filter(normalized_domain=domain).first()
        if found is not None:
            return found
    key = normalize_company_name(name)
    return Account.objects.filter(normalized_name=key).order_by("pk").first() if key else None


def account_find_or_create(
    *, name: str, domain: str, defaults: dict[str, Any] | None = None
) -> tuple[Account, bool]:
    """Find the company's account or create it, never a duplicate even when two
    conversions race: the database's unique keys decide, and the loser re-reads."""
    found = account_match(name=name, domain=domain)
    if found is not None:
        return found, False
    try:
        with transaction.atomic():  # a savepoint: a lost race must not poison the caller
            return Account.objects.create(name=name, domain=domain, **(defaults or {})), True
    except IntegrityError:
        found = account_match(name=name, domain=domain)
        if found is None:
            raise
        return found, False


def contact_find_or_create(
    *, account: Account, email: str, first_name: str, last_name: str, **extra: object
) -> tuple[Contact, bool]:
    """Match a person on lower-cased e-mail; a contact found without an account joins it."""
    key = (email or "").strip().lower()
    if key:
        found = Contact.objects.filter(normalized_email=key).first()
        if found is not None:
            if found.account_id is None:
                found.account = account
                found.save(update_fields=["account", "updated_at"])
            return found, False
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                account=account, email=email, first_name=first_name, last_name=last_name, **extra
            )
            return contact, True
    except IntegrityError:
        found = Contact.objects.filter(normalized_email=key).first()
        if found is None:
            raise
        return found, False
