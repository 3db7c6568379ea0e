"""Reading the file one batch ahead, in a thread: while the database takes in a batch (four
fifths of a run's time is PostgreSQL's), the next one is read, decoded and converted.

The run waits on its database connection most of the time, and psycopg lets go of the
interpreter while it waits, so the reading thread works in those waits: on two cores the
conversion costs the run next to nothing, on a busy machine it still overlaps.

The thread reads the stored upload through a database connection of its own, which sees
committed rows only: `read_ahead` is used where the upload is committed and the run is
in no transaction (a worker's task); inside one (a test's, a caller's) it reads in line.
It only reads: every write, and so every guarantee of the run (a batch per transaction,
cancel between batches), stays in the calling thread, and the batches come in file order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar

from django.db import connection
from django.utils import translation

T = TypeVar("T")
_END = object()
_POLL_SECONDS = 0.5


def read_ahead(batches: Callable[[], Iterator[T]]) -> Generator[T, None, None]:
    """The items of `batches()`, produced one ahead in a thread when that is safe (see the
    module docstring), else in line. An error of the producer is raised here."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from batches()
        return
    ready: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def produce() -> None:
        try:
            with translation.override(language):  # problems worded as in the run
                for item in batches():
                    if not _offer(ready, item, stop):
                        return
            _offer(ready, _END, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            _offer(ready, exc, stop)
        finally:
            connection.close()  # this thread's own

    worker = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]  # anything but the markers is a T
    finally:
        stop.set()  # the consumer stopped (cancelled, failed, or done)
        worker.join()


def _offer(ready: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put `item` for the consumer; False when it has stopped taking."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
