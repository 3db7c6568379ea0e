"""The transactional outbox: side effects written with the change, delivered after it.

Every external effect of a state change (an e-mail to a person, marketing's closed-loop
feedback, later webhooks) is a row of `OutboxMessage`, written by
`crm.outbox.services.outbox_put` INSIDE the change's transaction: the change and its
effects commit together or not at all. After the commit the row is handed to Celery
(`crm.tasks.outbox_relay_task`); a broker that refuses the hand-off is logged and
ignored, because beat's sweep (`crm.tasks.outbox_sweep_task`, every 15 s) delivers every
row still undelivered. A broker outage therefore delays effects and never loses them, and
never turns a committed change into an error.

The guarantee
-------------
At-least-once delivery, exactly-once effect in normal operation. The relay claims a row
with ``SELECT ... FOR UPDATE SKIP LOCKED``, runs its handler and marks it delivered in
that same transaction, one row per transaction: two relays (the after-commit hand-off and
the sweep, or two beats) never both deliver a row, and a delivered row is never delivered
again. Only a process that dies after the handler's effect left the building (the SMTP
server took the message) but before the commit leaves the row undelivered, and that one
message is sent again on the next sweep: a possible duplicate, never a loss.

A handler that fails is retried with exponential backoff (1, 2, 4 … 60 minutes); after
`MAX_ATTEMPTS` it becomes a dead letter: kept, shown in the admin (with a "retry" action)
and counted by `/health/`, which answers 503 while any exists or while the oldest
undelivered row is older than `THRESHOLD_OUTBOX_MAX_AGE`.

Handlers are Celery tasks, named by the row's `kind` (the task's registered name) and
called in the relay's process with the row's `payload` as keyword arguments; a handler
reads the rows it needs by id, so the outbox carries ids, not copies of personal data.
This package imports nothing at import time (the models are registered by
`crm.models`): import `crm.outbox.services`, `crm.outbox.relay` or
`crm.outbox.selectors`.
"""
