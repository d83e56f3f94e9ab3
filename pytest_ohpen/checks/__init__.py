"""Probes of deployed resources, one module per service, shared by every suite.

A check takes a boto3 client, a resource name and where it lives, returns quietly
when the resource is healthy and raises :class:`CheckFailed` with one precise line
otherwise (``bucket ohpen-silver: not found (NoSuchBucket) in account 123456789012
eu-west-1``), or :class:`CheckInconclusive` when AWS could not answer (throttled, 5xx,
reset, timed out). Checks know nothing of pytest, so the CLI can use them too.
"""

from pytest_ohpen.checks.base import CheckFailed, CheckInconclusive, Where

__all__ = ["CheckFailed", "CheckInconclusive", "Where"]
