"""HTTP clients and the background traffic that runs while a fault happens.

Every request is recorded (`Call`: when it started and ended, its status, whether the body
was JSON) so the report can tell errors inside a fault's outage window from errors outside
it. A request that got no HTTP answer at all (refused, reset, timed out) is recorded with
status 0 and counts as a server error: the client saw the service fail.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

NO_ANSWER = 0
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True)
class Call:
    label: str
    method: str
    path: str
    started: float  # time.monotonic()
    ended: float
    status: int
    is_json: bool
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def failed(self) -> bool:
        """A server error or no answer: what the report counts as 5xx."""
        return self.status == NO_ANSWER or self.status >= 500

    def overlaps(self, start: float, end: float) -> bool:
        return self.started <= end and self.ended >= start


class Recorder:
    """Every call of a fault, from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)


class Client:
    """One HTTP/1.1 connection (one thread at a time), signed in by token or by session."""

    def __init__(
        self, base_url: str, recorder: Recorder, *, token: str = "", timeout: float = 30
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.recorder = recorder
        self.token = token
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        label: str = "",
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Call:
        sent_headers = {"Accept": "application/json"}
        payload: bytes | None = None
        if form is not None:
            payload = urlencode(form).encode()
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
            sent_headers["Accept"] = "text/html"
        elif body is not None:
            payload = json.dumps(body).encode()
            sent_headers["Content-Type"] = "application/json"
        if self.token:
            sent_headers["Authorization"] = f"Token {self.token}"
        if self.cookies:
            sent_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent_headers.update(headers or {})
        started = time.monotonic()
        try:
            response, raw = self._exchange(method, path, payload, sent_headers)
            status = response.status
            answer = {k.lower(): v for k, v in response.getheaders()}
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if answer.get("connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            call = Call(
                label or path,
                method,
                path,
                started,
                time.monotonic(),
                NO_ANSWER,
                False,
                error=f"{type(error).__name__}: {error}",
            )
            self.recorder.add(call)
            return call
        parsed: Any = None
        is_json = "json" in answer.get("content-type", "")
        if is_json:
            try:
                parsed = json.loads(raw or b"null")
            except ValueError:
                is_json = False
        else:
            parsed = raw.decode("utf-8", errors="replace")
        call = Call(
            label or path, method, path, started, time.monotonic(), status, is_json, parsed, answer
        )
        self.recorder.add(call)
        return call

    def _exchange(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One request and its answer. A kept-alive connection the server closed while idle
        is opened again and the request sent once more, as every HTTP client does: the
        server never read it."""
        reused = self._conn is not None
        try:
            conn = self._connection()
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response, response.read()
        except STALE_CONNECTION:
            if not reused:
                raise
            self.close()
            conn = self._connection()
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response, response.read()

    def sign_in(self, username: str, password: str) -> Call:
        """The browser's sign-in: the form's CSRF token, then the POST (302 when it worked)."""
        page = self.request("GET", "/login/", label="page /login/")
        html = page.body if isinstance(page.body, str) else ""
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        token = match.group(1) if match else ""
        return self.request(
            "POST",
            "/login/",
            form={"username": username, "password": password, "csrfmiddlewaretoken": token},
            label="sign in",
            headers={"Referer": f"http://{self.host}:{self.port}/login/"},
        )


class Traffic:
    """Background requests during a fault: each thread repeats its operation until told to
    stop, pausing `pause` seconds between requests."""

    def __init__(self, *, pause: float = 0.05) -> None:
        self.pause = pause
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def add(self, name: str, operation: Callable[[], object]) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    operation()
                except Exception as error:  # noqa: BLE001 - a broken operation is reported
                    self.errors.append(f"{name}: {type(error).__name__}: {error}")
                    return
                self._stop.wait(self.pause)

        self._threads.append(threading.Thread(target=loop, name=name, daemon=True))

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def new_key() -> str:
    return uuid.uuid4().hex
