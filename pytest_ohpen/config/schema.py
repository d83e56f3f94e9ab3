"""How each value of the environments file is checked (pure, no I/O).

A check returns None when a value is fine, else what is wrong, phrased so the user
knows the fix. Which key takes which check is declared on the dataclass fields in
``environments``; ``model`` turns a problem into one line naming file, table and key.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.config.names import NameRule, s3_bucket
from pytest_ohpen.records.redact import has_user_info, redact_text

Check = Callable[[Any], str | None]

ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
COMMIT_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
"""A commit id: abbreviated (7+) or full SHA-1 (40) / SHA-256 (64) hex digits; never a branch
name (a known-good mark names what was deployed, not what a ref points at later)."""
ROLLBACK_MODES = ("off", "dry-run", "apply")
PLACEHOLDERS = ("env", "target_ref", "state_version")


def string_value(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def text(value: Any) -> str | None:
    """Any string, empty allowed (a prefix may be empty)."""
    return None if isinstance(value, str) else "must be a string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


@dataclass(frozen=True)
class Range:
    """The values a number may take, so every number of the file and every option that
    overrides one is bounded alike: no overflow, no wait that never ends, no 1 ms timeout."""

    low: float
    high: float
    whole: bool = False
    """A count (retries) rather than seconds."""
    unit: str = "a number of seconds"
    """What a value that is not a whole count is, in the "must be" hint."""

    @property
    def wanted(self) -> str:
        what = "a whole number" if self.whole else self.unit
        return f"{what} from {self.low:g} to {self.high:g}"

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is in range, else "must be ... from LOW to HIGH"."""
        number = isinstance(value, int) if self.whole else isinstance(value, int | float)
        if isinstance(value, bool) or not number:
            return f"must be {self.wanted}"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"must be {self.wanted}, not {value!r}"
        return None


RETRIES = Range(0, 10, whole=True)
"""Reruns of a failed check (``retries``, ``--reruns``)."""
RETRY_DELAY = Range(0, 300)
"""The settle window before a retry (``retry_delay``, ``--reruns-delay``)."""
TIMEOUT = Range(1, 300)
"""One attempt of a check (``timeout``, ``--timeout``): AWS answers a healthy read in well
under a second, and botocore's own connect/read timeouts are tens of seconds."""
DEADLINE = Range(10, 3600)
"""The whole run, from preflight to the readiness report (``deadline``): the playbook's
2-minute budget by default, an hour at most."""
LONG_TIMEOUT = Range(1, 6 * 3600)
"""A pipeline run or the rollback command: hours, not aeons (``pipeline_timeout``,
``rollback.timeout``)."""


CONCURRENCY = Range(1, 64, whole=True)
"""AWS calls in flight at once in one process (``concurrency``). The checks' reads are
well under the lowest per-account read rates of the services they call (IAM ~20/s,
Lambda's and Glue's control planes tens per second, S3 thousands); a throttled call is
retried by botocore and, still throttled, is inconclusive, never a pass."""
BAKE_MINUTES = Range(0, 180, unit="a number of minutes")
"""How long the bake window watches the alarms after a deploy (``bake_minutes``,
``--bake-minutes``): 0 looks once (the alarms now and their history since the deploy);
CloudFormation's rollback triggers allow up to 180."""
DURATION_FACTOR = Range(1, 100, unit="a factor")
"""How much slower than its baseline a run may be before it fails
(``duration_regression_factor``)."""
PERMISSION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
"""One concrete IAM action, ``service:Action``: IAM's simulator judges actions, not patterns."""


def within(bounds: Range) -> Check:
    """The check of a number key bounded by ``bounds``."""
    return bounds.problem


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
    """An http(s) URL without user info: the URL is printed and stored in reports, audit
    records and Allure results, so a password in it would be published (and neither
    botocore nor the embedded account would use it)."""
    shown = redact_text(value) if isinstance(value, str) else value
    if isinstance(value, str) and has_user_info(value):
        return (
            f"{shown!r} holds a user name or password; AWS credentials belong in the AWS "
            "credential chain (a profile, the AWS_* environment variables, a role), not in "
            "the URL: remove the 'user:password@' part"
        )
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        return f"{shown!r} is not an http:// or https:// URL"
    return None


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"{value!r} is not one of: {', '.join(choices)}"

    return check


def name(rule: NameRule, what: str) -> Check:
    """One resource name, checked by its service's rule (``config.names``)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return f"must be a non-empty string, the {what} name"
        problem = rule(value)
        return f"{value!r} is not a valid {what} name: {problem}" if problem else None

    return check


def names(rule: NameRule, what: str) -> Check:
    """A list of resource names, each checked by its service's rule, none twice."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return 'must be a list of names, e.g. ["a", "b"]'
        for each in value:
            problem = rule(each)
            if problem:
                return f"{each!r} is not a valid {what} name: {problem}"
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


def permissions(value: Any) -> str | None:
    """``{"role" = ["s3:GetObject arn:aws:s3:::bucket/*", "sns:Publish"]}``: what else each
    role must be allowed, an action and optionally the resource (``*`` when left out)."""
    example = '["s3:GetObject arn:aws:s3:::ohpen-bronze/*"]'
    if not isinstance(value, dict):
        return f"must be a table of role = {example}"
    for role, specs in value.items():
        if not isinstance(specs, list) or not all(isinstance(v, str) for v in specs):
            return f"{role}: must be a list of strings, e.g. {example}"
        for spec in specs:
            action, _, resource = spec.strip().partition(" ")
            if not PERMISSION.fullmatch(action):
                return (
                    f"{role}: {spec!r}: the action must be one service:Action (no wildcard), "
                    f"e.g. {example}"
                )
            resource = resource.strip()
            if resource and resource != "*" and not resource.startswith("arn:"):
                return f"{role}: {spec!r}: the resource must be an ARN or *, e.g. {example}"
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


def bucket_name(value: Any) -> str | None:
    """One S3 bucket name (a data layer's ``bucket``)."""
    if not isinstance(value, str):
        return "must be an S3 bucket name"
    problem = s3_bucket(value)
    return f"{value!r} is not a valid S3 bucket name: {problem}" if problem else None
