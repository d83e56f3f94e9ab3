"""The environments file: what a valid file loads to, and the one-line error each mistake gives.

Pure unit tests of ``pytest_ohpen.config.environments``; no pytest run, no AWS.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, fields, replace
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen.config.environments import (
    DEFAULT_AUDIT_DIRECTORY,
    DataLayer,
    Environment,
    Resources,
    Terraform,
    load_environment,
    read_file,
)
from pytest_ohpen.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "environments.toml"
PLAYBOOK = Resources(
    buckets=("ohpen-bronze", "ohpen-silver", "ohpen-artifacts"),
    glue_jobs=("ohpen-transaction-etl-spark",),
    state_machines=("ohpen-etl-orchestration",),
    lambdas=("ohpen-read-run-summary",),
    alarms=(
        "ohpen-etl-glue-job-failed",
        "ohpen-etl-pipeline-failed",
        "ohpen-read-run-summary-errors",
    ),
    roles=(
        "ohpen-transaction-etl-spark-role",
        "ohpen-etl-orchestration-role",
        "ohpen-read-run-summary-role",
    ),
    tables=("silver.transactions",),
)
VALID = 'account_id = "123456789012"\nregion = "eu-west-1"\n'
CHOSEN = "--env 'prod' (command line)"
VALID_KEYS = (
    "valid keys: account_id, audit, bake_minutes, concurrency, data, deadline, drills, "
    "duration_regression_factor, e2e, emulated, endpoint_url, pipeline_timeout, profile, region, "
    "resources, retries, retry_delay, rollback, security, terraform, timeout"
)


def write(tmp_path: Path, text: str) -> Path:
    """An environments file holding ``text``."""
    path = tmp_path / "environments.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, name: str = "prod") -> Environment:
    return load_environment(path, name, CHOSEN)


def config_error(path: Path, name: str = "prod") -> str:
    """The message of the ConfigError loading ``name`` raises; it must be a single line."""
    with pytest.raises(ConfigError) as caught:
        load(path, name)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


# ---------------------------------------------------------------- the shipped file


@pytest.mark.parametrize("name", ["prod", "staging", "local"])
def test_shipped_file_loads_every_environment_with_the_playbook_resources(name: str) -> None:
    """`pytest suites/smoke --env prod|staging|local` works as shipped, on the playbook's stack."""
    env = load(SHIPPED, name)
    assert env.name == name
    assert env.source == SHIPPED
    assert env.region == "eu-west-1"
    assert env.resources.by_kind() == PLAYBOOK.by_kind()
    assert env.resources.failure_topic == "ohpen-etl-failures"
    assert env.terraform is not None
    assert (env.terraform.state_bucket, env.terraform.state_key) == (
        "ohpen-terraform-state",
        "ohpen-data-lake/terraform.tfstate",
    )
    # The rollback is the real one everywhere: the embedded account runs Terraform too.
    assert env.rollback.command[0] == "scripts/rollback_terraform.sh"
    if env.emulated:
        assert (env.terraform.working_dir, env.terraform.version) == ("infra/terraform", "1.0.3")
    assert env.rollback.mode == "dry-run" and env.rollback.auto_apply is False
    assert env.emulated is (name == "local")
    assert env.endpoint_url is None


def test_shipped_file_takes_retries_delay_and_timeout_from_defaults() -> None:
    """One retry, a 30 s settle window and 40 s per attempt, unless an environment overrides."""
    prod = load(SHIPPED, "prod")
    assert (prod.retries, prod.retry_delay, prod.timeout) == (1, 30.0, 40.0)
    assert load(SHIPPED, "local").retry_delay == 2.0
    assert (load(SHIPPED, "prod").account_id, load(SHIPPED, "staging").account_id) == (
        "111111111111",
        "222222222222",
    )


# ---------------------------------------------------------------- [defaults]


def test_defaults_deep_merge_tables_and_replace_scalars(tmp_path: Path) -> None:
    """An environment overrides single keys of [defaults] without restating the rest."""
    path = write(
        tmp_path,
        """
[defaults]
region = "eu-west-1"
retries = 3
[defaults.resources]
buckets = ["a-bucket", "b-bucket"]
lambdas = ["fn"]
[prod]
account_id = "123456789012"
retries = 0
[prod.resources]
buckets = ["c-bucket"]
""",
    )
    env = load(path)
    assert env.region == "eu-west-1"
    assert env.retries == 0
    assert env.resources == Resources(buckets=("c-bucket",), lambdas=("fn",))


def test_rollback_terraform_and_audit_tables(tmp_path: Path) -> None:
    """The readiness keys load; relative paths are taken from the environments file's folder."""
    body = (
        f"[prod]\n{VALID}"
        '[prod.terraform]\nstate_bucket = "tf-state"\nstate_key = "a/b.tfstate"\nrepo = "infra"\n'
        '[prod.rollback]\ncommand = ["rb.sh", "--target-version", "{target_ref}"]\n'
        'mode = "apply"\nauto_apply = true\ntimeout = 60\n'
        '[prod.audit]\ndirectory = "records"\nbucket = "audit-bucket"\nprefix = ""\n'
    )
    env = load(write(tmp_path, body))
    assert env.terraform is not None
    assert env.terraform.repo == tmp_path / "infra"
    assert env.terraform.lock_table is None and env.terraform.working_dir == "."
    assert env.rollback.command == ("rb.sh", "--target-version", "{target_ref}")
    assert (env.rollback.mode, env.rollback.auto_apply, env.rollback.timeout) == ("apply", True, 60)
    assert env.audit.directory == tmp_path / "records"
    assert (env.audit.bucket, env.audit.prefix) == ("audit-bucket", "")


def test_rollback_defaults_are_safe(tmp_path: Path) -> None:
    """Without a [rollback] table nothing is applied: dry-run, no auto-apply, no command."""
    env = load(write(tmp_path, f"[prod]\n{VALID}"))
    assert (env.rollback.mode, env.rollback.auto_apply, env.rollback.command) == (
        "dry-run",
        False,
        (),
    )
    assert env.terraform is None
    assert env.audit.directory == tmp_path / "reports" / "audit"


def test_built_in_defaults_without_a_defaults_table(tmp_path: Path) -> None:
    """Retries 1, retry delay 30 s and timeout 40 s apply when nothing in the file sets them."""
    env = load(write(tmp_path, f"[prod]\n{VALID}"))
    assert (env.retries, env.retry_delay, env.timeout) == (1, 30.0, 40.0)
    assert (env.profile, env.emulated, env.resources) == (None, False, Resources())


def test_a_typo_in_another_environment_does_not_stop_this_one(tmp_path: Path) -> None:
    """A broken [staging] never blocks a prod deployment check."""
    path = write(tmp_path, f'[prod]\n{VALID}\n[staging]\naccount_id = 42\nregoin = "x"\n')
    assert load(path).account_id == "123456789012"
    assert "[staging]" in config_error(path, "staging")


# ---------------------------------------------------------------- file-level errors


def test_missing_file_names_the_path_and_the_way_out(tmp_path: Path) -> None:
    """No environments file: say which path was looked for and how to name another."""
    missing = tmp_path / "nowhere" / "environments.toml"
    message = config_error(missing)
    assert str(missing) in message
    assert "not found" in message and "--targets PATH" in message


def test_a_directory_instead_of_a_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that cannot be read is a clean error, not an OSError traceback."""
    with pytest.raises(ConfigError, match="cannot read"):
        read_file(tmp_path)


def test_malformed_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    """A syntax error points at the file and the line to fix."""
    path = write(tmp_path, f"[prod]\n{VALID}retries = = 2\n")
    message = config_error(path)
    assert message.startswith(f"{path}: not valid TOML")
    assert "line 4" in message


def test_a_top_level_key_outside_any_table_is_refused(tmp_path: Path) -> None:
    """`region = ...` above the first table is not silently ignored."""
    path = write(tmp_path, f'region = "eu-west-1"\n[prod]\n{VALID}')
    message = config_error(path)
    assert str(path) in message and "'region'" in message and "[defaults]" in message


# ---------------------------------------------------------------- choosing an environment


def test_unknown_environment_lists_the_known_ones_without_defaults(tmp_path: Path) -> None:
    """`--env prd` says where the name came from and which names exist."""
    path = write(tmp_path, f"[defaults]\nretries = 1\n[prod]\n{VALID}[staging]\n{VALID}")
    message = config_error(path, "prd")
    assert message == f"{CHOSEN}: unknown environment 'prd' in {path}; known: prod, staging"


def test_defaults_is_not_an_environment(tmp_path: Path) -> None:
    """[defaults] holds shared settings; it cannot be checked as if it were a deployment."""
    path = write(tmp_path, f"[defaults]\n{VALID}[prod]\nretries = 1\n")
    message = config_error(path, "defaults")
    assert "unknown environment 'defaults'" in message
    assert message.endswith("known: prod")


# ---------------------------------------------------------------- key errors


RES = VALID + "[prod.resources]\n"
NO_REGION = 'region = "eu-west-1"\n'
NO_ACCOUNT = 'account_id = "123456789012"\n'
ERRORS = {
    # id: (what follows [prod], the "[table] key" named, more words expected)
    "unknown key": (VALID + "retires = 2", "[prod] unknown key 'retires'", VALID_KEYS),
    "unknown resource kind": (
        RES + 'bukets = ["a-b-c"]',
        "[prod.resources] unknown key 'bukets'",
        "valid keys: alarms, buckets, failure_topic, feeds, glue_jobs, lambdas, permissions, "
        "roles, state_machines, tables",
    ),
    "string for a bool": (VALID + 'emulated = "true"', "[prod] emulated:", "true or false"),
    "list of ints": (RES + "buckets = [1, 2]", "[prod.resources] buckets:", "list of names"),
    "bool for retries": (VALID + "retries = true", "[prod] retries:", "0 to 10"),
    "retries too high": (VALID + "retries = 11", "[prod] retries:", "0 to 10"),
    "negative delay": (VALID + "retry_delay = -1", "[prod] retry_delay:", "from 0 to 300"),
    "zero timeout": (VALID + "timeout = 0", "[prod] timeout:", "from 1 to 300"),
    "11-digit account": (NO_REGION + 'account_id = "12345678901"', "[prod] account_id:", "12-"),
    "letter in account": (NO_REGION + 'account_id = "12345678901a"', "[prod] account_id:", "12-"),
    "account as integer": (
        NO_REGION + "account_id = 123456789012",
        "[prod] account_id:",
        'write account_id = "123456789012"',
    ),
    "bad region": (NO_ACCOUNT + 'region = "Ireland"', "[prod] region:", '"eu-west-1"'),
    "no scheme": (VALID + 'endpoint_url = "localhost:4566"', "[prod] endpoint_url:", "http://"),
    "emulated with endpoint": (
        VALID + 'emulated = true\nendpoint_url = "http://localhost:4566"',
        "[prod] endpoint_url:",
        "emulated = true",
    ),
    "missing account": (NO_REGION, "[prod] account_id: missing", "needs account_id"),
    "missing region": (NO_ACCOUNT, "[prod] region: missing", "needs region"),
    "duplicate bucket": (
        RES + 'buckets = ["ohpen-bronze", "ohpen-bronze"]',
        "[prod.resources] buckets:",
        "'ohpen-bronze' twice",
    ),
    "uppercase bucket": (
        RES + 'buckets = ["Ohpen-Bronze"]',
        "[prod.resources] buckets:",
        "'Ohpen-Bronze' is not a valid S3 bucket name",
    ),
    "resources not a table": (VALID + 'resources = "all"', "[prod] resources:", "a table"),
    "feeds of an unknown resource": (
        RES + 'buckets = ["ohpen-bronze"]\n[prod.resources.feeds]\n"ohpen-gold" = ["x"]',
        "[prod.resources.feeds] 'ohpen-gold':",
        "known: ohpen-bronze",
    ),
    "feeds not a list": (
        RES + 'buckets = ["a-b-c"]\nfeeds = { "a-b-c" = "table x" }',
        "[prod.resources] feeds:",
        "list of strings",
    ),
    "terraform without state_key": (
        VALID + '[prod.terraform]\nstate_bucket = "ohpen-state"',
        "[prod.terraform] state_key: missing",
        "needs state_key",
    ),
    "unknown terraform key": (
        VALID + '[prod.terraform]\nstate_bucket = "ohpen-state"\nstate_key = "k"\nbackend = "s3"',
        "[prod.terraform] unknown key 'backend'",
        "valid keys: lock_table, repo, state_bucket, state_key, version, working_dir",
    ),
    "unknown rollback mode": (
        VALID + '[prod.rollback]\nmode = "yolo"',
        "[prod.rollback] mode:",
        "not one of: off, dry-run, apply",
    ),
    "unknown placeholder": (
        VALID + '[prod.rollback]\ncommand = ["rb.sh", "{target}"]',
        "[prod.rollback] command:",
        "unknown placeholder {target}; valid: {env}, {target_ref}, {state_version}",
    ),
    "empty command": (VALID + "[prod.rollback]\ncommand = []", "[prod.rollback] command:", "list"),
    "string auto_apply": (
        VALID + '[prod.rollback]\nauto_apply = "yes"',
        "[prod.rollback] auto_apply:",
        "true or false",
    ),
    "unknown audit key": (
        VALID + '[prod.audit]\ndir = "x"',
        "[prod.audit] unknown key 'dir'",
        "valid keys: bucket, directory, prefix",
    ),
}


@pytest.mark.parametrize(("body", "names", "explains"), ERRORS.values(), ids=ERRORS)
def test_each_mistake_is_one_line_naming_file_table_and_key(
    tmp_path: Path, body: str, names: str, explains: str
) -> None:
    """Every mistake in an environment is one line: the file, the [table] key, what is wrong."""
    path = write(tmp_path, f"[prod]\n{body}\n")
    message = config_error(path)
    assert message.startswith(f"{path}: {names}"), message
    assert explains in message


def test_a_mistake_in_defaults_is_reported_where_it_is_written(tmp_path: Path) -> None:
    """A bad value in [defaults] names [defaults], the table the user must edit."""
    path = write(tmp_path, f'[defaults]\ntimeout = "40s"\n[prod]\n{VALID}')
    assert config_error(path).startswith(f"{path}: [defaults] timeout:")


@pytest.mark.parametrize("value", ["us-gov-west-1", "ap-southeast-2", "eu-central-1"])
def test_real_region_names_are_accepted(tmp_path: Path, value: str) -> None:
    """The region check does not reject regions that exist."""
    path = write(tmp_path, f'[prod]\naccount_id = "123456789012"\nregion = "{value}"\n')
    assert load(path).region == value


@pytest.mark.parametrize("line", ["retry_delay = inf", "retry_delay = nan", "timeout = inf"])
def test_infinite_or_nan_seconds_are_refused(tmp_path: Path, line: str) -> None:
    """A delay or timeout of inf/nan can never be honoured, so the file should be refused."""
    with pytest.raises(ConfigError):
        load(write(tmp_path, f"[prod]\n{VALID}{line}\n"))


def test_account_id_must_be_ascii_digits(tmp_path: Path) -> None:
    """Arabic-Indic digits look like an account id but never match the one STS returns."""
    with pytest.raises(ConfigError):
        load(write(tmp_path, '[prod]\naccount_id = "١٢٣٤٥٦٧٨٩٠١٢"\nregion = "eu-west-1"\n'))


# ---------------------------------------------------------------- defaults declared once


def declared_default(item: Field[Any]) -> Any:
    """The default a dataclass field declares (its factory called)."""
    if item.default_factory is not MISSING:
        return item.default_factory()
    return item.default


def test_a_key_left_out_loads_as_the_dataclass_default(tmp_path: Path) -> None:
    """With only the required keys, every other field is what Environment declares."""
    env = load(write(tmp_path, f"[prod]\n{VALID}"))
    given = {"name", "source", "account_id", "region"}
    for item in fields(Environment):
        if item.name in given:
            continue
        expected = declared_default(item)
        if item.name == "audit":  # a relative directory is taken from the file's folder
            expected = replace(expected, directory=(tmp_path / expected.directory).resolve())
        assert getattr(env, item.name) == expected, item.name


def test_a_key_left_out_of_a_table_loads_as_that_tables_default(tmp_path: Path) -> None:
    """Each table holding only its required keys loads every other key as its class declares."""
    body = (
        f"[prod]\n{VALID}[prod.resources]\n[prod.rollback]\n[prod.security]\n"
        '[prod.audit]\nbucket = "ohpen-audit"\n'
        '[prod.terraform]\nstate_bucket = "ohpen-state"\nstate_key = "k"\n'
        '[prod.data.silver]\nbucket = "ohpen-silver"\n'
    )
    env = load(write(tmp_path, body))
    assert env.terraform is not None
    tables: list[tuple[Any, set[str]]] = [
        (env.resources, set()),
        (env.rollback, set()),
        (env.security, set()),
        (env.audit, {"bucket", "directory"}),
        (env.terraform, {"state_bucket", "state_key"}),
        (env.data["silver"], {"bucket"}),
    ]
    for loaded, given in tables:
        for item in fields(loaded):
            if item.name not in given:
                assert getattr(loaded, item.name) == declared_default(item), item.name
    assert env.audit.directory == tmp_path / DEFAULT_AUDIT_DIRECTORY


def test_the_documented_defaults(tmp_path: Path) -> None:
    """The defaults the README's key tables promise, for a file that sets none of them."""
    env = load(write(tmp_path, f'[prod]\n{VALID}[prod.data.silver]\nbucket = "ohpen-silver"\n'))
    assert (env.pipeline_timeout, env.e2e, env.drills, env.endpoint_url) == (
        900.0,
        True,
        False,
        None,
    )
    assert (env.rollback.timeout, env.rollback.mode) == (900.0, "dry-run")
    assert (env.security.kms, env.security.tls_policy) == (False, True)
    assert (env.audit.prefix, env.audit.bucket) == ("pytest-ohpen/audit", None)
    assert env.resources.feeds == {} and env.resources.failure_topic is None
    assert env.data == {"silver": DataLayer(bucket="ohpen-silver", prefix="")}
    tf = load(
        write(
            tmp_path,
            f'[prod]\n{VALID}[prod.terraform]\nstate_bucket = "ohpen-state"\nstate_key = "k"\n',
        )
    )
    assert tf.terraform == Terraform(
        "ohpen-state", "k", lock_table=None, version=None, repo=None, working_dir="."
    )


def test_file_values_load_as_the_types_the_checks_use(tmp_path: Path) -> None:
    """TOML lists load as tuples and whole seconds as floats, so values compare and hash alike."""
    body = (
        f"[prod]\n{VALID}retry_delay = 2\ntimeout = 5\npipeline_timeout = 7\n"
        '[prod.resources]\nbuckets = ["a-b-c"]\nlambdas = ["fn"]\n'
        '[prod.resources.feeds]\n"a-b-c" = ["table x"]\n'
        '[prod.rollback]\ncommand = ["rb.sh"]\ntimeout = 3\n'
        '[prod.data.gold]\nbucket = "go-ld"\nprefix = "g/"\n'
    )
    env = load(write(tmp_path, body))
    seconds = (env.retry_delay, env.timeout, env.pipeline_timeout, env.rollback.timeout)
    assert seconds == (2.0, 5.0, 7.0, 3.0)
    assert all(isinstance(value, float) for value in seconds)
    assert (env.resources.buckets, env.resources.lambdas) == (("a-b-c",), ("fn",))
    assert env.resources.feeds == {"a-b-c": ("table x",)}
    assert env.rollback.command == ("rb.sh",)
    assert env.data == {"gold": DataLayer(bucket="go-ld", prefix="g/")}
    assert env.affected_by("a-b-c") == ("table x",)


def test_required_keys_are_checked_after_defaults_merge(tmp_path: Path) -> None:
    """[defaults.terraform] may hold part of the table; the environment must complete it."""
    partial = '[defaults.terraform]\nstate_bucket = "ohpen-state"\n'
    path = write(tmp_path, f"{partial}[prod]\n{VALID}")
    assert config_error(path) == (
        f"{path}: [prod.terraform] state_key: missing; [terraform] needs state_key"
    )
    completed = write(tmp_path, f'{partial}[prod]\n{VALID}[prod.terraform]\nstate_key = "k"\n')
    terraform = load(completed).terraform
    assert terraform is not None and (terraform.state_bucket, terraform.state_key) == (
        "ohpen-state",
        "k",
    )


DATA_ERRORS = {
    "data not a table": (
        "data = 3",
        "data: must hold one table per layer, e.g. [prod.data.silver]",
    ),
    "layer not a table": (
        "[prod.data]\nsilver = 3",
        "data: silver: must be a table with bucket and prefix",
    ),
    "unknown layer key": (
        '[prod.data.silver]\nbucket = "abc"\nzzz = 1\naaa = 2',
        "data: silver: unknown key 'aaa'; valid keys: bucket, prefix",
    ),
    "no bucket": (
        '[prod.data.silver]\nprefix = "x"',
        "data: silver: bucket must be an S3 bucket name",
    ),
    "bad bucket": (
        '[prod.data.silver]\nbucket = "A"',
        "data: silver: bucket 'A' is not a valid S3 bucket name: must be 3 to 63 characters "
        "long, not 1",
    ),
    "bad prefix": (
        '[prod.data.silver]\nbucket = "abc"\nprefix = 3',
        "data: silver: prefix must be a string",
    ),
}


@pytest.mark.parametrize(("body", "problem"), DATA_ERRORS.values(), ids=DATA_ERRORS)
def test_each_data_layer_mistake_is_one_line(tmp_path: Path, body: str, problem: str) -> None:
    """A `[<env>.data.<layer>]` mistake names the layer and the key in one line."""
    path = write(tmp_path, f"[prod]\n{VALID}{body}\n")
    assert config_error(path) == f"{path}: [prod] {problem}"


TABLE_ERRORS = {
    "unknown security key": (
        "[prod.security]\nfoo = 1",
        "[prod.security] unknown key 'foo'; valid keys: kms, kms_key, require_encrypted_uploads, "
        "tls_policy",
    ),
    "unknown rollback key": (
        "[prod.rollback]\nmodes = 1",
        "[prod.rollback] unknown key 'modes'; valid keys: auto_apply, command, mode, timeout",
    ),
    "security not a table": (
        "security = true",
        "[prod] security: must be a table ([prod.security])",
    ),
    "bad security value": (
        "[prod.security]\nkms = 1",
        "[prod.security] kms: must be true or false",
    ),
    "audit prefix not a string": (
        "[prod.audit]\nprefix = 1",
        "[prod.audit] prefix: must be a string",
    ),
}


@pytest.mark.parametrize(("body", "message"), TABLE_ERRORS.values(), ids=TABLE_ERRORS)
def test_each_table_mistake_names_the_table(tmp_path: Path, body: str, message: str) -> None:
    """Keys of the [security], [rollback] and [audit] tables are checked like the top level."""
    path = write(tmp_path, f"[prod]\n{VALID}{body}\n")
    assert config_error(path) == f"{path}: {message}"
