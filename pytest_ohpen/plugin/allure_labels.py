"""What Allure shows about one check, worked out from its item alone (pure): the epic
(environment), feature (AWS service), story (the check in words), suite, severity, and the
resource with a link to it in the AWS console.

Kept apart from allure-pytest so it can be read and tested without it; the listener in
:mod:`pytest_ohpen.plugin.allure` puts these labels on each attempt's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import quote

import pytest

from pytest_ohpen.plugin.outcomes import check_tag

SUITES = ("smoke", "bake", "post_rollback", "drill")
"""Suites a check can belong to, found in its path (``suites/<suite>/...``)."""
SERVICES = {
    "buckets": "S3",
    "glue_jobs": "Glue",
    "state_machines": "Step Functions",
    "lambdas": "Lambda",
    "alarms": "CloudWatch",
    "roles": "IAM",
    "tables": "Glue Data Catalog",
}
"""The feature label of a check of each resource kind (``[<env>.resources]`` key)."""
SERVICE_WORDS = (
    ("bucket", "S3"),
    ("s3", "S3"),
    ("glue", "Glue"),
    ("state_machine", "Step Functions"),
    ("pipeline", "Step Functions"),
    ("lambda", "Lambda"),
    ("alarm", "CloudWatch"),
    ("monitoring", "CloudWatch"),
    ("role", "IAM"),
    ("iam", "IAM"),
    ("topic", "SNS"),
    ("sns", "SNS"),
)
"""Words in a test's function name, then its module's, naming the service of a check that
has no resource fixture (e.g. ``test_failure_topic_subscribed``: SNS)."""
CONSOLE_NOUNS = {
    "buckets": "S3 bucket",
    "glue_jobs": "Glue job",
    "state_machines": "state machine",
    "lambdas": "Lambda function",
    "alarms": "CloudWatch alarm",
    "roles": "IAM role",
    "tables": "Glue catalog table",
}


@dataclass(frozen=True)
class CheckLabels:
    """What Allure shows about one check, worked out from its item."""

    epic: str
    story: str
    feature: str | None = None
    suite: str | None = None
    resource: str | None = None
    link: tuple[str, str] | None = None
    """(url, name) of the resource in the AWS console."""

    @property
    def severity(self) -> str:
        """A red smoke check means the deployment is broken: it blocks; the rest is critical."""
        return "blocker" if self.suite == "smoke" else "critical"


def check_labels(
    item: pytest.Item, region: str, account_id: str, rootpath: Path
) -> CheckLabels | None:
    """The labels of a check (an item carrying the ``ohpen_check`` property), else None."""
    tag = check_tag(item.user_properties)
    if tag is None:
        return None
    function = item.originalname if isinstance(item, pytest.Function) else item.name
    function = function.split("[", 1)[0]
    kind, resource = tag.kind, tag.resource
    url = console_url(kind, resource, region, account_id) if kind and resource else None
    noun = CONSOLE_NOUNS.get(kind or "", "resource")
    return CheckLabels(
        epic=tag.environment,
        story=story_of(function),
        feature=service_of(kind, function, item.path.stem),
        suite=suite_of(item.path, rootpath),
        resource=resource,
        link=(url, f"{noun} {resource} in the AWS console") if url else None,
    )


def story_of(function: str) -> str:
    """``test_bucket_accessible`` → "Bucket accessible": the check, in words."""
    words = function.removeprefix("test_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def service_of(kind: str | None, function: str, module: str) -> str | None:
    """The AWS service a check is about: from its resource kind, else from the words of its
    function's name, then its module's; None when nothing names one (the drill's steps)."""
    if kind in SERVICES:
        return SERVICES[kind]
    for name in (function, module):
        padded = f"_{name.lower()}_"
        for word, service in SERVICE_WORDS:
            if f"_{word}_" in padded:
                return service
    return None


def suite_of(path: Path, rootpath: Path) -> str | None:
    """smoke / post_rollback / drill: the nearest folder of that name below the rootdir,
    else a module named ``test_<suite>.py``; None for a check of no known suite."""
    relative: PurePath = path.relative_to(rootpath) if path.is_relative_to(rootpath) else path
    for folder in reversed(relative.parent.parts):
        if folder in SUITES:
            return folder
    module = relative.stem.removeprefix("test_")
    return module if module in SUITES else None


def console_url(kind: str, name: str, region: str, account_id: str) -> str | None:
    """The resource's page in the AWS console for the environment's region (and partition)."""
    partition = (
        "aws-cn"
        if region.startswith("cn-")
        else "aws-us-gov"
        if region.startswith("us-gov-")
        else "aws"
    )
    domain = {
        "aws": "console.aws.amazon.com",
        "aws-cn": "console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }[partition]
    regional = f"https://{region}.{domain}"
    safe = quote(name, safe="")
    if kind == "buckets":
        return f"https://s3.{domain}/s3/buckets/{safe}?region={region}"
    if kind == "glue_jobs":
        return f"{regional}/gluestudio/home?region={region}#/editor/job/{safe}/details"
    if kind == "state_machines":
        arn = f"arn:{partition}:states:{region}:{account_id}:stateMachine:{name}"
        return f"{regional}/states/home?region={region}#/statemachines/view/{quote(arn, safe='')}"
    if kind == "lambdas":
        return f"{regional}/lambda/home?region={region}#/functions/{safe}"
    if kind == "alarms":
        return f"{regional}/cloudwatch/home?region={region}#alarmsV2:alarm/{safe}"
    if kind == "roles":
        return f"https://{domain}/iam/home?region={region}#/roles/details/{safe}"
    if kind == "tables":
        database, _, table = name.partition(".")
        return (
            f"{regional}/glue/home?region={region}#/v2/data-catalog/tables/view/"
            f"{quote(table, safe='')}?database={quote(database, safe='')}"
        )
    return None
