"""Load and validate the environments file (``environments.toml``) into frozen dataclasses.

The file is a public format: each top-level table is an environment, ``[defaults]``
is merged under each one. Only the environment a run asks for is validated, so a
typo in ``staging`` never stops a ``prod`` deployment check. Every problem becomes
one :class:`ConfigError` line naming the file, the table and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ohpen.config.schema import REQUIRED, REQUIRED_IN, SPEC
from pytest_ohpen.errors import ConfigError

DEFAULTS_TABLE = "defaults"
DEFAULT_AUDIT_DIRECTORY = "reports/audit"
DEFAULT_AUDIT_PREFIX = "pytest-ohpen/audit"


@dataclass(frozen=True)
class Resources:
    """The deployed resources a suite checks, by kind; an empty kind is not checked."""

    buckets: tuple[str, ...] = ()
    glue_jobs: tuple[str, ...] = ()
    state_machines: tuple[str, ...] = ()
    lambdas: tuple[str, ...] = ()
    failure_topic: str | None = None
    """The SNS topic the pipeline reports failures to (``--notify`` publishes there)."""
    alarms: tuple[str, ...] = ()
    """CloudWatch alarms that must be operational (post-rollback monitoring checks)."""
    roles: tuple[str, ...] = ()
    """IAM roles of the pipeline whose policies must be least-privilege."""
    feeds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """What each resource feeds (tables, jobs), so a report can name what a failure affects."""

    def by_kind(self) -> dict[str, tuple[str, ...]]:
        """Each resource kind (the key in the file) with its names."""
        return {
            "buckets": self.buckets,
            "glue_jobs": self.glue_jobs,
            "state_machines": self.state_machines,
            "lambdas": self.lambdas,
            "alarms": self.alarms,
            "roles": self.roles,
        }

    def names(self) -> tuple[str, ...]:
        """Every resource name, in file order, kinds in a fixed order."""
        return tuple(name for names in self.by_kind().values() for name in names)


@dataclass(frozen=True)
class Terraform:
    """Where the environment's Terraform state and code live (``[<env>.terraform]``)."""

    state_bucket: str
    state_key: str
    lock_table: str | None = None
    version: str | None = None
    """The pinned Terraform version, e.g. "1.5.0"."""
    repo: Path | None = None
    """The git checkout holding the Terraform code; None: the one pytest runs in."""
    working_dir: str = "."


@dataclass(frozen=True)
class RollbackSettings:
    """How a failed run triggers the rollback command (``[<env>.rollback]``)."""

    command: tuple[str, ...] = ()
    mode: str = "dry-run"
    auto_apply: bool = False
    timeout: float = 900.0


@dataclass(frozen=True)
class Audit:
    """Where records go (``[<env>.audit]``): a local directory and optionally S3."""

    directory: Path
    bucket: str | None = None
    prefix: str = DEFAULT_AUDIT_PREFIX


@dataclass(frozen=True)
class DataLayer:
    """Where a data layer's runs and promotion pointer live (``[<env>.data.<layer>]``)."""

    bucket: str
    prefix: str = ""


@dataclass(frozen=True)
class Security:
    """What the security-posture checks expect (``[<env>.security]``)."""

    kms: bool = False
    """Data buckets must use SSE-KMS default encryption."""
    tls_policy: bool = True
    """Data buckets must deny non-TLS access in their bucket policy."""


@dataclass(frozen=True)
class Environment:
    """One deployment target: which account and region, how to reach it, what to check."""

    name: str
    source: Path
    account_id: str
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    emulated: bool = False
    retries: int = 1
    retry_delay: float = 30.0
    timeout: float = 40.0
    resources: Resources = field(default_factory=Resources)
    terraform: Terraform | None = None
    rollback: RollbackSettings = field(default_factory=lambda: RollbackSettings())
    audit: Audit = field(default_factory=lambda: Audit(Path(DEFAULT_AUDIT_DIRECTORY)))
    e2e: bool = True
    """Whether the post-rollback suite may start a pipeline execution here."""
    pipeline_timeout: float = 900.0
    security: Security = field(default_factory=Security)
    drills: bool = False
    """Whether the quarterly rollback drill may run here (never in prod)."""
    data: Mapping[str, DataLayer] = field(default_factory=dict)

    def affected_by(self, resource: str) -> tuple[str, ...]:
        """What the resource feeds, as configured (empty when nothing is said)."""
        return tuple(self.resources.feeds.get(resource, ()))


# ---------------------------------------------------------------- loading


def read_file(path: Path, chosen_by: str = "") -> dict[str, Any]:
    """Parse the TOML file; a missing or malformed file is one ConfigError line.

    ``chosen_by`` says how the path was chosen, e.g. "--targets 'x.toml' (command line)".
    """
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        how = f" ({chosen_by})" if chosen_by else ""
        raise ConfigError(
            f"{path}: environments file not found{how}; create it (see README, "
            "'The environments file') or name another with --targets PATH"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the environments file: {error.strerror}") from None


def environment_names(document: Mapping[str, Any]) -> list[str]:
    """The environments a file defines: its top-level tables except [defaults]."""
    return sorted(
        key for key, value in document.items() if key != DEFAULTS_TABLE and isinstance(value, dict)
    )


def load_environment(
    path: Path, name: str, chosen_by: str, path_chosen_by: str = ""
) -> Environment:
    """Read ``path`` and validate environment ``name``; ``chosen_by`` names its source."""
    document = read_file(path, path_chosen_by)
    stray = sorted(key for key, value in document.items() if not isinstance(value, dict))
    if stray:
        raise ConfigError(
            f"{path}: top-level key {stray[0]!r} is not an environment table; "
            "put settings inside [defaults] or an [<environment>] table"
        )
    known = environment_names(document)
    if name not in document or name == DEFAULTS_TABLE:
        listing = ", ".join(known) or "none"
        raise ConfigError(f"{chosen_by}: unknown environment {name!r} in {path}; known: {listing}")
    defaults = document.get(DEFAULTS_TABLE, {})
    _validate(path, DEFAULTS_TABLE, defaults, SPEC)  # a typo there is reported as [defaults]
    _validate(path, name, document[name], SPEC)
    return _build(path, name, _merge(defaults, document[name]))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` over ``base`` (tables merge, everything else replaces)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(path: Path, table: str, values: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if key not in spec:
            valid = ", ".join(sorted(spec))
            raise ConfigError(f"{path}: [{table}] unknown key {key!r}; valid keys: {valid}")
        check = spec[key]
        if isinstance(check, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{table}] {key}: must be a table ([{table}.{key}])")
            _validate(path, f"{table}.{key}", value, check)
            continue
        problem = check(value)
        if problem:
            raise ConfigError(f"{path}: [{table}] {key}: {problem}")


def _build(path: Path, name: str, values: dict[str, Any]) -> Environment:
    """The Environment from validated, merged values; checks what needs several keys."""
    for key in REQUIRED:
        if key not in values:
            raise ConfigError(f"{path}: [{name}] {key}: missing; every environment needs {key}")
    for table, keys in REQUIRED_IN.items():
        for key in keys:
            if table in values and key not in values[table]:
                raise ConfigError(f"{path}: [{name}.{table}] {key}: missing; [{table}] needs {key}")
    if values.get("emulated") and "endpoint_url" in values:
        raise ConfigError(
            f"{path}: [{name}] endpoint_url: not allowed with emulated = true "
            "(the embedded account picks its own address); remove one of them"
        )
    base = path.parent
    resources = _resources(path, name, values.get("resources", {}))
    return Environment(
        name=name,
        source=path,
        account_id=values["account_id"],
        region=values["region"],
        profile=values.get("profile"),
        endpoint_url=values.get("endpoint_url"),
        emulated=values.get("emulated", False),
        retries=values.get("retries", 1),
        retry_delay=float(values.get("retry_delay", 30.0)),
        timeout=float(values.get("timeout", 40.0)),
        resources=resources,
        terraform=_terraform(base, values["terraform"]) if "terraform" in values else None,
        rollback=_rollback(values.get("rollback", {})),
        audit=_audit(base, values.get("audit", {})),
        e2e=values.get("e2e", True),
        pipeline_timeout=float(values.get("pipeline_timeout", 900.0)),
        security=Security(**values.get("security", {})),
        drills=values.get("drills", False),
        data={layer: DataLayer(**table) for layer, table in values.get("data", {}).items()},
    )


def _resources(path: Path, name: str, values: dict[str, Any]) -> Resources:
    kinds = {k: tuple(v) for k, v in values.items() if k not in ("feeds", "failure_topic")}
    known = {n for kind, names in kinds.items() if kind not in ("alarms", "roles") for n in names}
    feeds = values.get("feeds", {})
    for resource in feeds:
        if resource not in known:
            raise ConfigError(
                f"{path}: [{name}.resources.feeds] {resource!r}: not one of the environment's "
                f"resources; known: {', '.join(sorted(known)) or 'none'}"
            )
    return Resources(
        **kinds,
        failure_topic=values.get("failure_topic"),
        feeds={resource: tuple(fed) for resource, fed in feeds.items()},
    )


def _terraform(base: Path, values: dict[str, Any]) -> Terraform:
    repo = values.get("repo")
    return Terraform(
        state_bucket=values["state_bucket"],
        state_key=values["state_key"],
        lock_table=values.get("lock_table"),
        version=values.get("version"),
        repo=(base / repo).resolve() if repo else None,
        working_dir=values.get("working_dir", "."),
    )


def _rollback(values: dict[str, Any]) -> RollbackSettings:
    return RollbackSettings(
        command=tuple(values.get("command", ())),
        mode=values.get("mode", "dry-run"),
        auto_apply=values.get("auto_apply", False),
        timeout=float(values.get("timeout", 900.0)),
    )


def _audit(base: Path, values: dict[str, Any]) -> Audit:
    return Audit(
        directory=(base / values.get("directory", DEFAULT_AUDIT_DIRECTORY)).resolve(),
        bucket=values.get("bucket"),
        prefix=values.get("prefix", DEFAULT_AUDIT_PREFIX),
    )
