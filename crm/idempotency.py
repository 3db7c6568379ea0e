"""Idempotency-Key support for API writes that must happen once (conversion).

The first request with a key reserves it (a committed row); retries with the same key and
body get the stored answer, a retry while the first is still running gets 409, and the same
key with a different body gets 422. Keys are per user and kept at least 24 hours.

The answer is stored in the same transaction as the change it reports (`_run_once`): a
request whose change committed keeps its record, whatever happens after the commit, so a
replay returns the first answer; a request whose change did not commit loses its
reservation, so a replay runs it again. A request that died before it could give its
reservation back (the database went away under it) holds no lock on it any more, and a
retry takes it over (`_abandoned`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from crm.exceptions import DomainError
from crm.models import IdempotencyRecord
from crm.web.requests import AuthedRequest

logger = logging.getLogger(__name__)

KEEP_FOR = datetime.timedelta(hours=48)
# A reservation this old belongs to a request that died mid-way: its transaction rolled
# back, so running again is safe.
ABANDONED_AFTER = datetime.timedelta(minutes=5)
# Where rows can be locked (PostgreSQL) the request holds its reservation's row lock for
# its whole transaction, so a reservation nobody holds was left by a request that died —
# its worker killed, the database restarted under it — and a retry runs at once instead
# of answering 409 for five minutes. Only after this grace: the lock is taken a moment
# after the reservation commits.
LOCK_GRACE = datetime.timedelta(seconds=3)


class IdempotencyConflict(DomainError):
    http_status = 409
    code = "idempotency_in_progress"


class IdempotencyMismatch(DomainError):
    http_status = 422
    code = "idempotency_key_reused"


def _fingerprint(scope: str, data: object) -> str:
    body = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{scope}\n{body}".encode()).hexdigest()


def _reserve(request: AuthedRequest, key: str, scope: str, digest: str) -> IdempotencyRecord | None:
    """The new reservation, or None when the key was already used (then look it up)."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=request.user, key=key, scope=scope, request_hash=digest
            )
    except IntegrityError:
        return None


def idempotent(request: AuthedRequest, *, scope: str, run: Callable[[], Response]) -> Response:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return run()
    if len(key) > 200:
        raise IdempotencyMismatch(_("Idempotency-Key is at most 200 characters."))
    digest = _fingerprint(scope, request.data)
    record = _reserve(request, key, scope, digest)
    if record is None:
        existing = IdempotencyRecord.objects.get(user=request.user, key=key)
        if existing.request_hash != digest:
            raise IdempotencyMismatch(
                _("This Idempotency-Key was used with a different request; use a new key.")
            )
        if existing.state == IdempotencyRecord.State.IN_PROGRESS:
            if not _abandoned(existing):
                raise IdempotencyConflict(_("The first request with this key is still running."))
            existing.delete()
            return idempotent(request, scope=scope, run=run)
        replay = Response(existing.response_body, status=existing.response_status)
        replay["Idempotent-Replayed"] = "true"
        return replay
    return _run_once(record, run)


def _abandoned(record: IdempotencyRecord) -> bool:
    """Whether the request that reserved `record` is gone (see `LOCK_GRACE`)."""
    age = timezone.now() - record.created_at
    if not connection.features.has_select_for_update_nowait:
        return age >= ABANDONED_AFTER
    if age < LOCK_GRACE:
        return False
    try:
        with transaction.atomic():
            _lock(record, nowait=True)
    except DatabaseError:  # held: its request is still running
        return False
    return True


def _lock(record: IdempotencyRecord, *, nowait: bool = False) -> None:
    list(
        IdempotencyRecord.objects.select_for_update(nowait=nowait)
        .filter(pk=record.pk)
        .values_list("pk", flat=True)
    )


def _run_once(record: IdempotencyRecord, run: Callable[[], Response]) -> Response:
    """Run the request and store its answer in ONE transaction with the change it makes,
    so a committed change always has its answer stored and a change that did not commit
    never has. The reservation is deleted only when nothing was committed: then a retry
    with the same key runs again.

    What runs after the commit (`on_commit` callbacks: handing outbox rows to the broker)
    cannot undo it; should one raise, the stored answer is returned all the same."""
    committed = False
    answer: list[Response] = []  # what `run` answered, once it has

    def mark_committed() -> None:
        nonlocal committed
        committed = True

    def run_and_store() -> Response:
        with transaction.atomic():
            _lock(record)  # held until this transaction ends: the request is running
            transaction.on_commit(mark_committed)  # the first callback: runs right after COMMIT
            response = run()
            answer.append(response)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # a server error is not a result to replay
            else:
                _store(record, response)
        return response

    try:
        response = run_and_store()
    except Exception as exc:
        if committed and answer:
            logger.exception(
                "An after-commit step of %s failed; the change is committed and its answer stored",
                record.scope,
            )
            return answer[0]
        if isinstance(exc, DomainError):  # rolled back: the refusal is the result
            refusal = Response({"errors": exc.as_list()}, status=exc.http_status)
            _store(record, refusal)
            return refusal
        record.delete()  # nothing was committed: let a retry run it
        raise
    if response.status_code >= 500:
        record.delete()
    return response


def _store(record: IdempotencyRecord, response: Response) -> None:
    record.state = IdempotencyRecord.State.DONE
    record.response_status = response.status_code
    record.response_body = response.data
    record.save(update_fields=["state", "response_status", "response_body"])


def purge_expired(*, now: datetime.datetime | None = None) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=(now or timezone.now()) - KEEP_FOR
    ).delete()
    return deleted
