"""Load and validate the environments file (``environments.toml``) into frozen dataclasses.

The file is a public format: each top-level table is an environment, ``[defaults]``
is merged under each one. Only the environment a run asks for is validated, so a
typo in ``staging`` never stops a ``prod`` deployment check. Every problem becomes
one :class:`ConfigError` line naming the file, the table and the key.

The dataclasses below are the file's model, declared once: each field says its key's
check and default (``config.model``), and the valid keys, the required keys and the
loaded values follow from them. Only the rules that span keys are written out here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_ohpen.config import names, schema
from pytest_ohpen.config.model import (
    build,
    key,
    keys,
    model,
    require,
    required,
    table,
    valid_keys,
    validate,
)
from pytest_ohpen.config.names import NameRule
from pytest_ohpen.config.schema import (
    BAKE_MINUTES,
    CONCURRENCY,
    DEADLINE,
    DURATION_FACTOR,
    LONG_TIMEOUT,
    RETRIES,
    RETRY_DELAY,
    TIMEOUT,
    within,
)
from pytest_ohpen.errors import ConfigError

DEFAULTS_TABLE = "defaults"
DEFAULT_AUDIT_DIRECTORY = "reports/audit"
DEFAULT_AUDIT_PREFIX = "pytest-ohpen/audit"


def _names(rule: NameRule, what: str) -> Any:
    """A list-of-names key: each checked by its service's ``rule``, loaded as a tuple, empty
    by default."""
    return key(schema.names(rule, what), default=(), convert=tuple)


def _feeds(value: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {resource: tuple(fed) for resource, fed in value.items()}


@dataclass(frozen=True)
class Permission:
    """One action a role must be allowed, on one resource (``*``: any)."""

    action: str
    resource: str = "*"


def _permissions(value: Mapping[str, list[str]]) -> dict[str, tuple[Permission, ...]]:
    def parsed(spec: str) -> Permission:
        action, _, resource = spec.strip().partition(" ")
        return Permission(action, resource.strip() or "*")

    return {role: tuple(parsed(spec) for spec in specs) for role, specs in value.items()}


@model
class Resources:
    """The deployed resources a suite checks, by kind; an empty kind is not checked."""

    buckets: tuple[str, ...] = _names(names.s3_bucket, "S3 bucket")
    glue_jobs: tuple[str, ...] = _names(names.glue_job, "Glue job")
    state_machines: tuple[str, ...] = _names(names.state_machine, "state machine")
    lambdas: tuple[str, ...] = _names(names.lambda_function, "Lambda function")
    failure_topic: str | None = key(schema.name(names.sns_topic, "SNS topic"), default=None)
    """The SNS topic the pipeline reports failures to (``--notify`` publishes there)."""
    alarms: tuple[str, ...] = _names(names.cloudwatch_alarm, "CloudWatch alarm")
    """CloudWatch alarms that must be operational (post-rollback monitoring checks)."""
    roles: tuple[str, ...] = _names(names.iam_role, "IAM role")
    """IAM roles of the pipeline whose policies must be least-privilege."""
    feeds: Mapping[str, tuple[str, ...]] = key(schema.feeds, default_factory=dict, convert=_feeds)
    """What each resource feeds (tables, jobs), so a report can name what a failure affects."""
    tables: tuple[str, ...] = _names(names.glue_table, "Glue catalog table")
    """Glue Data Catalog tables (``database.table``) whose schema must stay compatible."""
    permissions: Mapping[str, tuple[Permission, ...]] = key(
        schema.permissions, default_factory=dict, convert=_permissions
    )
    """Actions a role must be allowed beyond what the stack shows it needs."""

    def by_kind(self) -> dict[str, tuple[str, ...]]:
        """Each resource kind (the key in the file) with its names."""
        return {
            "buckets": self.buckets,
            "glue_jobs": self.glue_jobs,
            "state_machines": self.state_machines,
            "lambdas": self.lambdas,
            "alarms": self.alarms,
            "roles": self.roles,
            "tables": self.tables,
        }

    def names(self) -> tuple[str, ...]:
        """Every resource name, in file order, kinds in a fixed order."""
        return tuple(name for names in self.by_kind().values() for name in names)


@model
class Terraform:
    """Where the environment's Terraform state and code live (``[<env>.terraform]``)."""

    state_bucket: str = key(schema.name(names.s3_bucket, "S3 bucket"))
    state_key: str = key(schema.string_value)
    lock_table: str | None = key(schema.name(names.dynamodb_table, "DynamoDB table"), default=None)
    version: str | None = key(schema.string_value, default=None)
    """The pinned Terraform version, e.g. "1.5.0"."""
    repo: Path | None = key(schema.string_value, default=None, convert=Path)
    """The git checkout holding the Terraform code; None: the one pytest runs in."""
    working_dir: str = key(schema.string_value, default=".")


@model
class RollbackSettings:
    """How a failed run triggers the rollback command (``[<env>.rollback]``)."""

    command: tuple[str, ...] = key(schema.command, default=(), convert=tuple)
    mode: str = key(schema.one_of(*schema.ROLLBACK_MODES), default="dry-run")
    auto_apply: bool = key(schema.boolean, default=False)
    timeout: float = key(within(LONG_TIMEOUT), default=900.0, convert=float)


@model
class Audit:
    """Where records go (``[<env>.audit]``): a local directory and optionally S3."""

    directory: Path = key(schema.string_value, default=Path(DEFAULT_AUDIT_DIRECTORY), convert=Path)
    """Relative to the environments file's folder once loaded."""
    bucket: str | None = key(schema.name(names.s3_bucket, "S3 bucket"), default=None)
    prefix: str = key(schema.text, default=DEFAULT_AUDIT_PREFIX)


@model
class DataLayer:
    """Where a data layer's runs and promotion pointer live (``[<env>.data.<layer>]``)."""

    bucket: str = key(schema.bucket_name)
    prefix: str = key(schema.text, default="")


@model
class Security:
    """What the security-posture checks expect (``[<env>.security]``)."""

    kms: bool = key(schema.boolean, default=False)
    """Data buckets must use SSE-KMS default encryption."""
    tls_policy: bool = key(schema.boolean, default=True)
    """Data buckets must deny non-TLS access in their bucket policy."""
    kms_key: str | None = key(schema.string_value, default=None)
    """With ``kms``: the key the buckets' default encryption must use (ARN, id or alias)."""
    require_encrypted_uploads: bool = key(schema.boolean, default=False)
    """Data buckets' policies must deny uploads that do not ask for server-side encryption."""


def _data_layers(value: Any) -> str | None:
    """``[<env>.data.<layer>]`` tables, each holding DataLayer's keys."""
    if not isinstance(value, dict):
        return "must hold one table per layer, e.g. [prod.data.silver]"
    declared = {item.name: (item, spec) for item, spec in keys(DataLayer)}
    for layer, values in value.items():
        if not isinstance(values, dict):
            return f"{layer}: must be a table with {' and '.join(declared)}"
        unknown = sorted(set(values) - set(declared))
        if unknown:
            return f"{layer}: unknown key {unknown[0]!r}; valid keys: {valid_keys(DataLayer)}"
        for name, (item, spec) in declared.items():
            if name in values or required(item):  # a missing bucket reads as a bad one
                problem = spec.check(values.get(name)) if spec.check else None
                if problem:
                    return f"{layer}: {name} {problem}"
    return None


def _layers(value: Mapping[str, Mapping[str, Any]]) -> dict[str, DataLayer]:
    return {layer: build(DataLayer, values) for layer, values in value.items()}


@model
class Environment:
    """One deployment target: which account and region, how to reach it, what to check."""

    name: str
    source: Path
    account_id: str = key(schema.account_id)
    region: str = key(schema.region)
    profile: str | None = key(schema.string_value, default=None)
    endpoint_url: str | None = key(schema.endpoint, default=None)
    emulated: bool = key(schema.boolean, default=False)
    retries: int = key(within(RETRIES), default=1)
    retry_delay: float = key(within(RETRY_DELAY), default=30.0, convert=float)
    timeout: float = key(within(TIMEOUT), default=40.0, convert=float)
    deadline: float = key(within(DEADLINE), default=120.0, convert=float)
    """Seconds the whole run may take from preflight: every check attempt, retry wait and
    readiness call is bounded by what is left; what runs out is inconclusive."""
    concurrency: int = key(within(CONCURRENCY), default=16)
    """AWS calls in flight at once: the checks' first attempts and the readiness probes."""
    resources: Resources = table(Resources, default_factory=Resources)
    terraform: Terraform | None = table(Terraform, default=None)
    rollback: RollbackSettings = table(RollbackSettings, default_factory=RollbackSettings)
    audit: Audit = table(Audit, default_factory=Audit)
    e2e: bool = key(schema.boolean, default=True)
    """Whether the post-rollback suite may start a pipeline execution here."""
    pipeline_timeout: float = key(within(LONG_TIMEOUT), default=900.0, convert=float)
    security: Security = table(Security, default_factory=Security)
    drills: bool = key(schema.boolean, default=False)
    """Whether the quarterly rollback drill may run here (never in prod)."""
    data: Mapping[str, DataLayer] = key(_data_layers, default_factory=dict, convert=_layers)
    duration_regression_factor: float = key(within(DURATION_FACTOR), default=3.0, convert=float)
    """A run slower than this times the median of the runs before it fails (suites/bake)."""
    bake_minutes: float = key(within(BAKE_MINUTES), default=0.0, convert=float)
    """How long after the deploy the bake window watches the alarms (suites/bake)."""

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
    except UnicodeDecodeError as error:  # TOML is UTF-8 by definition
        raise ConfigError(
            f"{path}: not UTF-8 (byte {error.start} is {error.object[error.start]:#04x}); "
            "save the environments file as UTF-8"
        ) from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError(
            f"{path}: not readable: arrays or tables nested too deeply for the TOML parser; "
            "an environments file needs only a few levels"
        ) from None
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
    validate(path, DEFAULTS_TABLE, defaults, Environment)  # a typo there is named [defaults]
    validate(path, name, document[name], Environment)
    return _build(path, name, _merge(defaults, document[name]))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` over ``base`` (tables merge, everything else replaces)."""
    merged = dict(base)
    for each, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(each), dict):
            merged[each] = _merge(merged[each], value)
        else:
            merged[each] = value
    return merged


def _build(path: Path, name: str, values: dict[str, Any]) -> Environment:
    """The Environment from validated, merged values; checks what needs several keys."""
    require(path, name, values, Environment)
    if values.get("emulated") and "endpoint_url" in values:
        raise ConfigError(
            f"{path}: [{name}] endpoint_url: not allowed with emulated = true "
            "(the embedded account picks its own address); remove one of them"
        )
    env = build(Environment, values, name=name, source=path)
    _check_feeds(path, name, env.resources)
    _check_permissions(path, name, env.resources)
    base = path.parent  # relative paths in the file are relative to its folder
    terraform = env.terraform
    if terraform is not None and terraform.repo is not None:
        terraform = replace(terraform, repo=(base / terraform.repo).resolve())
    audit = replace(env.audit, directory=(base / env.audit.directory).resolve())
    return replace(env, terraform=terraform, audit=audit)


def _check_permissions(path: Path, name: str, resources: Resources) -> None:
    """``[resources.permissions]`` may only name the environment's roles."""
    for role in resources.permissions:
        if role not in resources.roles:
            raise ConfigError(
                f"{path}: [{name}.resources.permissions] {role!r}: not one of the environment's "
                f"roles; known: {', '.join(resources.roles) or 'none'} (add it to roles)"
            )


def _check_feeds(path: Path, name: str, resources: Resources) -> None:
    """``[resources.feeds]`` may only name the environment's buckets, jobs, machines, lambdas."""
    kinds = resources.by_kind()
    known = {
        n for kind in ("buckets", "glue_jobs", "state_machines", "lambdas") for n in kinds[kind]
    }
    for resource in resources.feeds:
        if resource not in known:
            raise ConfigError(
                f"{path}: [{name}.resources.feeds] {resource!r}: not one of the environment's "
                f"resources; known: {', '.join(sorted(known)) or 'none'}"
            )
