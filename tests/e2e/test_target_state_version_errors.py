"""``--target-state-version``: a value of the wrong form is a usage error (exit 4, one line,
nothing checked); a well-formed id that does not exist errors the configuration checks with
one line each, and they are not retried (the version will not appear on a retry).

Through ``runpytest_subprocess`` on the embedded account, with the real configuration checks.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, environments_toml, local_env

CONFIGURATION_CHECKS = REPO / "suites" / "post_rollback" / "test_configuration.py"
MISSING_ID = "aab69398-b3f9-4508-9a48-000000000000"


@pytest.fixture
def checks(pytester: pytest.Pytester) -> pytest.Pytester:
    """The post-rollback configuration checks, an emulated environment retrying twice."""
    shutil.copy(CONFIGURATION_CHECKS, pytester.path / CONFIGURATION_CHECKS.name)
    terraform = {
        "state_bucket": "ohpen-terraform-state",
        "state_key": "ohpen-data-lake/terraform.tfstate",
    }
    env = local_env(retries=2, retry_delay=0, terraform=terraform)
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))
    return pytester


def _run(pytester: pytest.Pytester, version: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--env", "local", "--rollback", "off", "-p", "no:cacheprovider",
        "--target-state-version", version,
    )  # fmt: skip


@pytest.mark.parametrize("version", ["nonsense", "", "HEAD~1", "Latest"])
def test_a_value_that_is_no_version_id_is_a_usage_error(
    checks: pytest.Pytester, version: str
) -> None:
    result = _run(checks, version)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR")]
    assert errors == [
        f"ERROR: ohpen: --target-state-version {version!r} (command line): expected latest, "
        "previous or a version id of the state object (16 to 1024 of A-Z a-z 0-9 . _ + / = -); "
        "list them with `ohpen state versions --env NAME`"
    ]
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text
    assert "verified" not in text, "refused before the account guard and any check"


def test_an_id_that_does_not_exist_errors_each_configuration_check_once(
    checks: pytest.Pytester,
) -> None:
    result = _run(checks, MISSING_ID)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors") == 3
    assert "rerun" not in outcomes, "a missing version is not retried"
    text = result.stdout.str()
    assert "During handling of the above exception" not in text
    assert "Traceback" not in text
    message = (
        f"--target-state-version {MISSING_ID}: no such version of "
        "s3://ohpen-terraform-state/ohpen-data-lake/terraform.tfstate; "
        "list them with `ohpen state versions --env NAME`"
    )
    assert result.stdout.lines.count(message) == 3, text  # one line per check, nothing else
    assert f"--target-state-version: --target-state-version {MISSING_ID}" not in text
