"""``--target-state-version`` takes latest, previous or an S3 version id; any other value is a
usage error (one line naming the option and the fix) before any check runs."""

from __future__ import annotations

import pytest

from pytest_ohpen.config.settings import state_version_choice
from pytest_ohpen.errors import ConfigError

ACCEPTED = [
    None,  # not given: the newest known-good mark
    "latest",
    "previous",
    "null",  # S3's id of an object written before versioning was enabled
    "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",  # AWS documentation
    "Xk3B4vGf_lQhJ.Rt2X1pK9z2Sj8bqW4n",  # S3's usual 32 characters
    "aab69398-b3f9-4508-9a48-d66a0f60044b",  # moto, MinIO: a UUID
]
REFUSED = [
    "nonsense",
    "",
    " latest",
    "Latest",
    "PREVIOUS",
    "HEAD~1",
    "v2",
    "aab69398 b3f9 4508 9a48 d66a0f60044b",
    "aab69398-b3f9-4508-9a48-d66a0f60044b\n",
    "x" * 1025,
    "version;rm -rf /",
]


@pytest.mark.parametrize("given", ACCEPTED)
def test_latest_previous_and_version_ids_are_accepted(given: str | None) -> None:
    assert state_version_choice(given) == given


@pytest.mark.parametrize("given", REFUSED, ids=range(len(REFUSED)))
def test_anything_else_is_one_line_naming_the_option_and_the_fix(given: str) -> None:
    with pytest.raises(ConfigError) as raised:
        state_version_choice(given)

    message = str(raised.value)
    assert message.startswith(f"--target-state-version {given!r} (command line): expected ")
    assert "latest, previous or a version id" in message
    assert "ohpen state versions --env NAME" in message
    assert "\n" not in message
