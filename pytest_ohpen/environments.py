"""Load and validate the environments file (``environments.toml``) into frozen dataclasses.

The file is a public format: each top-level table is an environment, ``[defaults]``
is merged under each one. Only the environment a run asks for is validated, so a
typo in ``staging`` never stops a ``prod`` deployment check. Every problem becomes
one :class:`ConfigError` line naming the file, the table and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ohpen.errors import ConfigError

DEFAULTS_TABLE = "defaults"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
RESOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@/-]{0,254}")


@dataclass(frozen=True)
class Resources:
    """The deployed resources a suite checks, by kind; an empty kind is not checked."""

    buckets: tuple[str, ...] = ()
    glue_jobs: tuple[str, ...] = ()
    state_machines: tuple[str, ...] = ()
    lambdas: tuple[str, ...] = ()

    def by_kind(self) -> dict[str, tuple[str, ...]]:
        """Each resource kind (the key in the file) with its names."""
        return {
            "buckets": self.buckets,
            "glue_jobs": self.glue_jobs,
            "state_machines": self.state_machines,
            "lambdas": self.lambdas,
        }

    def names(self) -> tuple[str, ...]:
        """Every resource name, in file order, kinds in a fixed order."""
        return tuple(name for names in self.by_kind().values() for name in names)


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


# ---------------------------------------------------------------- validation

Check = Callable[[Any], str | None]
"""Returns None when the value is fine, else what is wrong and how to fix it."""


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        return "must be a whole number from 0 to 10"
    return None


def _seconds(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of seconds, 0 or more"
    if not math.isfinite(value) or value < 0:
        return "must be a finite number of seconds, 0 or more"
    return None


def _positive_seconds(value: Any) -> str | None:
    problem = _seconds(value)
    return problem or (None if value > 0 else "must be a number of seconds above 0")


def _account_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return f'must be a quoted string of 12 digits (write account_id = "{value:012d}")'
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        return f"{value!r} is not a 12-digit AWS account id"
    return None


def _region(value: Any) -> str | None:
    if not isinstance(value, str) or not REGION.fullmatch(value):
        return f'{value!r} is not an AWS region name such as "eu-west-1"'
    return None


def _endpoint(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        return f"{value!r} is not an http:// or https:// URL"
    return None


def _names(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return 'must be a list of names, e.g. ["a", "b"]'
        for name in value:
            if not pattern.fullmatch(name):
                return f"{name!r} is not a valid {what} name"
        duplicates = sorted({name for name in value if value.count(name) > 1})
        return f"lists {duplicates[0]!r} twice" if duplicates else None

    return check


ENVIRONMENT_KEYS: dict[str, Check] = {
    "account_id": _account_id,
    "region": _region,
    "profile": _string,
    "endpoint_url": _endpoint,
    "emulated": _bool,
    "retries": _count,
    "retry_delay": _seconds,
    "timeout": _positive_seconds,
}
RESOURCE_KEYS: dict[str, Check] = {
    "buckets": _names(BUCKET_NAME, "S3 bucket"),
    "glue_jobs": _names(RESOURCE_NAME, "Glue job"),
    "state_machines": _names(RESOURCE_NAME, "state machine"),
    "lambdas": _names(RESOURCE_NAME, "Lambda function"),
}
TABLES = {"resources": RESOURCE_KEYS}
SPEC: dict[str, Any] = {**ENVIRONMENT_KEYS, **TABLES}
REQUIRED = ("account_id", "region")


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
    if values.get("emulated") and "endpoint_url" in values:
        raise ConfigError(
            f"{path}: [{name}] endpoint_url: not allowed with emulated = true "
            "(the embedded account picks its own address); remove one of them"
        )
    resources = values.get("resources", {})
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
        resources=Resources(**{kind: tuple(names) for kind, names in resources.items()}),
    )
