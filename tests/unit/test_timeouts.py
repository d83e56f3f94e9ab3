"""Each check's time budget is split into socket timeouts that end a hung call in time.

Arithmetic on the budget alone; the clients built from it are tests/aws/test_aws.py.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.timeouts import client_timeouts


@pytest.mark.parametrize("timeout", [5, 7.5, 10, 20, 40, 60, 90, 120, 300])
def test_hung_calls_end_before_the_per_attempt_timeout(timeout: float) -> None:
    """A hung endpoint gives a clear client error before pytest-timeout kills the check."""
    timeouts = client_timeouts(timeout)
    assert timeouts.worst_case() < timeout
    assert 0 < timeouts.connect <= timeouts.read
    assert timeouts.max_attempts == 2
