"""Faults of the product's own processes: a worker killed mid-sweep, Redis restarted with
its queue lost, two beats at once."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import psycopg
from django.utils import timezone

from faults.context import Context, FaultResult
from faults.invariants import count
from faults.load import Recorder
from faults.seed import due_clocks
from faults.workload import Workload

# A sweep's transaction as pg_stat_activity shows it: a worker's connection inside a
# transaction whose latest statement reads or writes the clocks, their events or the bell.
IN_SWEEP = """
SELECT COUNT(*) FROM pg_stat_activity
WHERE application_name = 'faults-worker' AND xact_start IS NOT NULL
  AND (query ILIKE '%%sla_slatimer%%' OR query ILIKE '%%sla_slaevent%%'
       OR query ILIKE 'INSERT INTO "crm_notification"%%'
       OR query ILIKE 'INSERT INTO "crm_outboxmessage"%%')
"""


ATTEMPTS = 3  # to catch the worker in the act, each with three times the work of the last


def worker_kill(ctx: Context) -> FaultResult:
    """kill -9 of the whole worker (its pool processes too) while a sweep's transaction is
    open. The batch in flight rolls back; the task is never acknowledged; beat's next sweep
    does the batch again. Nothing may be recorded twice or lost."""
    result = FaultResult("worker kill -9 mid-sweep")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    clocks = int(ctx.timing.pick(80, 1000))
    with work.traffic(writers=1, readers=1):
        # A sweep that finished before the watcher saw it is tried again with three times
        # the clocks (a longer transaction), so a fast machine still gets its kill.
        for attempt in range(1, ATTEMPTS + 1):
            timers = due_clocks(
                ctx.dataset, count=clocks, first_due=timezone.now() - datetime.timedelta(minutes=2)
            )
            swept, landed = _kill_in_sweep(ctx, timers)
            if landed:
                result.notes.append(
                    f"kill -9 landed inside a sweep transaction (attempt {attempt}); "
                    f"{swept} of {clocks} clocks were recorded before it"
                )
                ctx.stack.start_worker()
                break
            result.notes.append(f"attempt {attempt}: the sweep of {clocks} finished first")
            clocks *= 3
        else:
            result.failures.append(f"could not catch a sweep in flight in {ATTEMPTS} attempts")
        mailed = int(ctx.timing.pick(40, 300))
        for attempt in range(1, ATTEMPTS + 1):
            if _kill_in_delivery(ctx, clocks=mailed):
                result.notes.append(
                    f"a second kill -9 landed while the relay sent e-mail (attempt {attempt})"
                )
                ctx.stack.start_worker()
                break
            mailed *= 3
        else:
            result.failures.append(f"could not catch the relay sending in {ATTEMPTS} attempts")
    took = ctx.settle()
    result.notes.append(f"healed {took:.1f} s after the worker restarted")
    result.calls = recorder.snapshot()
    ctx.check(result, work.ack, errors=work.errors)
    return result


def _kill_in_delivery(ctx: Context, *, clocks: int) -> bool:
    """kill -9 the worker while it delivers e-mail: clocks whose every bell message is
    e-mailed fall due, and the kill comes once some of their outbox rows are delivered and
    some not. A relay killed between the mail server's acceptance and its COMMIT sends
    that message again (at least once); the receiver must see each delivery key once."""
    since = count("SELECT COALESCE(MAX(id), 0) FROM crm_outboxmessage")
    due_clocks(
        ctx.dataset,
        count=clocks,
        first_due=timezone.now() - datetime.timedelta(minutes=2),
        mailed_every=1,
    )
    progress = (
        "SELECT COUNT(*), COUNT(delivered_at) FROM crm_outboxmessage "
        "WHERE id > %s AND delivery_key LIKE 'notification-email:%%'"
    )
    deadline = time.monotonic() + ctx.timing.pick(30, 90)
    with psycopg.connect(ctx.stack.postgres.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            written, delivered = conn.execute(progress, [since]).fetchone() or (0, 0)
            if written and delivered == written:
                return False  # all sent before the watcher saw it: try with more
            if written and min(10, written // 3) <= delivered < written and delivered:
                ctx.stack.workers[-1].kill9()
                ctx.say(f"killed the worker while it delivered ({delivered} of {written} sent)")
                return True
            time.sleep(0.005)
    return False


def _kill_in_sweep(ctx: Context, timers: list[int]) -> tuple[int, bool]:
    """Watch pg_stat_activity and kill -9 the worker the moment a sweep is in its
    transaction. Returns how many of `timers` were swept at the kill and whether the kill
    landed inside a sweep; when the sweep finished first, the worker is left running."""
    first, last = min(timers), max(timers)
    swept_sql = (
        "SELECT COUNT(*) FROM sla_slatimer WHERE id BETWEEN %s AND %s AND breached_at IS NOT NULL"
    )
    deadline = time.monotonic() + ctx.timing.pick(20, 60)
    with psycopg.connect(ctx.stack.postgres.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (busy,) = conn.execute(IN_SWEEP).fetchone() or (0,)
            (swept,) = conn.execute(swept_sql, [first, last]).fetchone() or (0,)
            if swept == len(timers):
                break
            if busy:
                ctx.stack.workers[-1].kill9()
                ctx.say(f"killed the worker mid-sweep ({swept} of {len(timers)} swept)")
                return int(swept), True
            time.sleep(0.005)
    return len(timers), False


def redis_restart(ctx: Context) -> FaultResult:
    """The worker is stopped, tasks pile up in the broker (outbox hand-offs, sweeps), then
    Redis is killed and started empty: every queued task is gone. The outbox rows are
    not: beat's sweep must deliver every one once the worker is back."""
    result = FaultResult("Redis restart, queue lost")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    ctx.stack.workers[-1].stop()
    with work.traffic(writers=2, readers=1, converters=1, conversions=4):
        time.sleep(ctx.timing.pick(3, 10))
        queued = ctx.stack.broker.queue_length(ctx.stack.queues)
        pending = count("SELECT COUNT(*) FROM crm_outboxmessage WHERE delivered_at IS NULL")
        ctx.stack.broker.kill()
        ctx.stack.cache.kill()
        ctx.say(f"Redis killed with {queued} queued tasks, {pending} outbox rows undelivered")
        time.sleep(ctx.timing.pick(1, 3))
        ctx.stack.broker.start()
        ctx.stack.cache.start()
        time.sleep(ctx.timing.pick(2, 5))
    result.notes.append(
        f"{queued} tasks were queued when Redis died (lost with it); "
        f"{pending} outbox rows were waiting"
    )
    if queued == 0:
        result.failures.append("no task was queued: the fault did not happen")
    ctx.stack.start_worker()
    took = ctx.settle()
    result.notes.append(f"healed {took:.1f} s after the worker came back")
    result.calls = recorder.snapshot()
    ctx.check(result, work.ack, errors=work.errors)
    return result


def two_beats(ctx: Context) -> FaultResult:
    """A second beat runs beside the first: every sweep (SLA and outbox) is sent twice and
    runs concurrently on the worker's two processes, while clocks keep falling due and
    the API keeps writing. Nothing may be recorded, told or sent twice."""
    duration = ctx.timing.pick(10, 120)
    result = FaultResult(f"two beats for {duration:.0f} s")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    clocks = int(ctx.timing.pick(100, 1200))
    start = timezone.now() + datetime.timedelta(seconds=2)
    due_clocks(
        ctx.dataset,
        count=clocks,
        first_due=start,
        spread=datetime.timedelta(seconds=duration - 4),
        warn_before=datetime.timedelta(seconds=1),
        mailed_every=3,
    )
    before = _sweeps_sent(ctx.stack.beats[0].log)
    second = ctx.stack.start_beat()
    with work.traffic(writers=1, readers=1):
        time.sleep(duration)
    second.stop()
    sent = [_sweeps_sent(ctx.stack.beats[0].log) - before, _sweeps_sent(second.log)]
    result.notes.append(
        f"{clocks} clocks fell due during it; SLA sweeps sent per beat: {', '.join(map(str, sent))}"
    )
    if min(sent) == 0:
        result.failures.append("the second beat sent no sweep: the fault did not happen")
    took = ctx.settle()
    result.notes.append(f"healed {took:.1f} s after the second beat stopped")
    result.calls = recorder.snapshot()
    ctx.check(result, work.ack, errors=work.errors)
    return result


def _sweeps_sent(log: Path) -> int:
    return log.read_text(errors="replace").count("Sending due task sla-sweep")
