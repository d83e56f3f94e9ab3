"""What an AWS error says when S3 never answered, or answered without a code.

Hand-made botocore errors, no AWS; the readings of real S3 answers (as moto serves them) are
tests/aws/test_aws_errors.py.
"""

from __future__ import annotations

import botocore.exceptions as bex

from pytest_ohpen.aws.errors import code_or_text, error_code, error_message, http_status
from pytest_ohpen.checks.base import describe_client_error


def test_an_error_without_an_answer_has_no_code_and_is_told_by_its_text() -> None:
    """A network error never reached S3: no code, no status, its own words in messages."""
    error = bex.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
    assert error_code(error) == "Unknown"
    assert http_status(error) is None
    assert error_message(error) == ""
    assert code_or_text(error) == str(error)
    assert "127.0.0.1:9" in code_or_text(error)


def test_an_answer_without_a_code_reads_as_unknown() -> None:
    error = bex.ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "GetObject")
    assert error_code(error) == "Unknown"
    assert http_status(error) == 500


def test_a_check_failure_names_the_code_status_and_message() -> None:
    """describe_client_error renders what the helper reads, unchanged."""
    error = bex.ClientError(
        {
            "Error": {"Code": "InvalidParameterValue", "Message": " bad name "},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "GetFunction",
    )
    assert describe_client_error(error, frozenset()) == (
        "failed (InvalidParameterValue, HTTP 400: bad name)"
    )
    missing = bex.ClientError({"Error": {"Code": "NoSuchBucket"}}, "HeadBucket")
    assert describe_client_error(missing, frozenset({"NoSuchBucket"})) == "not found (NoSuchBucket)"
