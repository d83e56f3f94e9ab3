"""What every check shares: where a resource lives, the failure type, AWS error wording."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pytest_ohpen.aws.errors import error_code, error_message, http_status


@dataclass(frozen=True)
class Where:
    """The account and region a resource is checked in, for failure messages."""

    account_id: str
    region: str

    def __str__(self) -> str:
        return f"in account {self.account_id} {self.region}"


class CheckFailed(AssertionError):
    """A resource is missing or unhealthy; the message is the whole story, one line.

    It subclasses AssertionError so pytest counts it as a failed check, not an error.
    """


@contextmanager
def probing(kind: str, name: str, where: Where, not_found: frozenset[str]) -> Iterator[None]:
    """Turn any AWS error raised inside into a CheckFailed that names the resource.

    ``not_found`` lists the service's error codes that mean the resource does not exist.
    """
    import botocore.exceptions as bex

    try:
        yield
    except bex.ClientError as error:
        raise CheckFailed(
            f"{kind} {name}: {describe_client_error(error, not_found)} {where}"
        ) from None
    except bex.BotoCoreError as error:
        raise CheckFailed(
            f"{kind} {name}: could not be checked ({type(error).__name__}: {error}) {where}"
        ) from None


def describe_client_error(error: object, not_found: frozenset[str]) -> str:
    """'not found (NoSuchBucket)', 'access denied (AccessDenied)', 'throttled (...)' or the code."""
    code = error_code(error)
    status = http_status(error)
    if code in not_found:
        return f"not found ({code})"
    if code in {
        "AccessDenied",
        "AccessDeniedException",
        "403",
        "Forbidden",
        "UnauthorizedOperation",
    }:
        return f"access denied ({code})"
    if code in {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
    }:
        return f"throttled ({code}), still after retries"
    message = error_message(error).strip()
    detail = f": {message}" if message and message != code else ""
    return f"failed ({code}{f', HTTP {status}' if status else ''}{detail})"
