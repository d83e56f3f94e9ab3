"""Option handling of the plugin, seen from the command line: which environment and file a run
uses, and the one-line usage error (exit code 4, no traceback) for every mistake.

Nothing here contacts AWS: runs fail before preflight or use --collect-only; the one run that
gets past preflight points at the in-process moto server (``fresh_moto``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import environments_toml, local_env

SUITE = """
from pathlib import Path

def test_x(ohpen_bucket):
    Path("ran-" + ohpen_bucket).write_text("")
"""
ENVS: dict[str, dict[str, object]] = {
    "a": {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "resources": {"buckets": ["bucket-a", "bucket-b"]},
    },
    "b": {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "resources": {"buckets": ["bucket-c"]},
    },
}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A directory with a suite using ``ohpen_bucket`` and environments a and b."""
    pytester.makepyfile(test_x=SUITE)
    (pytester.path / "environments.toml").write_text(environments_toml(ENVS))
    return pytester


def collected(result: pytest.RunResult) -> list[str]:
    """The test ids a ``--collect-only -q`` run listed."""
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    return [line.split("::", 1)[1] for line in result.outlines if "::" in line]


def usage_error(result: pytest.RunResult, pytester: pytest.Pytester) -> str:
    """The run's single "ERROR: ohpen: ..." line; checks exit code 4, no traceback, no test run."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    lines = [line for line in result.errlines if line.startswith("ERROR: ohpen: ")]
    assert len(lines) == 1, result.errlines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not list(pytester.path.glob("ran-*")), "a check ran despite the usage error"
    return lines[0]


# ---------------------------------------------------------------- choosing the environment


def test_no_environment_named_is_a_usage_error_suggesting_local(pytester: pytest.Pytester) -> None:
    """`pytest suites/smoke` alone says which environments exist and how to pick one."""
    pytester.makepyfile(test_x=SUITE)
    path = pytester.path / "environments.toml"
    path.write_text(environments_toml({"prod": ENVS["a"], "local": local_env()}))
    line = usage_error(pytester.runpytest(), pytester)
    assert line.startswith("ERROR: ohpen: no environment named")
    assert f"environments in {path}: local, prod" in line and "(try --env local)" in line


def test_ohpen_env_picks_the_environment(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OHPEN_ENV=a in CI is the same as --env a: one test per bucket, the name as its id."""
    monkeypatch.setenv("OHPEN_ENV", "a")
    ids = collected(suite.runpytest("--collect-only", "-q"))
    assert ids == ["test_x[bucket-a]", "test_x[bucket-b]"]


def test_env_option_wins_over_ohpen_env(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit --env overrides an OHPEN_ENV left in the shell."""
    monkeypatch.setenv("OHPEN_ENV", "a")
    assert collected(suite.runpytest("--collect-only", "-q", "--env", "b")) == ["test_x[bucket-c]"]


@pytest.mark.parametrize(
    ("how", "source"),
    [("option", "(command line)"), ("variable", "OHPEN_ENV='prd' (environment variable)")],
)
def test_unknown_environment_names_its_source_and_the_known_ones(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, source: str
) -> None:
    """A typo such as "prd" says where it was written and what the choices are."""
    args = ["--env", "prd"] if how == "option" else []
    if how == "variable":
        monkeypatch.setenv("OHPEN_ENV", "prd")
    line = usage_error(suite.runpytest(*args), suite)
    assert "'prd'" in line and source in line
    assert line.endswith("known: a, b")


# ---------------------------------------------------------------- choosing the file


def other_file(pytester: pytest.Pytester, relative: str) -> Path:
    """An environments file at ``relative`` whose env a has one bucket, "other-bucket"."""
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**ENVS["a"], "resources": {"buckets": ["other-bucket"]}}
    path.write_text(environments_toml({"a": env}))
    return path


def test_targets_option_names_another_file(suite: pytest.Pytester) -> None:
    """--targets PATH is read instead of the rootdir's environments.toml."""
    path = other_file(suite, "conf/envs.toml")
    result = suite.runpytest("--collect-only", "-q", "--env", "a", "--targets", str(path))
    assert collected(result) == ["test_x[other-bucket]"]


def test_ohpen_targets_variable_names_another_file(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OHPEN_TARGETS does what --targets does."""
    monkeypatch.setenv("OHPEN_TARGETS", str(other_file(suite, "conf/envs.toml")))
    ids = collected(suite.runpytest("--collect-only", "-q", "--env", "a"))
    assert ids == ["test_x[other-bucket]"]


def test_ini_setting_is_relative_to_the_ini_file(suite: pytest.Pytester) -> None:
    """`ohpen_targets = envs.toml` in sub/pytest.ini means sub/envs.toml, whatever the rootdir."""
    other_file(suite, "sub/envs.toml")
    (suite.path / "sub" / "pytest.ini").write_text("[pytest]\nohpen_targets = envs.toml\n")
    result = suite.runpytest(
        "--collect-only",
        "-q",
        "--env",
        "a",
        "-c",
        "sub/pytest.ini",
        "--rootdir",
        str(suite.path),
        "test_x.py",
    )
    assert collected(result) == ["test_x[other-bucket]"]


# ---------------------------------------------------------------- mistakes in the file


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ("retries = = 1\n", "not valid TOML"),
        ("retires = 1\n", "[a] unknown key 'retires'"),
        ('account_id = "12345"\n', "[a] account_id:"),
    ],
    ids=["malformed TOML", "unknown key", "bad account id"],
)
def test_a_broken_environments_file_is_one_line_and_nothing_runs(
    pytester: pytest.Pytester, extra: str, names: str
) -> None:
    """A mistake in the file stops the run before any check, naming the file and the key."""
    pytester.makepyfile(test_x=SUITE)
    path = pytester.path / "environments.toml"
    path.write_text(
        f'[a]\nregion = "eu-west-1"\n{extra}'
        + ("" if "account_id" in extra else 'account_id = "123456789012"\n')
    )
    line = usage_error(pytester.runpytest("--env", "a"), pytester)
    assert f"{path}: {names}" in line


def test_bad_smoke_invoke_lambda_names_the_variable(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SMOKE_INVOKE_LAMBDA=maybe is refused rather than silently read as false."""
    monkeypatch.setenv("SMOKE_INVOKE_LAMBDA", "maybe")
    line = usage_error(suite.runpytest("--env", "a"), suite)
    assert "SMOKE_INVOKE_LAMBDA='maybe'" in line and "expected 1 or 0" in line


def test_empty_bucket_list_is_an_empty_parametrization(
    suite: pytest.Pytester, fresh_moto: str
) -> None:
    """An environment without buckets skips the bucket check instead of failing collection."""
    env = {**ENVS["a"], "endpoint_url": fresh_moto, "resources": {"buckets": []}}
    (suite.path / "environments.toml").write_text(environments_toml({"a": env}))
    assert collected(suite.runpytest("--collect-only", "-q", "--env", "a")) == ["test_x[NOTSET]"]
    result = suite.runpytest("--env", "a", "-rs")  # preflight against the local moto server
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED *got empty parameter set*"])


# ---------------------------------------------------------------- runs that check nothing


def test_plain_tests_need_no_environment_and_import_no_aws(pytester: pytest.Pytester) -> None:
    """The plugin costs nothing where no check runs: no --env, no file, no boto3 or moto."""
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            assert "pytest_ohpen.plugin.hooks" in sys.modules
            assert "boto3" not in sys.modules and "botocore" not in sys.modules
            assert "moto" not in sys.modules
    """
    )
    assert not (pytester.path / "environments.toml").exists()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_check_run_imports_botocore_but_not_boto3(
    suite: pytest.Pytester, fresh_moto: str
) -> None:
    """A run's clients are botocore's: boto3 adds resources and S3 transfers that no check
    uses, at ~40 ms a run (issue 14)."""
    env = {**ENVS["a"], "endpoint_url": fresh_moto}
    (suite.path / "environments.toml").write_text(environments_toml({"a": env}))
    suite.makeconftest(
        """
        import sys
        from pathlib import Path

        def pytest_unconfigure(config):
            loaded = [name for name in ("botocore", "boto3") if name in sys.modules]
            Path("modules.txt").write_text(" ".join(loaded))
    """
    )
    result = suite.runpytest_subprocess("--env", "a", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)  # past the account guard, then the readiness report
    assert (suite.path / "modules.txt").read_text() == "botocore"


def test_disabling_the_plugin_removes_its_options(suite: pytest.Pytester) -> None:
    """`-p no:ohpen` turns the plugin off completely, --env included."""
    result = suite.runpytest("-p", "no:ohpen", "--env", "a")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --env" in result.stderr.str()


@pytest.mark.parametrize("tracing", [(), ("--fulltrace",)], ids=["plain", "--fulltrace"])
def test_xdist_run_without_environment_is_a_usage_error(
    suite: pytest.Pytester, tracing: tuple[str, ...]
) -> None:
    """`-n 2` without --env fails the same way, not with a worker crash, whatever the
    workers' collection error looks like (--fulltrace shows it as a traceback)."""
    result = suite.runpytest("-n", "2", *tracing)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    assert "no environment named" in result.stdout.str() + result.stderr.str()
    assert not list(suite.path.glob("ran-*"))


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    """`pytest --fixtures` shows the plugin's fixtures with their docstrings."""
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "ohpen_env *",
            "    The environment under check (``--env``)*",
            "ohpen_aws *",
            "    The run's shared AWS clients for the environment*",
            "ohpen_bucket*",
            "    One S3 bucket of the environment's ``resources.buckets``*",
        ],
        consecutive=False,
    )
