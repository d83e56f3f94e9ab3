"""A bounded pool of daemon threads, for AWS calls made ahead (checks' first attempts,
readiness probes).

Not concurrent.futures.ThreadPoolExecutor: the interpreter joins its workers at exit, so
one call that hangs (an endpoint that never answers) would keep pytest's process alive after
the run has ended and reported it. Daemon threads are not waited for; the run's own bounds
(per-attempt timeouts, the deadline) decide how long anything is waited for.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonPool:
    """``workers`` daemon threads taking calls in submission order."""

    def __init__(self, workers: int, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` on a worker; its Future holds the result or the exception."""
        future: Future[T] = Future()
        self._calls.put((future, call))
        return future

    def close(self) -> None:
        """No more calls: each worker ends after the call it is in (never waited for)."""
        for _ in self._threads:
            self._calls.put(None)

    def _work(self) -> None:
        while (item := self._calls.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:  # the caller's to judge, a skip included
                future.set_exception(error)
