"""Intake keys: RevOps makes and revokes them; the webhook checks them.

A secret reads `thk_<prefix>_<random>`. The prefix (8 hex characters) is public: it is
shown in the list and finds the row. The random part is 256 bits from `secrets`; only the
SHA-256 of the whole secret is stored, and a presented secret is compared with it in
constant time. The secret is returned once, by `intake_key_create`, and never again.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from capture.access import require_keys
from capture.models import CaptureChange, IntakeKey
from capture.services._audit import record_change
from crm.exceptions import NotFound, Problem, ValidationFailed
from crm.models import User
from leads.gate import is_blank

SCHEME = "thk"
MAX_NAME = 100
MAX_SECRET = 200
_EMPTY_HASH = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just made, with its secret: the only time the secret exists outside the caller."""

    key: IntakeKey
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _prefix_of(secret: str) -> str | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or not parts[1] or not parts[2]:
        return None
    return f"{SCHEME}_{parts[1]}"


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def _name_taken(name: str) -> bool:
    """Whether an active key already has this name (case aside). A revoked key's name is
    free again: revoking the old "Zapier" key and making a new one is the usual rotation."""
    return (
        IntakeKey.objects.filter(revoked_at__isnull=True)
        .annotate(lower=Lower("name"))
        .filter(lower=_clean_name(name).lower())
        .exists()
    )


def _name_taken_problem() -> Problem:
    return Problem(
        "duplicate",
        "name",
        _("An active key already has this name: give this one a name that tells them apart."),
    )


def intake_key_problems(name: object) -> list[Problem]:
    if is_blank(name):
        if isinstance(name, str) and name.strip():
            return [
                Problem(
                    "placeholder",
                    "name",
                    _("“%(value)s” looks like a placeholder: name the key after what uses it.")
                    % {"value": name.strip()[:40]},
                )
            ]
        return [Problem("required", "name", _("Name the key after what uses it."))]
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        return [Problem("too_long", "name", _("At most %(n)d characters.") % {"n": MAX_NAME})]
    # Two active keys of one name cannot be told apart when one is to be revoked.
    if _name_taken(name):
        return [_name_taken_problem()]
    return []


def intake_key_create(*, by: User, name: str) -> NewKey:
    """A new key for the webhook. The secret in the answer is not stored anywhere."""
    require_keys(by)
    problems = intake_key_problems(name)
    if problems:
        raise ValidationFailed(problems=problems)
    try:
        return _create(by=by, name=name)
    except IntegrityError:
        # Two people made a key of the same name at once: the database's unique index on
        # active names let one in.
        if _name_taken(name):
            raise ValidationFailed(problems=[_name_taken_problem()]) from None
        raise


def _create(*, by: User, name: str) -> NewKey:
    with transaction.atomic():
        while True:
            prefix = f"{SCHEME}_{secrets.token_hex(4)}"
            if not IntakeKey.objects.filter(prefix=prefix).exists():
                break
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        now = timezone.now()
        key = IntakeKey.objects.create(
            name=_clean_name(name),
            prefix=prefix,
            secret_hash=hash_secret(secret),
            created_by=by,
            created_at=now,
        )
        record_change(
            CaptureChange.Kind.INTAKE_KEY,
            key.pk,
            key.name,
            by=by,
            at=now,
            new={"name": key.name, "prefix": key.prefix},
        )
    return NewKey(key=key, secret=secret)


def intake_key_revoke(*, key_id: int, by: User) -> IntakeKey:
    """Stop a key working, at once and for good. Revoking a revoked key changes nothing."""
    require_keys(by)
    with transaction.atomic():
        try:
            key = IntakeKey.objects.select_for_update().get(pk=key_id)
        except IntakeKey.DoesNotExist:
            raise NotFound(_("No such intake key.")) from None
        if key.revoked_at is not None:
            return key
        now = timezone.now()
        key.revoked_at = now
        key.revoked_by = by
        key.save(update_fields=["revoked_at", "revoked_by"])
        record_change(
            CaptureChange.Kind.INTAKE_KEY,
            key.pk,
            key.name,
            by=by,
            at=now,
            old={"revoked_at": None},
            new={"revoked_at": now},
        )
    return key


def intake_key_check(secret: str, *, at: datetime.datetime | None = None) -> IntakeKey | None:
    """The active key whose secret this is, marked as used; None for anything else (an
    unknown, malformed or revoked secret all read the same to the caller)."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    prefix = _prefix_of(secret)
    key = IntakeKey.objects.filter(prefix=prefix).first() if prefix else None
    # Compare even without a row, so the answer takes as long whether the prefix exists.
    stored = key.secret_hash if key is not None else _EMPTY_HASH
    matches = hmac.compare_digest(stored, hash_secret(secret))
    if key is None or not matches or key.revoked_at is not None:
        return None
    at = at or timezone.now()
    IntakeKey.objects.filter(pk=key.pk).update(last_used_at=at)
    key.last_used_at = at
    return key
