"""Whether a string (a table's location, a job's argument, a state's parameter) names a
resource: by its name, an S3 URL or an ARN, and always as a whole name, so that bucket
``ohpen-silver`` is not named by ``s3://ohpen-silver-archive/`` (pure).
"""

from __future__ import annotations

import re

S3_BUCKETS = re.compile(r"(?:s3[an]?://|arn:aws[a-z-]*:s3:::)([a-z0-9][a-z0-9.-]*)")
"""The bucket of every S3 URL or S3 ARN in a string (bucket names are these characters
only, so the whole name is taken)."""
FUNCTIONS = re.compile(r"(?:^|:)function:([A-Za-z0-9_-]+)")
"""A Lambda function in a full or partial ARN (``123456789012:function:name``)."""
FUNCTION_NAME = re.compile(r"([A-Za-z0-9_-]+)(?::[A-Za-z0-9_$-]+)?")
"""A function as Lambda's FunctionName takes it: a name, with or without a qualifier."""
STATE_MACHINES = re.compile(r"arn:aws[a-z-]*:states:[^:]*:[^:]*:stateMachine:([A-Za-z0-9_-]+)")
GLUE_JOB_ARN = re.compile(r"arn:aws[a-z-]*:glue:[^:]*:[^:]*:job/(.+)")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[^:]*:role/(?:.*/)?([^/]+)")


def names(kind: str, name: str, text: object) -> bool:
    """Whether ``text`` names the resource ``name`` of ``kind`` (a ``[<env>.resources]``
    key); a kind with no ARN or URL form is named only by its name itself."""
    if not isinstance(text, str) or not text:
        return False
    if text == name:
        return True
    if kind == "buckets":
        return names_bucket(text, name)
    if kind == "lambdas":
        whole = FUNCTION_NAME.fullmatch(text)
        return bool(whole and whole.group(1) == name) or name in FUNCTIONS.findall(text)
    if kind == "state_machines":
        return name in STATE_MACHINES.findall(text)
    if kind == "glue_jobs":
        return _whole_arn(GLUE_JOB_ARN, text, name)
    if kind == "roles":
        return _whole_arn(ROLE_ARN, text, name)
    return False


def names_bucket(text: str, bucket: str) -> bool:
    """Whether ``text`` is the bucket's name or holds an S3 URL or ARN in that bucket."""
    return text == bucket or bucket in S3_BUCKETS.findall(text)


def _whole_arn(pattern: re.Pattern[str], text: str, name: str) -> bool:
    match = pattern.fullmatch(text)
    return bool(match and match.group(1) == name)
