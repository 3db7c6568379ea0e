"""Publish a Celery task without letting a broker outage fail the caller.

Side effects do not call this directly: they are outbox rows (`crm.outbox`), written in
the change's transaction, and the outbox uses `publish` after the commit only to ask a
worker to deliver them *now*. When the broker refuses, nothing is lost — beat's sweep
delivers the rows — so the refusal is logged once per outage, not once per request:
one WARNING when the first publish is refused, DEBUG lines while it stays down, and one
WARNING when a publish goes through again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a publish to an unreachable broker raises: kombu wraps the transport's connection
# errors in OperationalError; a bare socket error can escape while connecting.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, TimeoutError)


class _Outage:
    """This process's view of the broker: refused publishes since the last success."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.refused = 0

    def failed(self) -> bool:
        """Count a refusal; True when it is the first of an outage (log it loudly)."""
        with self.lock:
            self.refused += 1
            return self.refused == 1

    def recovered(self) -> int:
        """The refusals of the outage that just ended (0 when there was none)."""
        with self.lock:
            refused, self.refused = self.refused, 0
            return refused


outage = _Outage()


def enqueue_now(task: Task, /, **kwargs: Any) -> bool:
    """Send `task` to the broker; False (logged, see the module) when it is unreachable.
    Only for tasks whose loss is acceptable or covered: side effects go through the
    outbox."""
    return publish(task, kwargs, consequence="it is not retried")


def publish(task: Task, kwargs: Mapping[str, Any], *, consequence: str) -> bool:
    """`task.apply_async(kwargs=kwargs)`; False when the broker refused it. `consequence`
    tells the log's reader what becomes of the task (e.g. who delivers it later)."""
    try:
        task.apply_async(kwargs=dict(kwargs))
    except BROKER_ERRORS as error:
        log = logger.warning if outage.failed() else logger.debug
        log(
            "Broker unreachable: %s(%s) was NOT queued; %s (%s: %s)",
            task.name,
            ", ".join(sorted(kwargs)),  # the names only: values may hold e-mail addresses
            consequence,
            type(error).__name__,
            error,
        )
        return False
    refused = outage.recovered()
    if refused:
        logger.warning("Broker reachable again (%s publishes were refused meanwhile)", refused)
    return True
