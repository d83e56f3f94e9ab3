"""What every check shares: where a resource lives, the two ways a check ends badly, and
how an AWS error is classified and worded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pytest_ohpen.aws.errors import error_code, error_message, http_status

INCONCLUSIVE_PREFIX = "could not be checked: "
"""How an inconclusive check's reason starts, after ``<kind> <name>: ``."""
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
    }
)
"""Error codes that say "ask again later", whatever the HTTP status (some are 400s)."""
TRANSIENT = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "IDPCommunicationError",
    }
)
"""Error codes of a service that could not answer (botocore's transient errors)."""
ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "403", "Forbidden", "UnauthorizedOperation"}
)


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


class CheckInconclusive(AssertionError):
    """The check could not be performed (AWS throttled, answered 5xx, reset or timed out,
    still after botocore's retries): nothing was found wrong, and nothing proven right.

    A sibling of CheckFailed, not a kind of it: code that reads CheckFailed as "unhealthy"
    must not read this so. pytest still counts it as failed (the run is not green); the
    readiness report shows it as inconclusive and blocks the rollback verdict.
    """


def is_transient(error: object) -> bool:
    """Whether an AWS answer says the service could not answer now (5xx, throttling),
    rather than something about the resource (NoSuchBucket, AccessDenied: 4xx)."""
    status = http_status(error)
    code = error_code(error)
    return code in THROTTLED or code in TRANSIENT or (status is not None and status >= 500)


@contextmanager
def probing(kind: str, name: str, where: Where, not_found: frozenset[str]) -> Iterator[None]:
    """Turn any AWS error raised inside into a one-line CheckFailed that names the resource,
    or a CheckInconclusive when AWS could not answer (a transient error, no answer at all).

    ``not_found`` lists the service's error codes that mean the resource does not exist.
    """
    import botocore.exceptions as bex

    try:
        yield
    except bex.ClientError as error:
        if is_transient(error) and error_code(error) not in not_found:
            raise CheckInconclusive(
                f"{kind} {name}: {INCONCLUSIVE_PREFIX}{describe_unanswered(error)} {where}"
            ) from None
        raise CheckFailed(
            f"{kind} {name}: {describe_client_error(error, not_found)} {where}"
        ) from None
    except bex.BotoCoreError as error:
        # No answer (reset, refused, timed out) or no request: the resource said nothing.
        raise CheckInconclusive(
            f"{kind} {name}: {INCONCLUSIVE_PREFIX}{type(error).__name__}: {error} {where}"
        ) from None


def describe_unanswered(error: object) -> str:
    """A transient error in a few words: 'throttled (SlowDown), still after retries' or
    'HTTP 503 (ServiceUnavailable: ...), still after retries'."""
    code = error_code(error)
    if code in THROTTLED:
        return f"throttled ({code}), still after retries"
    status = http_status(error)
    message = error_message(error).strip()
    parts = (code if code not in {str(status), "Unknown"} else "", message)
    said = ": ".join(part for part in parts if part)
    shown = f"HTTP {status}" if status else code
    return f"{shown}{f' ({said})' if said and said != shown else ''}, still after retries"


def describe_client_error(error: object, not_found: frozenset[str]) -> str:
    """'not found (NoSuchBucket)', 'access denied (AccessDenied)', 'throttled (...)' or the code."""
    code = error_code(error)
    status = http_status(error)
    if code in not_found:
        return f"not found ({code})"
    if code in ACCESS_DENIED:
        return f"access denied ({code})"
    if code in THROTTLED:
        return f"throttled ({code}), still after retries"
    message = error_message(error).strip()
    detail = f": {message}" if message and message != code else ""
    return f"failed ({code}{f', HTTP {status}' if status else ''}{detail})"
