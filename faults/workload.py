"""The API traffic a fault runs under: an SDR creating and rejecting leads (each rejection
an e-mail to marketing through the outbox), an AE converting leads ready for it (with an
`Idempotency-Key`, retried with the same key when the answer was an error), and readers.

Each operation remembers what the API acknowledged (`Acknowledged`), which the invariant
checker then looks for in the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faults.context import Context
from faults.invariants import Acknowledged
from faults.load import Call, Client, Recorder, Traffic, new_key
from faults.seed import conversion_body

# How many times a client asks again, a second apart, while its key's first request is
# still running (409 idempotency_in_progress): the server frees a dead request's key
# within a few seconds (crm.idempotency.LOCK_GRACE).
RETRIES_WHILE_RUNNING = 15


def _still_running(call: Call) -> bool:
    errors = call.body.get("errors", []) if isinstance(call.body, dict) else []
    return call.status == 409 and any(e.get("code") == "idempotency_in_progress" for e in errors)


@dataclass
class Conversion:
    lead: int
    key: str
    body: dict[str, Any]
    first: Call | None = None


class Workload:
    def __init__(self, ctx: Context, recorder: Recorder) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.ack = Acknowledged()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._to_reject: list[tuple[int, int]] = []  # (lead, version) created, not rejected
        self.conversions: list[Conversion] = []
        self._serial = 0
        self._traffics: list[Traffic] = []

    @property
    def errors(self) -> list[str]:
        """Operations that broke (a bug of the suite, or an answer it could not read)."""
        return [error for traffic in self._traffics for error in traffic.errors]

    def _client(self, who: str) -> Client:
        clients: dict[str, Client] = getattr(self._local, "clients", {})
        self._local.clients = clients
        if who not in clients:
            clients[who] = self.ctx.client(who, self.recorder)
        return clients[who]

    def _next(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    # --- operations ---------------------------------------------------------------------------

    def create_lead(self) -> Call:
        n = self._next()
        call = self._client("sdr").request(
            "POST",
            "/api/v1/leads/",
            {
                "company_name": f"Burst {self.recorder_id}-{n} GmbH",
                "last_name": "Burst",
                "email": f"burst{n}@burst{self.recorder_id}.example",
                "source": "referral",
            },
            label="create lead",
        )
        if call.status == 201 and isinstance(call.body, dict):
            with self._lock:
                self.ack.leads.add(int(call.body["id"]))
                self._to_reject.append((int(call.body["id"]), int(call.body["version"])))
        return call

    def reject_lead(self) -> Call | None:
        with self._lock:
            if not self._to_reject:
                return None
            lead, version = self._to_reject.pop(0)
        call = self._client("sdr").request(
            "POST",
            f"/api/v1/leads/{lead}/reject/",
            {"reason": "not-icp", "note": "Outside our market", "version": version},
            label="reject lead",
        )
        if call.status == 200:
            with self._lock:
                self.ack.rejected.add(lead)
        return call

    def read(self) -> Call:
        n = self._next()
        path = "/api/v1/leads/" if n % 2 else "/api/v1/opportunities/"
        return self._client("boss").request("GET", path, label="read")

    def convert(self, *, large: bool = True, key: str | None = None) -> Conversion | None:
        """Convert the next lead ready for it; None when none is left."""
        with self._lock:
            if not self.ctx.dataset.convertible:
                return None
            lead, ae = self.ctx.dataset.take_convertible()
        attempt = Conversion(
            lead, key or new_key(), conversion_body(self.ctx.dataset, lead, ae, large=large)
        )
        attempt.first = self.send(attempt)
        with self._lock:
            self.conversions.append(attempt)
        return attempt

    def send(self, attempt: Conversion, *, label: str = "convert") -> Call:
        who = "ae" if self._ae_of(attempt) == self.ctx.dataset.people["ae"].id else "ae2"
        call = self._client(who).request(
            "POST",
            f"/api/v1/leads/{attempt.lead}/convert/",
            attempt.body,
            headers={"Idempotency-Key": attempt.key},
            label=label,
        )
        if call.status == 201 and isinstance(call.body, dict):
            with self._lock:
                self.ack.conversions[attempt.lead] = int(call.body["id"])
        return call

    @staticmethod
    def _ae_of(attempt: Conversion) -> int:
        return int(str(attempt.body["next_step_owner"]))

    def retry_failed(self) -> list[str]:
        """What a client does after an error: the same request with the same key. Each must
        now answer 201 — the first result replayed, or the conversion done now."""
        problems = []
        for attempt in list(self.conversions):
            if attempt.first is not None and attempt.first.status == 201:
                continue
            again = self.send(attempt, label="convert retry")
            for _ in range(RETRIES_WHILE_RUNNING):
                if not _still_running(again):
                    break
                time.sleep(1)  # the first request may still hold its key: ask again
                again = self.send(attempt, label="convert retry")
            if again.status != 201:
                problems.append(
                    f"retry of lead {attempt.lead}'s conversion answered {again.status}"
                    f" (first: {attempt.first.status if attempt.first else '-'})"
                )
        return problems

    @property
    def recorder_id(self) -> int:
        return id(self.recorder) % 100_000

    # --- traffic --------------------------------------------------------------------------------

    def traffic(
        self, *, writers: int = 1, readers: int = 1, converters: int = 0, conversions: int = 0
    ) -> Traffic:
        """Threads that run until the `with` block ends: writers create a lead and reject
        every second one, readers list leads and deals, converters convert up to
        `conversions` leads between them (then read)."""
        traffic = Traffic(pause=self.ctx.timing.pick(0.05, 0.1))
        self._traffics.append(traffic)
        for n in range(writers):
            traffic.add(f"writer-{n}", self._writer())
        for n in range(readers):
            traffic.add(f"reader-{n}", self.read)
        for n in range(converters):
            traffic.add(f"converter-{n}", self._converter(conversions))
        return traffic

    def _converter(self, limit: int) -> Callable[[], object]:
        def step() -> object:
            with self._lock:
                more = len(self.conversions) < limit
            return self.convert(large=True) if more else self.read()

        return step

    def _writer(self) -> Callable[[], object]:
        turn = [0]

        def step() -> object:
            turn[0] += 1
            return self.reject_lead() if turn[0] % 2 == 0 else self.create_lead()

        return step
