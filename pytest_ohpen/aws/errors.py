"""What an AWS error says: its code, message and HTTP status, read in one place.

botocore puts a service's answer in ``ClientError.response`` as
``{"Error": {"Code": ..., "Message": ...}, "ResponseMetadata": {"HTTPStatusCode": ...}}``;
any part may be missing (moto and S3's HEAD answers leave some out). These functions
read that shape without importing botocore, so they also accept any other exception
(which has no code) and let pure code test an error's meaning.
"""

from __future__ import annotations

from typing import Any

UNKNOWN = "Unknown"
"""The code of an error whose response names none."""
S3_NO_SUCH_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
"""S3's "no such object": GetObject says NoSuchKey, HeadObject only its status as code."""
S3_NO_VERSION_BODY = frozenset(
    {"NoSuchVersion", "MethodNotAllowed", "InvalidArgument", *S3_NO_SUCH_KEY}
)
"""GetObject of a version with no body: no such version (InvalidArgument for a malformed
id), or a delete marker (MethodNotAllowed)."""
S3_CONDITION_FAILED = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
"""A conditional S3 write (``If-Match``, ``If-None-Match``) lost to another writer."""
CONDITION_FAILED_STATUS = frozenset({409, 412})


def error_code(error: object) -> str:
    """The service's error code (``NoSuchKey``, ``AccessDenied``); ``Unknown`` without one."""
    return str(_error(error).get("Code", UNKNOWN))


def error_message(error: object) -> str:
    """The service's error message as sent; ``""`` without one."""
    return str(_error(error).get("Message", ""))


def http_status(error: object) -> int | None:
    """The HTTP status of the service's answer; None when there was no answer."""
    status = _response(error).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def code_or_text(error: BaseException) -> str:
    """The error code of a service's answer, else the error's own text (a network error,
    or one of ours): the short reason put in parentheses in a one-line message."""
    if isinstance(getattr(error, "response", None), dict):
        return error_code(error)
    return str(error)


def lost_condition(error: object) -> bool:
    """Whether a conditional S3 write failed because the object is not as the condition
    said (another writer got in between); the status covers servers that send no code."""
    return error_code(error) in S3_CONDITION_FAILED or http_status(error) in CONDITION_FAILED_STATUS


def _response(error: object) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return response if isinstance(response, dict) else {}


def _error(error: object) -> dict[str, Any]:
    found = _response(error).get("Error")
    return found if isinstance(found, dict) else {}
