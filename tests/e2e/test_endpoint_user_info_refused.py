"""A checking run whose endpoint_url holds a user and password stops before any check:
exit 4, one line naming the key and the fix, and the password nowhere it shows or writes."""

from __future__ import annotations

import pytest
from conftest import environments_toml

PASSWORD = "pw-in-endpoint-do-not-leak"


def test_a_run_with_user_info_in_endpoint_url_is_a_usage_error(suite_dir: pytest.Pytester) -> None:
    env = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": f"http://user:{PASSWORD}@127.0.0.1:4566",
        "resources": {"buckets": ["ohpen-bronze"]},
    }
    suite_dir.path.joinpath("environments.toml").write_text(environments_toml({"ext": env}))

    result = suite_dir.runpytest_subprocess(
        "--env", "ext", "-p", "no:cacheprovider", "--alluredir=allure-results"
    )

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in shown
    [line] = [text for text in shown.splitlines() if "] endpoint_url:" in text]
    assert "[ext] endpoint_url:" in line and "credential chain" in line
    assert PASSWORD not in shown
    for path in suite_dir.path.rglob("*"):
        if path.is_file() and path.name != "environments.toml":
            assert PASSWORD not in path.read_bytes().decode("utf-8", errors="replace"), path
