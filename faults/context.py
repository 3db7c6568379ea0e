"""What every fault gets (`Context`) and what it returns (`FaultResult`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from faults.invariants import BROKEN, DUPLICATED, LOST, Acknowledged, Checker, Finding, count
from faults.load import Call, Client, Recorder
from faults.seed import Dataset
from faults.stack import Stack


@dataclass
class Timing:
    """How long the phases of a fault last: the short run keeps CI under two minutes."""

    short: bool

    def pick(self, short: float, full: float) -> float:
        return short if self.short else full

    @property
    def settle_timeout(self) -> float:
        """How long a cleared fault may take to heal (every row delivered, clocks swept):
        a few sweep periods."""
        return self.pick(60, 150)


@dataclass
class FaultResult:
    name: str
    calls: list[Call] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)  # outages: 5xx allowed
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a promise of this fault not kept
    seconds: float = 0.0

    def counted(self) -> list[Call]:
        """The calls the 5xx columns count: every request but the /health/ probes, whose
        503 is the answer asked for while something is down."""
        return [c for c in self.calls if not c.label.startswith("health")]

    def in_window(self, call: Call) -> bool:
        return any(call.overlaps(start, end) for start, end in self.windows)

    @property
    def errors_outside(self) -> list[Call]:
        return [c for c in self.counted() if c.failed and not self.in_window(c)]

    @property
    def errors_inside(self) -> list[Call]:
        return [c for c in self.counted() if c.failed and self.in_window(c)]

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def lost(self) -> int:
        return len(self.of_kind(LOST))

    @property
    def duplicated(self) -> int:
        return len(self.of_kind(DUPLICATED))

    @property
    def broken(self) -> int:
        return len(self.of_kind(BROKEN))

    @property
    def ok(self) -> bool:
        non_json = [c for c in self.errors_inside if not c.is_json]
        return not (self.findings or self.errors_outside or non_json or self.failures)


@dataclass
class Context:
    stack: Stack
    dataset: Dataset
    checker: Checker
    timing: Timing
    verbose: bool = True

    def say(self, text: str) -> None:
        if self.verbose:
            sys.stderr.write(f"[faults] {text}\n")
            sys.stderr.flush()

    def client(self, who: str, recorder: Recorder) -> Client:
        """A token client for `who` (one per call: give each thread its own)."""
        return Client(self.stack.base_url, recorder, token=self.dataset.people[who].token)

    def browser(self, recorder: Recorder) -> Client:
        return Client(self.stack.base_url, recorder)

    def settle(self, *, timeout: float | None = None) -> float:
        """Wait until the system has healed: no undelivered outbox row, no suite clock
        whose next check has passed. Returns the seconds it took (the checker reports
        whatever is still missing when the time is up). A worker or beat that died meanwhile
        is started again, as the deployment's restart policy would (`Stack.supervise`), and
        the report says so: after a broker outage, kombu 5.7 can end a worker on an ack
        through a channel whose connection it already replaced."""
        started = time.monotonic()
        deadline = started + (timeout or self.timing.settle_timeout)
        policy = self.dataset.policy_id
        while time.monotonic() < deadline:
            self.stack.supervise()
            try:
                from django.db import connections

                connections.close_all()
                waiting = count("SELECT COUNT(*) FROM crm_outboxmessage WHERE delivered_at IS NULL")
                behind = count(
                    "SELECT COUNT(*) FROM sla_slatimer WHERE policy_id = %s "
                    "AND stopped_at IS NULL AND next_check_at < now() - interval '1 second'",
                    [policy],
                )
            except Exception:  # noqa: BLE001 - the database may still be coming back
                waiting = behind = -1
            if waiting == 0 and behind == 0:
                return time.monotonic() - started
            time.sleep(0.25)
        return time.monotonic() - started

    def check(self, result: FaultResult, ack: Acknowledged, *, errors: list[str]) -> None:
        """Run the invariant checker; `errors` are traffic operations that broke."""
        result.failures += [f"traffic: {error}" for error in errors]
        for restart in self.stack.restarted:
            result.notes.append(f"{restart} and was started again (the restart policy)")
        self.stack.restarted.clear()
        self.checker.acknowledged.merge(ack)
        resent_before = self.checker.resent
        result.findings = self.checker.new_findings()
        resent = self.checker.resent - resent_before
        if resent:
            result.notes.append(
                f"{resent} e-mail(s) sent again after a lost COMMIT (at least once), with the "
                "same Message-ID and delivery key: the receiver kept one of each"
            )
        for finding in result.findings[:5]:
            self.say(f"  {finding.kind}: {finding.detail}")
