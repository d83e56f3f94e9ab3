"""Bad numbers, names and files seen from pytest: one "ERROR: ohpen: ..." line, exit 4, no
traceback and no check run (issue 11 items 9 to 11). Nothing here reaches AWS: the usage
error comes before preflight."""

from __future__ import annotations

import pytest

SUITE = """
from pathlib import Path

def test_x(ohpen_bucket):
    Path("ran-" + ohpen_bucket).write_text("")
"""
ENV = '[a]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'
BUCKETS = '[a.resources]\nbuckets = ["bucket-a"]\n'


def one_usage_line(result: pytest.RunResult, pytester: pytest.Pytester) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    lines = [line for line in result.errlines if line.startswith("ERROR: ohpen: ")]
    assert len(lines) == 1, result.errlines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert not list(pytester.path.glob("ran-*")), "a check ran despite the usage error"
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("timeout = 1e12\n", "[a] timeout: must be a number of seconds from 1 to 300"),
        ("timeout = 0.001\n", "[a] timeout: must be a number of seconds from 1 to 300"),
        ("retry_delay = 1e9\n", "[a] retry_delay: must be a number of seconds from 0 to 300"),
        ("retry_delay = 1e308\n", "[a] retry_delay: must be a number of seconds from 0 to 300"),
    ],
)
def test_a_number_out_of_range_in_the_file(
    pytester: pytest.Pytester, extra: str, says: str
) -> None:
    pytester.makepyfile(test_x=SUITE)
    path = pytester.path / "environments.toml"
    path.write_text(ENV + extra + BUCKETS)
    assert f"{path}: {says}" in one_usage_line(pytester.runpytest("--env", "a"), pytester)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--reruns", "1000"], "--reruns 1000 (command line): must be a whole number from 0 to 10"),
        (["--reruns", "-1"], "--reruns -1 (command line): must be a whole number from 0 to 10"),
        (["--reruns-delay", "nan"], "--reruns-delay nan (command line): must be a number of"),
        (["--timeout", "-5"], "--timeout -5.0 (command line): must be a number of seconds from 1"),
        (["--force-reruns", "1000"], "--force-reruns 1000 (command line): must be a whole"),
    ],
)
def test_an_option_past_the_files_range(
    pytester: pytest.Pytester, options: list[str], says: str
) -> None:
    pytester.makepyfile(test_x=SUITE)
    (pytester.path / "environments.toml").write_text(ENV + BUCKETS)
    line = one_usage_line(pytester.runpytest("--env", "a", *options), pytester)
    assert says in line


@pytest.mark.parametrize(
    "bucket",
    [
        "ohpen..bronze",
        "192.168.5.4",
        "xn--ohpen",
        "ohpen-s3alias",
        "ohpen--ol-s3",
        "ohpen.-bronze",
        "sthree-ohpen",
    ],
)
def test_a_bucket_name_s3_refuses(pytester: pytest.Pytester, bucket: str) -> None:
    pytester.makepyfile(test_x=SUITE)
    path = pytester.path / "environments.toml"
    path.write_text(ENV + f'[a.resources]\nbuckets = ["{bucket}"]\n')
    line = one_usage_line(pytester.runpytest("--env", "a"), pytester)
    assert f"{path}: [a.resources] buckets: {bucket!r} is not a valid S3 bucket name: " in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ((ENV + "# caf\xe9\n" + BUCKETS).encode("latin-1"), "not UTF-8"),
        ((ENV + "x = " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested too deeply"),
    ],
    ids=["latin-1", "5000-deep array"],
)
def test_a_file_that_crashed_the_loader(
    pytester: pytest.Pytester, content: bytes, says: str
) -> None:
    pytester.makepyfile(test_x=SUITE)
    path = pytester.path / "environments.toml"
    path.write_bytes(content)
    line = one_usage_line(pytester.runpytest("--env", "a"), pytester)
    assert f"{path}: " in line and says in line
