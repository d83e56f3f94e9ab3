"""The keys issue 13's checks read: what each loads to and the one line a mistake gives.

Pure unit tests of ``pytest_ohpen.config``; no pytest run, no AWS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen.config.environments import Permission, load_environment
from pytest_ohpen.config.settings import _bake_minutes
from pytest_ohpen.errors import ConfigError

BASE = 'account_id = "123456789012"\nregion = "eu-west-1"\n'
ROLES = '[prod.resources]\nroles = ["etl-role"]\n'


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "environments.toml"
    path.write_text(f"[prod]\n{BASE}{text}", encoding="utf-8")
    return load_environment(path, "prod", "--env 'prod' (command line)")


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    return str(error.value)


def test_defaults_when_the_keys_are_left_out(tmp_path: Path) -> None:
    env = load(tmp_path, "")
    assert env.resources.tables == ()
    assert env.resources.permissions == {}
    assert env.duration_regression_factor == 3.0
    assert env.bake_minutes == 0.0
    assert env.security.kms_key is None
    assert env.security.require_encrypted_uploads is False


def test_the_keys_load_to_typed_values(tmp_path: Path) -> None:
    env = load(
        tmp_path,
        "duration_regression_factor = 5\nbake_minutes = 10\n"
        '[prod.resources]\nroles = ["etl-role"]\ntables = ["silver.transactions"]\n'
        '[prod.resources.permissions]\n"etl-role" = ["s3:GetObject arn:aws:s3:::b/*", '
        '"sns:Publish"]\n'
        '[prod.security]\nkms = true\nkms_key = "alias/data"\nrequire_encrypted_uploads = true\n',
    )
    assert env.resources.tables == ("silver.transactions",)
    assert env.resources.permissions == {
        "etl-role": (Permission("s3:GetObject", "arn:aws:s3:::b/*"), Permission("sns:Publish"))
    }
    assert env.resources.permissions["etl-role"][1].resource == "*"
    assert (env.duration_regression_factor, env.bake_minutes) == (5.0, 10.0)
    assert env.security.kms_key == "alias/data"
    assert env.security.require_encrypted_uploads is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[prod.resources]\ntables = ["transactions"]\n',
            "[prod.resources] tables: 'transactions' is not a valid Glue catalog table name: "
            'must be "database.table"',
        ),
        (
            '[prod.resources]\ntables = ["Silver.transactions"]\n',
            "database name may hold only lower-case letters",
        ),
        ("duration_regression_factor = 0.5\n", "must be a factor from 1 to 100, not 0.5"),
        ("duration_regression_factor = true\n", "must be a factor from 1 to 100"),
        ("bake_minutes = 181\n", "[prod] bake_minutes: must be a number of minutes from 0 to 180"),
        (
            f'{ROLES}[prod.resources.permissions]\n"etl-role" = ["GetObject"]\n',
            "[prod.resources] permissions: etl-role: 'GetObject': the action must be one "
            "service:Action (no wildcard)",
        ),
        (
            f'{ROLES}[prod.resources.permissions]\n"etl-role" = ["s3:Get* arn:aws:s3:::b/*"]\n',
            "'s3:Get* arn:aws:s3:::b/*': the action must be one service:Action (no wildcard)",
        ),
        (
            f'{ROLES}[prod.resources.permissions]\n"etl-role" = ["s3:GetObject bucket/*"]\n',
            "the resource must be an ARN or *",
        ),
        (
            f'{ROLES}[prod.resources.permissions]\n"other-role" = ["s3:GetObject"]\n',
            "[prod.resources.permissions] 'other-role': not one of the environment's roles; "
            "known: etl-role (add it to roles)",
        ),
        ('[prod.security]\nrequire_encrypted_uploads = "yes"\n', "require_encrypted_uploads"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(tmp_path, text)
    assert expected in message
    assert "\n" not in message


def test_bake_minutes_option_is_bounded_like_the_key() -> None:
    assert _bake_minutes("2.5") == 2.5
    assert _bake_minutes(None) is None
    for given in ("ten", "-1", "181", "nan"):
        with pytest.raises(
            ConfigError,
            match=r"^--bake-minutes .* \(command line\): must be a "
            r"number of minutes from 0 to 180$",
        ):
            _bake_minutes(given)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-02T10:00:00.000+0000",  # AWS
        "2026-12-02T10:00:00.000000000Z",  # moto: nanoseconds and Z
        "2026-12-02T11:00:00+01:00",
        "2026-12-02T10:00:00",
    ],
)
def test_a_lambda_last_modified_time_in_any_shape_aws_or_moto_writes(text: str) -> None:
    from datetime import UTC, datetime

    from pytest_ohpen.checks.deploy_time import parse_lambda_time

    assert parse_lambda_time(text) == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
