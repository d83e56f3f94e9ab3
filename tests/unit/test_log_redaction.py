"""The log filter hands every handler a record whose message, traceback and stack are
redacted, and leaves records with nothing to redact as they were.

What botocore logs at DEBUG is the case that matters: the signed request's headers, as a
dict of byte strings, from credentials that need not be in the environment (a profile, SSO,
an assumed role), so the patterns must catch them, not only the known values.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from pytest_ohpen.records.log_redaction import LogRedaction, RedactingFilter, redact_record
from pytest_ohpen.records.redact import REDACTED

PROFILE_KEY_ID = "ASIAPROFILEOHPEN0002"
PROFILE_TOKEN = "IQoJb3JpZ2luX2VjEOhpenProfileSessionToken/+=="
BOTOCORE_HEADERS = {
    "X-Amz-Date": b"20261202T062036Z",
    "X-Amz-Security-Token": PROFILE_TOKEN.encode(),
    "Authorization": (
        f"AWS4-HMAC-SHA256 Credential={PROFILE_KEY_ID}/20261202/eu-west-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef"
    ).encode(),
}


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO, LogRedaction]]:
    """A logger whose one handler writes to a string, with the filter installed on it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("ohpen.test.log_redaction")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    redaction = LogRedaction()
    redaction.install([handler])
    yield logger, stream, redaction
    redaction.uninstall()
    logger.removeHandler(handler)


def test_botocore_request_headers_are_redacted_from_the_patterns_alone(
    stream_logger: tuple[logging.Logger, io.StringIO, LogRedaction],
) -> None:
    logger, stream, _ = stream_logger
    logger.debug("Sending http request: %s", BOTOCORE_HEADERS)
    written = stream.getvalue()
    assert PROFILE_KEY_ID not in written
    assert PROFILE_TOKEN not in written
    assert "'X-Amz-Security-Token': b'[REDACTED]'" in written
    assert "'X-Amz-Date': b'20261202T062036Z'" in written, "what is not a credential stays"


def test_tracebacks_and_stacks_are_redacted(
    stream_logger: tuple[logging.Logger, io.StringIO, LogRedaction],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger, stream, _ = stream_logger
    monkeypatch.setenv("AWS_SESSION_TOKEN", PROFILE_TOKEN)
    try:
        raise RuntimeError(f"token {PROFILE_TOKEN} rejected")
    except RuntimeError:
        logger.exception("the call failed", stack_info=True)
    written = stream.getvalue()
    assert "RuntimeError: token [REDACTED] rejected" in written
    assert "Stack (most recent call last)" in written
    assert PROFILE_TOKEN not in written


def test_records_with_nothing_to_redact_keep_their_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "bucket %s: %d", ("b", 3), None)
    assert RedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("bucket %s: %d", ("b", 3))
    leaky = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "key %s", ("AKIAFAKEOHPENTEST0001",), None
    )
    redact_record(leaky)
    assert leaky.getMessage() == f"key {REDACTED}"


def test_uninstall_takes_the_filter_off_again(
    stream_logger: tuple[logging.Logger, io.StringIO, LogRedaction],
) -> None:
    logger, _, redaction = stream_logger
    handler = logger.handlers[0]
    redaction.install([handler])  # twice: still one filter
    assert handler.filters == [redaction.filter]
    redaction.uninstall()
    assert handler.filters == []
