"""Every number of the environments file, and every option that overrides one, has a range:
no overflow, no wait that never ends, no 1 ms timeout, no command line past the file's cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen.config.environments import load_environment
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.plugin.retries import retry_policy

VALID = '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'


def refusal(tmp_path: Path, body: str) -> str:
    path = tmp_path / "environments.toml"
    path.write_text(VALID + body)
    with pytest.raises(ConfigError) as caught:
        load_environment(path, "prod", "--env 'prod' (command line)")
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize(
    ("body", "named", "range_text"),
    [
        ("timeout = 1e12\n", "[prod] timeout:", "from 1 to 300"),
        ("timeout = 0.001\n", "[prod] timeout:", "from 1 to 300"),
        ("timeout = 301\n", "[prod] timeout:", "from 1 to 300"),
        ("retry_delay = 1e9\n", "[prod] retry_delay:", "from 0 to 300"),
        ("retry_delay = 1e308\n", "[prod] retry_delay:", "from 0 to 300"),
        ("retries = 11\n", "[prod] retries:", "whole number from 0 to 10"),
        ("retries = -1\n", "[prod] retries:", "whole number from 0 to 10"),
        ("pipeline_timeout = 1e12\n", "[prod] pipeline_timeout:", "from 1 to 21600"),
        ("[prod.rollback]\ntimeout = 1e12\n", "[prod.rollback] timeout:", "from 1 to 21600"),
        ("[prod.rollback]\ntimeout = 0.5\n", "[prod.rollback] timeout:", "from 1 to 21600"),
    ],
)
def test_a_number_out_of_range_is_one_line(
    tmp_path: Path, body: str, named: str, range_text: str
) -> None:
    message = refusal(tmp_path, body)
    assert f"{tmp_path / 'environments.toml'}: {named}" in message
    assert range_text in message


def test_the_edges_of_each_range_load(tmp_path: Path) -> None:
    path = tmp_path / "environments.toml"
    path.write_text(
        VALID + "timeout = 1\nretry_delay = 300\nretries = 10\npipeline_timeout = 21600\n"
        "[prod.rollback]\ntimeout = 21600\n"
    )
    env = load_environment(path, "prod", "--env")
    assert (env.timeout, env.retry_delay, env.retries) == (1.0, 300.0, 10)
    assert (env.pipeline_timeout, env.rollback.timeout) == (21600.0, 21600.0)


@pytest.mark.parametrize(
    ("given", "line"),
    [
        ({"cli_reruns": 1000}, "--reruns 1000 (command line): must be a whole number from 0 to 10"),
        ({"cli_reruns": -1}, "--reruns -1 (command line): must be a whole number from 0 to 10"),
        ({"cli_delay": float("nan")}, "--reruns-delay nan (command line): must be a number of"),
        ({"cli_delay": 1e308}, "--reruns-delay 1e+308 (command line): must be a number of"),
        ({"cli_timeout": -5.0}, "--timeout -5.0 (command line): must be a number of seconds"),
        ({"cli_timeout": 0.001}, "--timeout 0.001 (command line): must be a number of seconds"),
        ({"cli_force_reruns": 1000}, "--force-reruns 1000 (command line): must be a whole"),
    ],
)
def test_an_option_takes_the_range_of_the_key_it_overrides(
    given: dict[str, float], line: str
) -> None:
    arguments: dict[str, float | None] = {
        "cli_reruns": None,
        "cli_delay": None,
        "cli_timeout": None,
        **given,
    }
    with pytest.raises(ConfigError) as caught:
        retry_policy(1, 30.0, 40.0, **arguments)  # type: ignore[arg-type]
    assert str(caught.value).startswith(line)
    assert "the range of the environments file's" in str(caught.value)


def test_options_inside_the_range_still_override() -> None:
    policy = retry_policy(1, 30.0, 40.0, 10, 0.0, 300.0, 0)
    assert (policy.reruns, policy.settle_seconds, policy.timeout) == (10, 0.0, 300.0)
