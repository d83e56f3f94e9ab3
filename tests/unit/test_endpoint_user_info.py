"""An endpoint_url with a user name or password is refused where it is read, in one line
that names the key and the fix and does not repeat the password.

The URL is printed and stored in the readiness report, the audit records and Allure
results; credentials belong in the AWS credential chain, which botocore signs with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.cli import main
from pytest_ohpen.config.environments import Environment, load_environment
from pytest_ohpen.errors import ConfigError

PASSWORD = "s3cr3t-endpoint-pw"
URL = f"http://deployer:{PASSWORD}@127.0.0.1:4566"
VALID = 'account_id = "123456789012"\nregion = "eu-west-1"\n'


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environments.toml"
    path.write_text(text)
    return path


def _assert_refused(message: str, table: str) -> None:
    assert "\n" not in message
    assert f"[{table}] endpoint_url:" in message
    assert "credential chain" in message
    assert "remove the 'user:password@' part" in message
    assert PASSWORD not in message
    assert "deployer" not in message


@pytest.mark.parametrize(
    ("text", "table"),
    [
        (f'[prod]\n{VALID}endpoint_url = "{URL}"\n', "prod"),
        (f'[defaults]\nendpoint_url = "{URL}"\n[prod]\n{VALID}', "defaults"),
        (f'[prod]\n{VALID}endpoint_url = "https://only-a-token@example.com"\n', "prod"),
    ],
)
def test_the_loader_refuses_user_info_in_endpoint_url(
    tmp_path: Path, text: str, table: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_environment(_file(tmp_path, text), "prod", "--env 'prod' (command line)")
    _assert_refused(str(raised.value), table)


def test_the_cli_refuses_it_with_exit_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, f'[prod]\n{VALID}endpoint_url = "{URL}"\n')
    code = main(["readiness", "--env", "prod", "--targets", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    [line] = captured.err.strip().splitlines()
    _assert_refused(line, "prod")
    assert PASSWORD not in captured.out


def test_clients_refuse_it_for_an_environment_built_in_code() -> None:
    env = Environment(
        name="prod",
        source=Path("environments.toml"),
        account_id="123456789012",
        region="eu-west-1",
        endpoint_url=URL,
    )
    with pytest.raises(ConfigError) as raised:
        AwsClients(env)
    _assert_refused(str(raised.value), "prod")


def test_an_endpoint_without_user_info_still_loads(tmp_path: Path) -> None:
    path = _file(tmp_path, f'[prod]\n{VALID}endpoint_url = "http://127.0.0.1:4566/a@b"\n')
    env = load_environment(path, "prod", "test")
    assert env.endpoint_url == "http://127.0.0.1:4566/a@b"
    assert AwsClients(env).endpoint_url == "http://127.0.0.1:4566/a@b"
