"""`python -m faults`: start the private stack, seed it, run each fault, print the table.

Exit status: 0 when every fault kept every promise, 1 when one did not (something lost,
duplicated or half written; a 5xx outside an outage window; an outage answered with
anything but JSON; an unmet expectation of the fault), 2 when the stack did not start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from faults.context import Context, FaultResult, Timing
from faults.invariants import Checker
from faults.outages import broker_down_at_commit, cache_down, postgres_restart
from faults.processes import redis_restart, two_beats, worker_kill
from faults.report import SHOWN, details, table
from faults.seed import seed
from faults.stack import Stack, StackError

FAULTS: dict[str, Callable[[Context], FaultResult]] = {
    "kill": worker_kill,
    "redis": redis_restart,
    "postgres": postgres_restart,
    "beats": two_beats,
    "broker": broker_down_at_commit,
    "cache": cache_down,
}
# The short run's beat: sweeps every 1.5 s instead of 15 s, heartbeat every 6 s.
SHORT_BEAT_SCALE = 0.1


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults",
        description="Run scripted faults against a private Threshold stack and check "
        "that nothing is lost, duplicated or half written.",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        default=os.environ.get("FAULTS_SHORT", "") not in ("", "0"),
        help="the CI version: fewer clocks, shorter outages, a faster beat (FAULTS_SHORT=1)",
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(FAULTS), help="run only these faults"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (logs, mail, data)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    parser.add_argument(
        "--all-findings", action="store_true", help="list every finding, not the first few"
    )
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="threshold-faults-"))
    stack = Stack(workdir, beat_scale=SHORT_BEAT_SCALE if args.short else 1.0)
    timing = Timing(short=args.short)
    started = time.monotonic()
    results: list[FaultResult] = []
    status = 2
    try:
        ctx = _start(stack, timing, verbose=not args.quiet)
        for name in args.only or list(FAULTS):
            results.append(_run_fault(ctx, name))
        status = 0 if all(r.ok for r in results) else 1
    except StackError as error:
        sys.stderr.write(f"[faults] the stack did not start: {error}\n")
    finally:
        stack.shutdown()
        if status != 0:
            _log_tails(stack)
        if args.keep or status == 2:
            sys.stderr.write(f"[faults] kept {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if results:
        mode = "short" if args.short else "full"
        shown = 1_000_000 if args.all_findings else SHOWN
        sys.stdout.write(
            f"\nFault suite ({mode}, {time.monotonic() - started:.0f} s)\n\n"
            f"{table(results)}\n\n{details(results, shown=shown)}\n"
        )
        sys.stdout.flush()
    return status


def _start(stack: Stack, timing: Timing, *, verbose: bool) -> Context:
    say = _sayer(verbose)
    say(
        f"private PostgreSQL on {stack.postgres.port}, Redis on {stack.cache.port} (cache) "
        f"and {stack.broker.port} (broker), web on {stack.web_port}; files in {stack.workdir}"
    )
    clock = time.monotonic()
    stack.start_servers()
    say(f"servers up in {time.monotonic() - clock:.1f} s")
    os.environ.update(stack.env("suite"))
    os.environ["DB_POOL"] = "0"
    import django

    django.setup()
    stack.queues = celery_queues()
    say("migrating a fresh database (gunicorn and the worker start meanwhile)")
    stack.start_web()
    worker = stack.start_worker(wait=False)  # it has nothing to do before beat starts
    stack.manage("migrate", "--noinput")
    say(f"migrated at {time.monotonic() - clock:.1f} s")
    dataset = seed(convertible=24 if timing.short else 40)
    say(f"seeded at {time.monotonic() - clock:.1f} s")
    stack.wait_web()
    worker.wait_ready()
    stack.start_beat()
    say(f"web, worker and beat up at {time.monotonic() - clock:.1f} s")
    checker = Checker(
        mail_dir=stack.mail_dir,
        policy_id=dataset.policy_id,
        max_account=dataset.max_account_id,
        max_contact=dataset.max_contact_id,
    )
    baseline = checker.new_findings()
    if baseline:
        raise StackError(f"the fresh database already breaks an invariant: {baseline[:3]}")
    return Context(stack=stack, dataset=dataset, checker=checker, timing=timing, verbose=verbose)


def celery_queues() -> list[str]:
    """Every queue a task may be routed to by the settings (`CELERY_TASK_ROUTES`), and the
    default one: the suite's single worker consumes them all."""
    from django.conf import settings

    queues = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")}
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        queues |= {r["queue"] for r in routes.values() if isinstance(r, dict) and "queue" in r}
    return sorted(queues)


def _run_fault(ctx: Context, name: str) -> FaultResult:
    ctx.say(f"fault: {name}")
    started = time.monotonic()
    try:
        result = FAULTS[name](ctx)
    except Exception as error:  # noqa: BLE001 - one fault's crash is its result, not the run's
        result = FaultResult(name)
        result.failures.append(f"the fault crashed: {type(error).__name__}: {error}")
        ctx.say(traceback.format_exc())
        _recover(ctx)
    result.seconds = time.monotonic() - started
    ctx.say(f"  {name}: {'ok' if result.ok else 'FAIL'} in {result.seconds:.0f} s")
    return result


def _recover(ctx: Context) -> None:
    """After a crashed fault, bring back whatever it left down, for the next one."""
    stack = ctx.stack
    for server in (stack.cache, stack.broker):
        if not server.answers():
            server.kill()
            server.start()
    if stack.postgres.process is None:
        stack.postgres.start()
    if not any(w.running for w in stack.workers):
        stack.start_worker()
    for extra in stack.beats[1:]:
        extra.stop()


def _sayer(verbose: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if verbose:
            sys.stderr.write(f"[faults] {text}\n")
            sys.stderr.flush()

    return say


def _log_tails(stack: Stack, lines: int = 25) -> None:
    for log in sorted(stack.logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        sys.stderr.write(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail) + "\n")
