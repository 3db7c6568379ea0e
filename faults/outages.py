"""Outages of the servers the product stands on: PostgreSQL restarted under a burst of
writes, the broker down when a conversion commits, the Redis cache down."""

from __future__ import annotations

import time

from faults.context import Context, FaultResult
from faults.invariants import count
from faults.load import Call, Recorder
from faults.seed import PASSWORD
from faults.workload import Workload

PAGES = ("/", "/leads/", "/opportunities/", "/pipeline/", "/sla/", "/notifications/")


def postgres_restart(ctx: Context) -> FaultResult:
    """PostgreSQL stops as if it crashed (immediate shutdown: clients cut off, crash
    recovery at the next start) under a burst of API writes and conversions. Inside the
    outage API errors are JSON; after it, none; nothing is half written; a conversion
    whose answer was an error, retried with its key, answers 201."""
    result = FaultResult("PostgreSQL restart under writes")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    with work.traffic(writers=3, readers=1, converters=1, conversions=8):
        time.sleep(ctx.timing.pick(2, 5))
        down = time.monotonic()
        ctx.stack.postgres.stop(immediate=True)
        ctx.say("PostgreSQL stopped (immediate)")
        time.sleep(ctx.timing.pick(2, 6))
        ctx.stack.postgres.start()
        up = time.monotonic()
        ctx.say(f"PostgreSQL back after {up - down:.1f} s")
        result.windows.append((down, up))
        time.sleep(ctx.timing.pick(3, 8))
    result.failures += work.retry_failed()
    took = ctx.settle()
    result.notes.append(f"outage {up - down:.1f} s; healed {took:.1f} s after the burst")
    result.calls = recorder.snapshot()
    result.notes.append(_statuses("in the outage", result, inside=True))
    result.notes.append(_statuses("outside it", result, inside=False))
    ctx.check(result, work.ack, errors=work.errors)
    return result


def broker_down_at_commit(ctx: Context) -> FaultResult:
    """The broker is down when conversions commit. Each answers 201; a replay with the same
    Idempotency-Key answers the same 201 (marked replayed); /health/ says 503 naming the
    broker; the e-mails (marketing's, the manager's) wait in the outbox and go out once
    the broker is back, once each."""
    result = FaultResult("broker down at a conversion's commit")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    conversions = int(ctx.timing.pick(4, 10))
    ctx.stack.broker.kill()
    ctx.say("broker killed")
    done = []
    for _ in range(conversions):
        attempt = work.convert(large=True)
        if attempt is None:
            result.failures.append("no lead left to convert")
            break
        done.append(attempt)
        first = attempt.first
        assert first is not None
        if first.status != 201:
            result.failures.append(
                f"conversion of lead {attempt.lead} answered {first.status}: "
                f"{str(first.body)[:300]}"
            )
            continue
        _expect_replay(work.send(attempt, label="convert replay"), first, result)
    health = ctx.browser(recorder).request("GET", "/health/", label="health (broker down)")
    _expect_health_down(health, "broker", result)
    waiting = count(
        "SELECT COUNT(*) FROM crm_outboxmessage WHERE delivered_at IS NULL AND "
        "(delivery_key LIKE 'marketing-feedback:%%' OR delivery_key LIKE 'notification-email:%%')"
    )
    result.notes.append(f"{waiting} e-mails waited in the outbox while the broker was down")
    if waiting == 0:
        result.failures.append("no e-mail waited for the broker: the fault did not happen")
    ctx.stack.broker.start()
    took = ctx.settle()
    result.notes.append(f"every e-mail delivered {took:.1f} s after the broker came back")
    for attempt in done:
        if attempt.first is not None and attempt.first.status == 201:
            _expect_replay(work.send(attempt, label="convert replay"), attempt.first, result)
    result.calls = recorder.snapshot()
    ctx.check(result, work.ack, errors=work.errors)
    return result


def cache_down(ctx: Context) -> FaultResult:
    """The Redis cache is down (the broker is not): pages and the API keep answering (the
    throttles fail open), signing in works, /health/ answers 503 JSON naming the cache,
    then 200 once it is back."""
    result = FaultResult("Redis cache down")
    recorder = Recorder()
    work = Workload(ctx, recorder)
    browser = ctx.browser(recorder)
    signed_in = browser.sign_in("boss", PASSWORD)
    if signed_in.status != 302:
        result.failures.append(f"signing in before the outage answered {signed_in.status}")
    ctx.stack.cache.kill()
    ctx.say("cache killed")
    with work.traffic(writers=1, readers=2):
        for _ in range(int(ctx.timing.pick(1, 5))):
            for page in PAGES:
                call = browser.request("GET", page, label=f"page {page}")
                if call.status != 200:
                    result.failures.append(f"{page} answered {call.status} with the cache down")
        fresh = ctx.browser(recorder)
        again = fresh.sign_in("sdr", PASSWORD)
        if again.status != 302:
            result.failures.append(f"signing in with the cache down answered {again.status}")
        health = browser.request("GET", "/health/", label="health (cache down)")
        _expect_health_down(health, "cache", result)
    ctx.stack.cache.start()
    took, last = _wait_healthy(ctx, recorder, timeout=ctx.timing.pick(60, 120))
    failing = last.body.get("failing", []) if isinstance(last.body, dict) else ["?"]
    if last.status == 200:
        result.notes.append(f"/health/ 200 again {took:.1f} s after the cache came back")
    elif "cache" in failing:
        result.failures.append(f"/health/ still names the cache {took:.0f} s after it came back")
    else:  # the cache is back; something else (a busy worker's heartbeat) is late
        result.notes.append(f"/health/ no longer names the cache; still failing: {failing}")
    ctx.settle()
    result.calls = recorder.snapshot()
    ctx.check(result, work.ack, errors=work.errors)
    return result


def _expect_replay(replay: Call, first: Call, result: FaultResult) -> None:
    if replay.status != first.status or replay.body != first.body:
        result.failures.append(
            f"replay answered {replay.status}, not the first answer ({first.status})"
        )
    elif replay.headers.get("idempotent-replayed") != "true":
        result.failures.append("a replay was not marked Idempotent-Replayed")


def _expect_health_down(health: Call, name: str, result: FaultResult) -> None:
    body = health.body if isinstance(health.body, dict) else {}
    if health.status == 503 and health.is_json and name in body.get("failing", []):
        result.notes.append(
            f"/health/ answered 503 JSON naming {name} (failing: {body['failing']})"
        )
    else:
        result.failures.append(
            f"/health/ answered {health.status} {'JSON' if health.is_json else 'non-JSON'} "
            f"failing={body.get('failing')} while {name} was down"
        )


def _wait_healthy(ctx: Context, recorder: Recorder, *, timeout: float) -> tuple[float, Call]:
    """Probe /health/ until it answers 200 or the time is up: how long, and the last answer."""
    started = time.monotonic()
    client = ctx.browser(recorder)
    while True:
        last = client.request("GET", "/health/", label="health (recovering)")
        if last.status == 200 or time.monotonic() - started > timeout:
            return time.monotonic() - started, last
        time.sleep(0.5)


def _statuses(where: str, result: FaultResult, *, inside: bool) -> str:
    calls = result.errors_inside if inside else result.errors_outside
    kinds: dict[str, int] = {}
    for call in calls:
        name = f"{call.status or 'no answer'}{' JSON' if call.is_json else ''}"
        kinds[name] = kinds.get(name, 0) + 1
    shown = ", ".join(f"{n} × {k}" for k, n in sorted(kinds.items())) or "none"
    return f"errors {where}: {shown}"
