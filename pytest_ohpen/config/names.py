"""Resource names by each AWS service's own naming rules (pure, no I/O).

A name the service would never accept cannot be deployed, so a check of it can only
fail: refusing it when the environments file is read turns "the deployment is
unhealthy" (exit 1, maybe a rollback) into what it is, a typo in the file (exit 4).
Each rule returns None for a valid name, else why the service refuses it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

NameRule = Callable[[str], str | None]

_BUCKET_CHARS = re.compile(r"[a-z0-9.-]+")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_GLUE_CATALOG = re.compile(r"[a-z0-9_-]+")
_LAMBDA = re.compile(r"[A-Za-z0-9_-]+")
_SNS = re.compile(r"[A-Za-z0-9_-]+(\.fifo)?")
_IAM_ROLE = re.compile(r"[A-Za-z0-9_+=,.@-]+")
_DYNAMODB_TABLE = re.compile(r"[A-Za-z0-9_.-]+")
_STATE_MACHINE_FORBIDDEN = set('<>{}[]?*"#%\\^|~`$&,;:/')


def _length(name: str, low: int, high: int) -> str | None:
    if not low <= len(name) <= high:
        return f"must be {low} to {high} characters long, not {len(name)}"
    return None


def _control(name: str, allowed: str = "") -> str | None:
    """The first control character (C0, DEL or C1) in ``name`` that is not ``allowed``."""
    for char in name:
        if (ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F) and char not in allowed:
            return f"holds the control character U+{ord(char):04X}"
    return None


def s3_bucket(name: str) -> str | None:
    """S3's general-purpose bucket naming rules."""
    if problem := _length(name, 3, 63):
        return problem
    if not _BUCKET_CHARS.fullmatch(name):
        return "may hold only lowercase letters, digits, '.' and '-'"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or digit"
    for pair in ("..", ".-", "-."):
        if pair in name:
            return f"must not contain {pair!r}"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    for prefix in _BUCKET_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by S3)"
    for suffix in _BUCKET_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by S3)"
    return None


def glue_job(name: str) -> str | None:
    """Glue's name pattern: 1 to 255 characters on a single line."""
    return _length(name, 1, 255) or _control(name, allowed="\t")


def lambda_function(name: str) -> str | None:
    """A Lambda function name (not an ARN): letters, digits, '-' and '_'."""
    if problem := _length(name, 1, 64):
        return problem
    return None if _LAMBDA.fullmatch(name) else "may hold only letters, digits, '-' and '_'"


def state_machine(name: str) -> str | None:
    """Step Functions: no whitespace, no control characters, none of ``<>{}[]?*"#%\\^|~`$&,;:/``."""
    if problem := _length(name, 1, 80):
        return problem
    if any(char.isspace() for char in name):
        return "must not contain whitespace"
    if problem := _control(name):
        return problem
    forbidden = sorted(set(name) & _STATE_MACHINE_FORBIDDEN)
    return f"must not contain {forbidden[0]!r}" if forbidden else None


def sns_topic(name: str) -> str | None:
    """An SNS topic name: letters, digits, '-' and '_', optionally ending in '.fifo'."""
    if problem := _length(name, 1, 256):
        return problem
    if _SNS.fullmatch(name):
        return None
    return "may hold only letters, digits, '-' and '_' (and end in '.fifo' for a FIFO topic)"


def cloudwatch_alarm(name: str) -> str | None:
    """A CloudWatch alarm name: 1 to 255 characters, no control characters."""
    return _length(name, 1, 255) or _control(name)


def iam_role(name: str) -> str | None:
    """An IAM role name (not an ARN): letters, digits and ``+=,.@_-``."""
    if problem := _length(name, 1, 64):
        return problem
    return None if _IAM_ROLE.fullmatch(name) else "may hold only letters, digits and +=,.@_-"


def glue_table(name: str) -> str | None:
    """A Glue Data Catalog table as ``database.table``: each part 1 to 255 of lower-case
    letters, digits, '_' and '-' (the catalog folds names to lower case)."""
    database, dot, table = name.partition(".")
    if not dot:
        return 'must be "database.table", e.g. "silver.transactions"'
    for part, what in ((database, "database"), (table, "table")):
        if problem := _length(part, 1, 255):
            return f"{what} name {problem}"
        if not _GLUE_CATALOG.fullmatch(part):
            return f"{what} name may hold only lower-case letters, digits, '_' and '-'"
    return None


def dynamodb_table(name: str) -> str | None:
    """A DynamoDB table name (the Terraform lock table): letters, digits, '_', '.', '-'."""
    if problem := _length(name, 3, 255):
        return problem
    return None if _DYNAMODB_TABLE.fullmatch(name) else "may hold only letters, digits, _ . -"
