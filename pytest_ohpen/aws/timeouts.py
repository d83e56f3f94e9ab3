"""How long an AWS call may take, by who makes it: the timeout profiles of the run's clients.

- ``check``: a smoke check's calls, derived from the environment's per-attempt ``timeout``
  so they give up (two attempts each) before pytest-timeout has to kill the test;
- ``admin``: readiness, state and CLI operations (reading state versions, locks, audit
  records), which no pytest-timeout bounds and which a tight check budget must not starve;
- ``provisioning``: the embedded account's setup on loopback, where the work is moto's own
  CPU (its first CreateStateMachine takes seconds on a busy 2-core machine), so the read
  timeout is generous and a call is sent once: a retried create could only fail as
  "already exists".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Profile = Literal["check", "admin", "provisioning"]

CALLS_PER_CHECK = 2
"""The most AWS calls one check makes (a bucket: head, then list one key)."""
ATTEMPTS_PER_CALL = 2
"""botocore standard mode: the first try plus one retry of a throttled or transient error."""


@dataclass(frozen=True)
class ClientTimeouts:
    """Socket timeouts and attempts of every call of one client."""

    connect: float
    read: float
    max_attempts: int

    def worst_case(self, calls: int = CALLS_PER_CHECK) -> float:
        """Seconds ``calls`` calls can take when every attempt hangs to its timeouts."""
        return calls * self.max_attempts * (self.connect + self.read)


ADMIN = ClientTimeouts(connect=5.0, read=30.0, max_attempts=3)
"""Operations outside a check: patient, and retried like the AWS CLI's standard mode."""
PROVISIONING = ClientTimeouts(connect=5.0, read=60.0, max_attempts=1)
"""The embedded account's setup: moto may be slow on a loaded machine, never unreachable."""


def client_timeouts(check_timeout: float) -> ClientTimeouts:
    """The ``check`` profile: a check's time budget split over its calls and their retries.

    A check makes at most CALLS_PER_CHECK calls, each with ATTEMPTS_PER_CALL attempts;
    80 % of the budget goes to them, the rest is left for retry back-off, so a hung
    endpoint ends as a clear client error before the per-attempt timeout fires.
    """
    per_attempt = check_timeout * 0.8 / (CALLS_PER_CHECK * ATTEMPTS_PER_CALL)
    connect = max(0.2, min(5.0, per_attempt / 3))
    read = max(0.5, min(30.0, per_attempt - connect))
    return ClientTimeouts(
        connect=round(connect, 3), read=round(read, 3), max_attempts=ATTEMPTS_PER_CALL
    )


def profile_timeouts(profile: Profile, check_timeout: float) -> ClientTimeouts:
    """The timeouts of ``profile``; ``check_timeout`` (the environment's) shapes ``check``."""
    if profile == "check":
        return client_timeouts(check_timeout)
    return ADMIN if profile == "admin" else PROVISIONING
