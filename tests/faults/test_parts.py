"""The fault suite's own parts, without its servers: how a fault's calls are counted, the
table, the mailbox a message is filed in and read back from."""

from __future__ import annotations

import sys
import time

from django.core.mail import EmailMessage

from crm.outbox.mail import DELIVERY_KEY_HEADER
from faults.context import FaultResult
from faults.invariants import DUPLICATED, LOST, Finding
from faults.load import NO_ANSWER, Call
from faults.mailbox import EmailBackend, read_mailbox
from faults.report import row, table
from faults.stack import Service, Stack


def call(started: float, status: int, *, is_json: bool = True, label: str = "create lead") -> Call:
    return Call(label, "POST", "/api/v1/leads/", started, started + 0.1, status, is_json)


def test_errors_inside_the_outage_window_are_allowed_when_they_are_json():
    result = FaultResult("postgres", windows=[(10.0, 13.0)])
    result.calls = [call(9.0, 201), call(10.5, 503), call(12.95, 503), call(14.0, 201)]

    assert (len(result.errors_inside), len(result.errors_outside)) == (2, 0)
    assert result.ok
    assert row(result)[2:4] == ["0", "2 (all JSON: 503)"]


def test_a_page_in_the_window_or_an_error_outside_it_fails_the_fault():
    html = FaultResult("postgres", windows=[(10.0, 13.0)], calls=[call(11.0, 500, is_json=False)])
    outside = FaultResult("postgres", windows=[(10.0, 13.0)], calls=[call(20.0, NO_ANSWER)])

    assert not html.ok and row(html)[3] == "1 (1 not JSON: 500)"
    assert not outside.ok and row(outside)[2] == "1"


def test_health_probes_are_not_counted_and_findings_fail_the_fault():
    result = FaultResult("cache", calls=[call(1.0, 503, label="health (cache down)")])
    assert result.ok and row(result)[1:4] == ["1", "0", "- (no window)"]

    result.findings = [Finding(LOST, "k1", "gone"), Finding(DUPLICATED, "k2", "twice")]
    assert not result.ok
    assert row(result)[4:] == ["1", "1", "FAIL"]
    assert "| cache" in table([result])


def test_the_mailbox_files_each_message_and_reads_its_delivery_key(tmp_path):
    backend = EmailBackend(file_path=str(tmp_path))
    keyed = EmailMessage(
        "Hi", "Body", None, ["a@example.com"], headers={DELIVERY_KEY_HEADER: "k:1"}
    )
    sent = backend.send_messages([keyed, EmailMessage("Hi", "Body", None, ["b@example.com"])])

    mails = sorted(read_mailbox(tmp_path), key=lambda m: m.to)
    assert sent == 2 and [m.to for m in mails] == [("a@example.com",), ("b@example.com",)]
    assert [m.delivery_key for m in mails] == ["k:1", ""]
    assert mails[0].signature == (("a@example.com",), "Hi", "Body")
    assert not list(tmp_path.glob(".*.part"))


def test_a_worker_that_died_on_its_own_is_started_again_and_a_killed_one_is_not(tmp_path):
    """`Stack.supervise`, the deployment's restart policy: a process that exited by itself
    comes back (and the report says so); one the scenario stopped on purpose stays down."""
    stack = Stack.__new__(Stack)  # only the process lists: no servers of its own
    stack.workers, stack.beats, stack.restarted = [], [], []
    crashing = Service(
        "worker-1", [sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "w.log"
    )
    killed = Service(
        "worker-2", [sys.executable, "-c", "import time; time.sleep(30)"], {}, tmp_path / "k.log"
    )
    stack.workers += [crashing, killed]
    crashing.start(wait=False)
    killed.start(wait=False)
    first = crashing.process
    assert first is not None
    first.wait(timeout=10)
    killed.kill9()

    stack.supervise()

    assert stack.restarted == ["worker-1 exited with 3"]
    assert crashing.process is not None and crashing.process is not first
    assert killed.process is None
    time.sleep(0.1)
    crashing.stop()
