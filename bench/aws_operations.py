"""Which AWS operation an HTTP request is, from what a proxy sees on the wire.

Pure (no sockets), so the scale benchmark can count the plugin's calls per operation and
check that the plain boto3 script makes the same ones. The service comes from the SigV4
credential scope every signed request carries; the operation from ``X-Amz-Target`` (JSON
protocols: Glue, Step Functions), ``Action=`` (query protocols: STS, IAM, SNS,
CloudWatch), or the REST method and path (S3, Lambda).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
ACTION = re.compile(r"(?:^|&)Action=([A-Za-z0-9]+)")
LAMBDA_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/([^/]+)(/[a-z-]+)?/?$")

CHECK_OPERATIONS = (
    "s3:HeadBucket",
    "s3:ListObjectsV2",
    "glue:GetJob",
    "states:DescribeStateMachine",
    "lambda:GetFunctionConfiguration",
)
"""What the playbook's checks call: a bucket's head and one-key listing, a job, a state
machine, a function's configuration. Everything else a plugin run sends (the account
guard, the readiness report) is counted apart."""

# S3 bucket sub-resources, by query key, for GET requests on a bucket.
_S3_BUCKET_GET = {
    "versioning": "GetBucketVersioning",
    "versions": "ListObjectVersions",
    "encryption": "GetBucketEncryption",
    "policy": "GetBucketPolicy",
    "publicAccessBlock": "GetPublicAccessBlock",
    "location": "GetBucketLocation",
    "tagging": "GetBucketTagging",
    "acl": "GetBucketAcl",
    "uploads": "ListMultipartUploads",
}
_LAMBDA_SUFFIX = {
    ("GET", "/configuration"): "GetFunctionConfiguration",
    ("POST", "/invocations"): "Invoke",
    ("GET", ""): "GetFunction",
}


def service_of(authorization: str) -> str:
    """The signing service (``s3``, ``glue``, ``states``...), or ``unsigned``."""
    found = SCOPE.search(authorization)
    return found.group(1) if found else "unsigned"


def operation(method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> str:
    """``service:Operation`` for one request; headers' names in lower case.

    ``target`` is the request line's target (path and query). An operation this cannot
    name is ``service:METHOD /path-shape`` rather than a guess, so a count still adds up.
    """
    service = service_of(headers.get("authorization", ""))
    amz_target = headers.get("x-amz-target")
    if amz_target:
        return f"{service}:{amz_target.rsplit('.', 1)[-1]}"
    parts = urlsplit(target)
    action = ACTION.search(parts.query) or ACTION.search(body[:4096].decode("latin-1"))
    if action:
        return f"{service}:{action.group(1)}"
    if service == "s3":
        return f"s3:{_s3_operation(method, parts.path, parts.query)}"
    if service == "lambda":
        shape = LAMBDA_PATH.match(parts.path)
        if shape:
            name = _LAMBDA_SUFFIX.get((method, shape.group(2) or ""))
            if name:
                return f"lambda:{name}"
    return f"{service}:{method} {_shape(parts.path)}"


def _s3_operation(method: str, path: str, query: str) -> str:
    """A path-style S3 request's operation (the benchmark's endpoint is an IP address, so
    boto3 puts the bucket in the path)."""
    segments = [s for s in unquote(path).split("/") if s]
    keys = set(parse_qs(query, keep_blank_values=True))
    if not segments:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if len(segments) == 1:
        if method == "HEAD":
            return "HeadBucket"
        if method == "GET":
            if "list-type" in keys:
                return "ListObjectsV2"
            for key, name in _S3_BUCKET_GET.items():
                if key in keys:
                    return name
            return "ListObjects"
        return f"{method} /bucket"
    return {"HEAD": "HeadObject", "GET": "GetObject", "PUT": "PutObject"}.get(
        method, f"{method} /bucket/key"
    )


def _shape(path: str) -> str:
    """A path's first segment, the rest starred (names vary; the shape does not)."""
    first, *rest = path.lstrip("/").split("/")
    return "/" + "/".join([first, *("*" for _ in rest)])
