"""The environments file's keys and how each value is checked (pure, no I/O).

A check returns None when a value is fine, else what is wrong, phrased so the user
knows the fix. ``environments`` turns that into one line naming file, table and key.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], str | None]

ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
RESOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@/-]{0,254}")
ROLLBACK_MODES = ("off", "dry-run", "apply")
PLACEHOLDERS = ("env", "target_ref", "state_version")


def string_value(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def text(value: Any) -> str | None:
    """Any string, empty allowed (a prefix may be empty)."""
    return None if isinstance(value, str) else "must be a string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        return "must be a whole number from 0 to 10"
    return None


def seconds(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of seconds, 0 or more"
    if not math.isfinite(value) or value < 0:
        return "must be a finite number of seconds, 0 or more"
    return None


def positive_seconds(value: Any) -> str | None:
    problem = seconds(value)
    return problem or (None if value > 0 else "must be a number of seconds above 0")


def account_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return f'must be a quoted string of 12 digits (write account_id = "{value:012d}")'
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        return f"{value!r} is not a 12-digit AWS account id"
    return None


def region(value: Any) -> str | None:
    if not isinstance(value, str) or not REGION.fullmatch(value):
        return f'{value!r} is not an AWS region name such as "eu-west-1"'
    return None


def endpoint(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        return f"{value!r} is not an http:// or https:// URL"
    return None


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"{value!r} is not one of: {', '.join(choices)}"

    return check


def names(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return 'must be a list of names, e.g. ["a", "b"]'
        for name in value:
            if not pattern.fullmatch(name):
                return f"{name!r} is not a valid {what} name"
        duplicates = sorted({name for name in value if value.count(name) > 1})
        return f"lists {duplicates[0]!r} twice" if duplicates else None

    return check


def feeds(value: Any) -> str | None:
    """``{"ohpen-silver" = ["table silver.transactions", ...]}``: what each resource feeds."""
    if not isinstance(value, dict):
        return 'must be a table of resource = ["what it feeds", ...]'
    for resource, fed in value.items():
        if not isinstance(fed, list) or not all(isinstance(v, str) and v for v in fed):
            return f'{resource}: must be a list of strings, e.g. ["table silver.transactions"]'
    return None


def command(value: Any) -> str | None:
    """An argv list; placeholders limited to {env}, {target_ref}, {state_version}."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return 'must be a non-empty list of strings, e.g. ["scripts/rollback_terraform.sh"]'
    for arg in value:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError as error:
            return f"{arg!r}: {error} (write {{{{ and }}}} for literal braces)"
        unknown = [f for f in fields if f not in PLACEHOLDERS]
        if unknown:
            valid = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"{arg!r}: unknown placeholder {{{unknown[0]}}}; valid: {valid}"
    return None


def data_layers(value: Any) -> str | None:
    """``[<env>.data.<layer>]`` tables, each with ``bucket`` and ``prefix``."""
    if not isinstance(value, dict):
        return "must hold one table per layer, e.g. [prod.data.silver]"
    for layer, table in value.items():
        if not isinstance(table, dict):
            return f"{layer}: must be a table with bucket and prefix"
        unknown = sorted(set(table) - {"bucket", "prefix"})
        if unknown:
            return f"{layer}: unknown key {unknown[0]!r}; valid keys: bucket, prefix"
        if not isinstance(table.get("bucket"), str) or not BUCKET_NAME.fullmatch(table["bucket"]):
            return f"{layer}: bucket must be an S3 bucket name"
        if not isinstance(table.get("prefix", ""), str):
            return f"{layer}: prefix must be a string"
    return None


ENVIRONMENT_KEYS: dict[str, Check] = {
    "account_id": account_id,
    "region": region,
    "profile": string_value,
    "endpoint_url": endpoint,
    "emulated": boolean,
    "retries": count,
    "retry_delay": seconds,
    "timeout": positive_seconds,
    "e2e": boolean,
    "pipeline_timeout": positive_seconds,
    "drills": boolean,
    "data": data_layers,
}
RESOURCE_KEYS: dict[str, Check] = {
    "buckets": names(BUCKET_NAME, "S3 bucket"),
    "glue_jobs": names(RESOURCE_NAME, "Glue job"),
    "state_machines": names(RESOURCE_NAME, "state machine"),
    "lambdas": names(RESOURCE_NAME, "Lambda function"),
    "failure_topic": string_value,
    "alarms": names(RESOURCE_NAME, "CloudWatch alarm"),
    "roles": names(RESOURCE_NAME, "IAM role"),
    "feeds": feeds,
}
SECURITY_KEYS: dict[str, Check] = {
    "kms": boolean,
    "tls_policy": boolean,
}
TERRAFORM_KEYS: dict[str, Check] = {
    "state_bucket": string_value,
    "state_key": string_value,
    "lock_table": string_value,
    "version": string_value,
    "repo": string_value,
    "working_dir": string_value,
}
ROLLBACK_KEYS: dict[str, Check] = {
    "command": command,
    "mode": one_of(*ROLLBACK_MODES),
    "auto_apply": boolean,
    "timeout": positive_seconds,
}
AUDIT_KEYS: dict[str, Check] = {
    "directory": string_value,
    "bucket": string_value,
    "prefix": text,
}
SPEC: dict[str, Any] = {
    **ENVIRONMENT_KEYS,
    "resources": RESOURCE_KEYS,
    "terraform": TERRAFORM_KEYS,
    "rollback": ROLLBACK_KEYS,
    "audit": AUDIT_KEYS,
    "security": SECURITY_KEYS,
}
"""Each key of an environment: a check, or a nested table of checks."""
REQUIRED = ("account_id", "region")
REQUIRED_IN = {"terraform": ("state_bucket", "state_key")}
