"""The plugin's options, resolved once, in one fixed order: command line, environment
variable, ini file, default. Each value remembers where it came from, so an error
can say "--env 'prd' (command line)" or "OHPEN_ENV='prd' (environment variable)".
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_ohpen.config.schema import BAKE_MINUTES, COMMIT_SHA
from pytest_ohpen.errors import ConfigError

DEFAULT_TARGETS = "environments.toml"
DEFAULT_REPORT = "reports/readiness-<env>.json in the rootdir"
ROLLBACK_CHOICES = ("off", "dry-run", "apply")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
STATE_VERSION_WORDS = ("latest", "previous")
S3_VERSION_ID = re.compile(r"null|[A-Za-z0-9._+/=-]{16,1024}")
"""What an S3 version id can look like: ``null`` (an object written before versioning) or an
opaque URL-safe id of at most 1,024 bytes; S3's are 32 characters, moto's and MinIO's 36."""

HELP = {
    "env": "environment to check, a table of the environments file (env: OHPEN_ENV); "
    "required by the suites, e.g. --env local",
    "targets": "environments file (env: OHPEN_TARGETS, ini: ohpen_targets); "
    f"default: {DEFAULT_TARGETS} in the rootdir",
    "invoke_lambda": "also invoke each Lambda in the smoke suite "
    "(env: SMOKE_INVOKE_LAMBDA=1, ini: ohpen_invoke_lambda)",
    "emulator_omit": "embedded account only: provision everything but this resource "
    "(repeatable), to see a red run",
    "emulator_fault": "embedded account only: provision with this fault, NAME or NAME=RESOURCE "
    "(repeatable): glue-script-missing, glue-role-untrusted, etl-permission-denied, "
    "state-machine-bad-reference, schema-breaking-change, lambda-errors, "
    "glue-duration-regression, alarm-firing, service-wildcard-policy, encryption-changed, "
    "failing-pipeline, alarm-actions-disabled, public-bucket, wildcard-policy, drifted-glue-job",
    "target_state_version": "post-rollback: the state version whose configuration must be "
    "live again: a version id, 'latest' or 'previous' (default: the newest known-good mark)",
    "drill_fault": "the rollback drill's fault to inject: wrong-iam-policy, deleted-glue-job, "
    "public-access-block-removed or broken-lambda-config",
    "readiness_report": "where the rollback-readiness report goes (JSON; Markdown beside it) "
    f"(ini: ohpen_readiness_report); default: {DEFAULT_REPORT}",
    "rollback": "rollback trigger after failed checks: off, dry-run or apply "
    "(env: OHPEN_ROLLBACK); default: the environment's rollback.mode",
    "rollback_target": "git ref to roll back to (default: the known-good mark's commit, "
    "else HEAD~1)",
    "approved_by": "who approved an applied rollback (env: OHPEN_ROLLBACK_APPROVED_BY)",
    "notify": "publish a short summary of a failed run to the environment's failure topic",
    "bake_minutes": "suites/bake: how long after the deploy to watch the alarms, 0 to 180 "
    "minutes (default: the environment's bake_minutes; 0 looks once)",
    "deployed_commit": "the commit the deployment under test was applied from, recorded in "
    "a known-good mark (env: OHPEN_DEPLOYED_COMMIT); default: GITHUB_SHA or CI_COMMIT_SHA, "
    "else the rollback that produced the state version, else unknown",
}


def add_options(parser: pytest.Parser) -> None:
    """Register the ``ohpen`` option group and its ini settings."""
    group = parser.getgroup("ohpen", "pytest-ohpen: post-deployment checks")
    group.addoption("--env", dest="ohpen_env", metavar="NAME", help=HELP["env"])
    group.addoption("--targets", dest="ohpen_targets", metavar="PATH", help=HELP["targets"])
    group.addoption(
        "--invoke-lambda",
        dest="ohpen_invoke_lambda",
        action="store_true",
        default=None,
        help=HELP["invoke_lambda"],
    )
    group.addoption(
        "--emulator-omit",
        dest="ohpen_emulator_omit",
        action="append",
        default=[],
        metavar="NAME",
        help=HELP["emulator_omit"],
    )
    group.addoption(
        "--emulator-fault",
        dest="ohpen_emulator_fault",
        action="append",
        default=[],
        metavar="NAME[=RESOURCE]",
        help=HELP["emulator_fault"],
    )
    group.addoption(
        "--target-state-version",
        dest="ohpen_target_state_version",
        metavar="VERSION",
        help=HELP["target_state_version"],
    )
    group.addoption(
        "--drill-fault", dest="ohpen_drill_fault", metavar="NAME", help=HELP["drill_fault"]
    )
    group.addoption(
        "--readiness-report",
        dest="ohpen_readiness_report",
        metavar="PATH",
        help=HELP["readiness_report"],
    )
    group.addoption(
        "--rollback", dest="ohpen_rollback", choices=ROLLBACK_CHOICES, help=HELP["rollback"]
    )
    group.addoption(
        "--rollback-target",
        dest="ohpen_rollback_target",
        metavar="REF",
        help=HELP["rollback_target"],
    )
    group.addoption(
        "--rollback-approved-by", dest="ohpen_approved_by", metavar="NAME", help=HELP["approved_by"]
    )
    group.addoption(
        "--notify", dest="ohpen_notify", action="store_true", default=False, help=HELP["notify"]
    )
    group.addoption(
        "--deployed-commit",
        dest="ohpen_deployed_commit",
        metavar="SHA",
        help=HELP["deployed_commit"],
    )
    group.addoption(
        "--bake-minutes", dest="ohpen_bake_minutes", metavar="MINUTES", help=HELP["bake_minutes"]
    )
    parser.addini("ohpen_targets", HELP["targets"], default=None)
    parser.addini("ohpen_readiness_report", HELP["readiness_report"], default=None)
    parser.addini("ohpen_invoke_lambda", HELP["invoke_lambda"], type="bool", default=False)


@dataclass(frozen=True)
class Sourced:
    """A setting's value and how the user wrote it, for error messages."""

    value: str
    written: str
    """E.g. "--env 'prd' (command line)" or "OHPEN_ENV='prd' (environment variable)"."""


@dataclass(frozen=True)
class Settings:
    """Every option of the plugin, resolved."""

    env_name: Sourced | None
    targets: Path
    targets_source: str
    invoke_lambda: bool
    emulator_omit: tuple[str, ...]
    emulator_faults: tuple[str, ...] = ()
    target_state_version: str | None = None
    drill_fault: str | None = None
    readiness_report: Path | None = None
    """None: reports/readiness-<env>.json in the rootdir."""
    rollback_mode: str | None = None
    """None: the environment's rollback.mode."""
    rollback_target: str | None = None
    approved_by: str | None = None
    notify: bool = False
    deployed_commit: Sourced | None = None
    """None: CI's commit variable, else the rollback record, else unknown."""
    bake_minutes: float | None = None
    """None: the environment's bake_minutes."""


def resolve(config: pytest.Config) -> Settings:
    """Resolve every option: command line, then environment variable, then ini, then default."""
    env_name = first_given(config.getoption("ohpen_env"), "--env", "OHPEN_ENV")
    targets, targets_source = _targets(config)
    return Settings(
        env_name=env_name,
        targets=targets,
        targets_source=targets_source,
        invoke_lambda=_invoke_lambda(config),
        emulator_omit=tuple(config.getoption("ohpen_emulator_omit") or ()),
        emulator_faults=tuple(config.getoption("ohpen_emulator_fault") or ()),
        target_state_version=_target_state_version(config),
        drill_fault=config.getoption("ohpen_drill_fault"),
        readiness_report=_report_path(config),
        rollback_mode=_rollback_mode(config),
        rollback_target=config.getoption("ohpen_rollback_target"),
        approved_by=(
            config.getoption("ohpen_approved_by")
            or os.environ.get("OHPEN_ROLLBACK_APPROVED_BY")
            or ""
        ).strip()
        or None,
        notify=bool(config.getoption("ohpen_notify")),
        deployed_commit=_deployed_commit(config),
        bake_minutes=_bake_minutes(config.getoption("ohpen_bake_minutes")),
    )


def _bake_minutes(given: str | None) -> float | None:
    """``--bake-minutes`` as a number within the key's range; anything else one ConfigError."""
    if given is None:
        return None
    try:
        minutes = float(given)
    except ValueError:
        minutes = math.nan
    problem = BAKE_MINUTES.problem(minutes)
    if problem:
        raise ConfigError(f"--bake-minutes {given!r} (command line): {problem.split(', not')[0]}")
    return minutes


def _target_state_version(config: pytest.Config) -> str | None:
    return state_version_choice(config.getoption("ohpen_target_state_version"))


def state_version_choice(given: str | None) -> str | None:
    """``latest``, ``previous`` or something shaped like an S3 version id; anything else is
    a typo, a ConfigError before any check runs (whether the id exists, the checks say)."""
    if given is None or given in STATE_VERSION_WORDS or S3_VERSION_ID.fullmatch(given):
        return given
    raise ConfigError(
        f"--target-state-version {given!r} (command line): expected latest, previous or a "
        "version id of the state object (16 to 1024 of A-Z a-z 0-9 . _ + / = -); list them "
        "with `ohpen state versions --env NAME`"
    )


def _deployed_commit(config: pytest.Config) -> Sourced | None:
    given = first_given(
        (config.getoption("ohpen_deployed_commit") or "").strip() or None,
        "--deployed-commit",
        "OHPEN_DEPLOYED_COMMIT",
    )
    if given is None:
        return None
    sha = given.value.strip()
    if not COMMIT_SHA.fullmatch(sha):
        raise ConfigError(
            f"{given.written}: expected a commit SHA (7 to 64 hex digits), e.g. "
            "$(git rev-parse HEAD) of the checkout that was applied"
        )
    return Sourced(sha.lower(), given.written)


def default_report(rootdir: Path, environment: str) -> Path:
    """Where an environment's readiness report goes without ``--readiness-report``."""
    return rootdir / "reports" / f"readiness-{environment}.json"


def named_report(config: pytest.Config) -> Path | None:
    """This run's report path from the two options that name it alone, so a run whose other
    options are wrong (exit 4) can still retire an earlier report; None: no environment."""
    chosen = _report_path(config)
    if chosen:
        return chosen
    named = first_given(config.getoption("ohpen_env"), "--env", "OHPEN_ENV")
    return default_report(config.rootpath, named.value) if named else None


def _report_path(config: pytest.Config) -> Path | None:
    given = config.getoption("ohpen_readiness_report")
    if given:
        return Path(given).expanduser().resolve()
    ini = config.getini("ohpen_readiness_report")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / str(ini)).resolve()
    return None


def _rollback_mode(config: pytest.Config) -> str | None:
    given = config.getoption("ohpen_rollback")
    if given:
        return str(given)
    raw = os.environ.get("OHPEN_ROLLBACK")
    if raw is None or raw == "":
        return None
    if raw not in ROLLBACK_CHOICES:
        raise ConfigError(
            f"OHPEN_ROLLBACK={raw!r} (environment variable): expected one of "
            f"{', '.join(ROLLBACK_CHOICES)}"
        )
    return raw


def first_given(cli_value: str | None, option: str, variable: str) -> Sourced | None:
    """The command-line value, else the environment variable's, with how it was written
    (shared with the ``ohpen`` command, so both name a value's source alike)."""
    if cli_value:
        return Sourced(cli_value, f"{option} {cli_value!r} (command line)")
    value = os.environ.get(variable)
    if value:
        return Sourced(value, f"{variable}={value!r} (environment variable)")
    return None


def _targets(config: pytest.Config) -> tuple[Path, str]:
    given = first_given(config.getoption("ohpen_targets"), "--targets", "OHPEN_TARGETS")
    if given:
        return Path(given.value).expanduser().resolve(), given.written
    ini = config.getini("ohpen_targets")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / str(ini)).resolve(), f"ohpen_targets = {ini!r} (ini file)"
    return config.rootpath / DEFAULT_TARGETS, f"default: {DEFAULT_TARGETS} in the rootdir"


def _invoke_lambda(config: pytest.Config) -> bool:
    if config.getoption("ohpen_invoke_lambda"):
        return True
    raw = os.environ.get("SMOKE_INVOKE_LAMBDA")
    if raw is not None:
        word = raw.strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ConfigError(
            f"SMOKE_INVOKE_LAMBDA={raw!r} (environment variable): expected 1 or 0 (true/false)"
        )
    return bool(config.getini("ohpen_invoke_lambda"))
