"""The run-wide deadline: one clock every check attempt, retry wait and readiness call
is bounded by, so a run ends within the environment's ``deadline`` however AWS behaves.

Pure: the clock is injected; nothing here knows pytest or botocore.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """``seconds`` from the moment it is started (after preflight); it can run out only
    once started."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    _ends_at: float | None = field(default=None, repr=False)

    def start(self) -> Deadline:
        """Start the clock (once: a second call keeps the first start)."""
        if self._ends_at is None:
            self._ends_at = self.clock() + self.seconds
        return self

    @property
    def started(self) -> bool:
        return self._ends_at is not None

    def remaining(self) -> float:
        """Seconds left (never negative); the whole budget before it starts."""
        if self._ends_at is None:
            return self.seconds
        return max(0.0, self._ends_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def bound(self, seconds: float) -> float:
        """``seconds``, or what is left when that is less."""
        return min(seconds, self.remaining())

    def ran_out(self) -> str:
        """The words for what the deadline stopped, in a one-line message."""
        return f"the run's deadline of {self.seconds:g} s ran out"

    def extend(self, seconds: float) -> None:
        """Give back ``seconds`` (time spent on work with a budget of its own)."""
        if self._ends_at is not None and seconds > 0:
            self._ends_at += seconds
