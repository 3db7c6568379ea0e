"""The fault suite's own parts, without its servers: how a fault's calls are counted, the
table, the mailbox a message is filed in and read back from."""

from __future__ import annotations

from django.core.mail import EmailMessage

from crm.outbox.mail import DELIVERY_KEY_HEADER
from faults.context import FaultResult
from faults.invariants import DUPLICATED, LOST, Finding
from faults.load import NO_ANSWER, Call
from faults.mailbox import EmailBackend, read_mailbox
from faults.report import row, table


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
