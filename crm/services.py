"""Shared write paths: in-app notifications (and their e-mail, through the outbox) and
account/contact find-or-create."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from crm.models import (
    Account,
    Contact,
    Notification,
    User,
    normalize_company_name,
    normalize_domain,
)
from crm.preferences import Compose, composed_for, wants_email, wants_in_app
from crm.upsert import insert_returning


def notify(
    *,
    recipients: Iterable[User | None],
    kind: str,
    message: str | Compose,
    url: str = "",
    email: bool = False,
    by: User | None = None,
) -> list[Notification]:
    """Bell notifications for `recipients`, written in the caller's transaction, each as
    its recipient asked (`crm.preferences`): in the bell if they take this kind in the
    app, by e-mail (when the producer asks for `email`) if they take it by e-mail. E-mail
    is an outbox row in the same transaction, sent after the commit. Nobody is told of
    their own action: `by`, the person acting, is left out.

    `message` is a callable that composes the text (`lambda: _("…") % {…}`): it is called
    in each recipient's language and time zone, not the actor's, once per distinct pair
    (`crm.preferences.composed_for`); the e-mail's subject and body are that text too."""
    people = {
        r.pk: r
        for r in recipients
        if r is not None and r.is_active and (by is None or r.pk != by.pk)
    }
    texts = composed_for(people.values(), message)
    return notifications_deliver(
        [
            Notification(recipient=r, kind=kind, message=texts[r.pk][:300], url=url)
            for r in people.values()
        ],
        email=email,
    )


def notifications_deliver(
    notifications: list[Notification], *, email: bool, batch_size: int | None = None
) -> list[Notification]:
    """Write unsaved notifications as their recipients asked, in the caller's transaction:
    a bell row for those who take the kind in the app; when `email`, an e-mail for those
    who take it by e-mail and have an address (of the bell row, else of the message
    itself). The recipients' preferences are read in one query, not taken from objects
    the caller may have loaded before they changed. Returns the bell rows."""
    if not notifications:
        return []
    known: dict[int, tuple[Mapping[str, Any] | None, str]] = {
        pk: (stored, address)
        for pk, stored, address in User.objects.filter(
            pk__in={n.recipient_id for n in notifications}
        ).values_list("pk", "notification_preferences", "email")
    }
    shown = [n for n in notifications if wants_in_app(known[n.recipient_id][0], n.kind)]
    rows = Notification.objects.bulk_create(shown, batch_size=batch_size) if shown else []
    if email:

        def mailed(n: Notification) -> bool:
            stored, address = known[n.recipient_id]
            return bool(address) and wants_email(stored, n.kind)

        notifications_email(n for n in rows if mailed(n))
        shown_ids = {id(n) for n in shown}
        _messages_email(n for n in notifications if id(n) not in shown_ids and mailed(n))
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


def _messages_email(notifications: Iterable[Notification]) -> None:
    """E-mail notifications that have no bell row (their recipient turned the kind off in
    the app but not by e-mail): the outbox row carries the message itself."""
    from crm.outbox.services import Effect, outbox_put_many
    from crm.tasks import notification_message_email_task

    outbox_put_many(
        Effect(
            notification_message_email_task,
            key=f"notification-message-email:{uuid.uuid4().hex}",
            payload={
                "recipient_id": n.recipient_id,
                "kind": n.kind,
                "message": n.message,
                "url": n.url,
            },
        )
        for n in notifications
    )


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
    """The existing account for a company: same normalized domain, else same name (one
    query: a domain match ranks first)."""
    key = normalize_company_name(name)
    wanted = (Q(normalized_domain=domain) if domain else Q(pk__in=[])) | (
        Q(normalized_name=key) if key else Q(pk__in=[])
    )
    if not (domain or key):
        return None
    by_domain = Case(When(normalized_domain=domain, then=Value(0)), default=Value(1))
    return Account.objects.filter(wanted).order_by(by_domain, "pk").first()


def account_create(
    *, name: str, domain: str, defaults: dict[str, Any] | None = None
) -> tuple[Account, bool]:
    """Create the company's account unless its key exists: one `INSERT … ON CONFLICT DO
    NOTHING`. When two conversions race, the database's unique keys decide and the loser
    reads the winner's row."""
    account = Account(name=name, domain=domain, **(defaults or {}))
    account.normalized_domain = normalize_domain(domain)
    account.normalized_name = normalize_company_name(name)
    created = insert_returning(account)
    if created is not None:
        return created, True
    found = account_match(name=name, domain=domain)
    if found is None:
        raise IntegrityError(f"account {name!r} conflicted but cannot be found")
    return found, False


def account_find_or_create(
    *, name: str, domain: str, defaults: dict[str, Any] | None = None
) -> tuple[Account, bool]:
    """Find the company's account or create it, never a duplicate even when two
    conversions race (see `account_create`)."""
    found = account_match(name=name, domain=domain)
    if found is not None:
        return found, False
    return account_create(name=name, domain=domain, defaults=defaults)


def contact_find_or_create(
    *, account: Account, email: str, first_name: str, last_name: str, **extra: object
) -> tuple[Contact, bool]:
    """Match a person on lower-cased e-mail; a contact found without an account joins it.

    One statement: `INSERT … ON CONFLICT (normalized_email) DO UPDATE` creates the
    contact or returns the existing one (attached to `account` if it had none). Whether
    it was created is read from `created_at`, which only a new row has as of now."""
    contact = Contact(
        account=account, email=email, first_name=first_name, last_name=last_name, **extra
    )
    contact.normalized_email = (email or "").strip().lower()
    if not contact.normalized_email:
        contact.save()
        return contact, True
    quote = connection.ops.quote_name
    table, column = quote(Contact._meta.db_table), quote("account_id")
    stored = insert_returning(
        contact,
        on_conflict=(
            # The partial unique index's own predicate, as Django writes it: SQLite matches
            # the conflict target to the index by its text.
            f"({quote('normalized_email')}) WHERE NOT ({quote('normalized_email')} = '') "
            f"DO UPDATE SET {column} = COALESCE({table}.{column}, EXCLUDED.{column})"
        ),
    )
    assert stored is not None  # DO UPDATE always returns the row
    return stored, stored.created_at == contact.created_at
