"""Security posture: the playbook's "Security Issues" after a deployment or a rollback.

A rollback can bring back a bucket without encryption or a public access block, or a
role whose policy allows everything; these checks catch that. Policy documents are
judged by pure helpers (:func:`denies_insecure_transport`, :func:`policy_problems`)
so the rules can be tested without AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any
from urllib.parse import unquote

from pytest_ohpen.aws.errors import error_code
from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.stepfunctions import NOT_FOUND as STATE_MACHINE_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import state_machine_arn

BUCKET_NOT_FOUND = frozenset({"NoSuchBucket", "404", "NotFound"})
IAM_NOT_FOUND = frozenset({"NoSuchEntity"})
LAMBDA_NOT_FOUND = frozenset({"ResourceNotFoundException"})
PUBLIC_ACCESS_SETTINGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


# ---------------------------------------------------------------- S3


def check_public_access_blocked(s3: Any, bucket: str, where: Where) -> None:
    """GetPublicAccessBlock: all four settings on, so no ACL or policy can make data public."""
    answer = _unless_absent(
        "bucket",
        bucket,
        where,
        BUCKET_NOT_FOUND,
        "NoSuchPublicAccessBlockConfiguration",
        lambda: s3.get_public_access_block(Bucket=bucket, ExpectedBucketOwner=where.account_id),
    )
    if answer is None:
        raise CheckFailed(f"bucket {bucket}: no public access block {where}")
    config = answer.get("PublicAccessBlockConfiguration", {})
    off = [f"{name}=false" for name in PUBLIC_ACCESS_SETTINGS if not config.get(name)]
    if off:
        raise CheckFailed(
            f"bucket {bucket}: public access not fully blocked ({', '.join(off)}) {where}"
        )


def bucket_policy(s3: Any, bucket: str, where: Where) -> dict[str, Any] | None:
    """GetBucketPolicy's answer, or None when the bucket has no policy."""
    answer: dict[str, Any] | None = _unless_absent(
        "bucket",
        bucket,
        where,
        BUCKET_NOT_FOUND,
        "NoSuchBucketPolicy",
        lambda: s3.get_bucket_policy(Bucket=bucket, ExpectedBucketOwner=where.account_id),
    )
    return answer


def check_tls_only(s3: Any, bucket: str, where: Where) -> None:
    """GetBucketPolicy: a statement denies every request not made over TLS."""
    answer = bucket_policy(s3, bucket, where)
    if answer is None:
        raise CheckFailed(f"bucket {bucket}: no bucket policy denying non-TLS access {where}")
    policy = policy_document(answer.get("Policy"))
    if policy is None or not denies_insecure_transport(policy):
        raise CheckFailed(
            f"bucket {bucket}: bucket policy does not deny non-TLS access "
            f"(aws:SecureTransport false) {where}"
        )


def denies_insecure_transport(policy: dict[str, Any]) -> bool:
    """Whether a statement denies everyone every S3 action when aws:SecureTransport is false."""
    for statement in _statements(policy):
        if (
            statement.get("Effect") == "Deny"
            and _is_everyone(statement.get("Principal"))
            and {"*", "s3:*"} & {action.lower() for action in _strings(statement.get("Action"))}
            and _secure_transport_false(statement.get("Condition"))
        ):
            return True
    return False


def check_versioning_enabled(s3: Any, bucket: str, where: Where) -> None:
    """GetBucketVersioning: Enabled, so an overwrite or a delete can be undone."""
    with probing("bucket", bucket, where, BUCKET_NOT_FOUND):
        answer = s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=where.account_id)
    status = answer.get("Status")
    if status != "Enabled":
        found = f"{status}, expected Enabled" if status else "not enabled"
        raise CheckFailed(f"bucket {bucket}: versioning {found} {where}")


# ---------------------------------------------------------------- IAM


def check_role_policies_least_privilege(iam: Any, role: str, where: Where) -> None:
    """Every managed and inline policy of the role: no Allow of * on *, with NotAction, of a
    whole service (``s3:*``), of write or permissions actions or iam:PassRole on ``*``."""
    problems: list[str] = []
    for name, document in _role_policies(iam, role, where):
        problems += policy_problems(name, document)
    if problems:
        raise CheckFailed(f"IAM role {role}: {'; '.join(problems)} {where}")


ONLY_ON_EVERY_RESOURCE = frozenset(
    {
        # Actions AWS authorizes only on Resource "*" (no resource types in the Service
        # Authorization Reference): granting them on "*" is the least privilege there is.
        "cloudwatch:putmetricdata",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        # CloudWatch Logs delivery, which Step Functions logging needs on "*".
        "logs:createlogdelivery",
        "logs:updatelogdelivery",
        "logs:deletelogdelivery",
        "logs:putresourcepolicy",
    }
)
SHOWN_ACTIONS = 5
"""How many offending actions a phrase names before "and N more"."""


def policy_problems(name: str, document: dict[str, Any]) -> list[str]:
    """What makes the policy called ``name`` too broad, one phrase per kind of problem.

    Deny statements are never a problem. Allow statements are: NotAction; ``*`` on ``*``;
    a whole service (``s3:*``, or ``*`` on a scoped resource); write or permissions actions
    (wildcards expanded with policyuniverse) or iam:PassRole on ``*``.
    """
    problems: list[str] = []
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            excluded = ", ".join(_strings(statement["NotAction"]))
            problems.append(f"policy {name} allows with NotAction [{excluded}]")
        actions = _strings(statement.get("Action"))
        resources = _strings(statement.get("Resource")) or (
            ["*"] if "NotResource" in statement else []
        )
        on_everything = "*" in resources or "NotResource" in statement
        if "*" in actions and "*" in resources:
            problems.append(f"policy {name} allows every action on every resource")
            continue
        if "*" in actions:
            problems.append(f"policy {name} allows every action on {_few(resources)}")
        services = [a for a in actions if a.endswith(":*")]
        if services:
            problems.append(
                f"policy {name} allows whole services {_few(services)} on {_few(resources)}"
            )
        services.append("*")
        if on_everything:
            problems += _broad_on_everything(name, [a for a in actions if a not in services])
    return list(dict.fromkeys(problems))


def _broad_on_everything(name: str, actions: list[str]) -> list[str]:
    """Phrases for the actions an Allow grants on Resource "*" that need a narrower one."""
    if not actions:
        return []
    from policyuniverse.action_categories import (  # type: ignore[import-untyped]
        categories_for_actions,
    )
    from policyuniverse.expander_minimizer import (  # type: ignore[import-untyped]
        get_actions_from_statement,
    )

    granted = set(get_actions_from_statement({"Action": actions}))
    expanded = sorted(granted - ONLY_ON_EVERY_RESOURCE)
    by_kind: dict[str, list[str]] = {"Write": [], "Permissions": []}
    for action in expanded:
        for kind in categories_for_actions([action]).get(action.split(":")[0], set()):
            if kind in by_kind and action != "iam:passrole":
                by_kind[kind].append(_display(action))
    problems = []
    if "iam:passrole" in expanded:
        problems.append(f"policy {name} allows iam:PassRole on * (any role)")
    if by_kind["Write"]:
        problems.append(f"policy {name} allows write actions on *: {_few(by_kind['Write'])}")
    if by_kind["Permissions"]:
        problems.append(
            f"policy {name} allows permissions-management actions on *: "
            f"{_few(by_kind['Permissions'])}"
        )
    return problems


def _few(items: list[str]) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``."""
    shown = ", ".join(items[:SHOWN_ACTIONS])
    rest = len(items) - SHOWN_ACTIONS
    return f"{shown} and {rest} more" if rest > 0 else shown


@cache
def _action_names() -> dict[str, str]:
    """policyuniverse's lower-case action names to AWS's spelling (``s3:PutObject``)."""
    import policyuniverse  # type: ignore[import-untyped]

    return {
        f"{service['prefix']}:{action.lower()}": f"{service['prefix']}:{action}"
        for service in policyuniverse.service_data.values()
        for action in service["actions"]
    }


def _display(action: str) -> str:
    return _action_names().get(action, action)


def _role_policies(iam: Any, role: str, where: Where) -> Iterator[tuple[str, dict[str, Any]]]:
    with probing("IAM role", role, where, IAM_NOT_FOUND):
        attached = [
            policy
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role)
            for policy in page.get("AttachedPolicies", [])
        ]
        inline = [
            name
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=role)
            for name in page.get("PolicyNames", [])
        ]
    for policy in attached:
        arn = str(policy["PolicyArn"])
        with probing("IAM policy", arn, where, IAM_NOT_FOUND):
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            answer = iam.get_policy_version(PolicyArn=arn, VersionId=version)
        name = str(policy.get("PolicyName") or arn)
        yield name, _parsed(answer["PolicyVersion"].get("Document"), f"IAM policy {arn}", where)
    for name in inline:
        with probing("IAM role", f"{role} inline policy {name}", where, IAM_NOT_FOUND):
            answer = iam.get_role_policy(RoleName=role, PolicyName=name)
        yield name, _parsed(answer.get("PolicyDocument"), f"IAM role {role}", where)


def _parsed(document: object, owner: str, where: Where) -> dict[str, Any]:
    parsed = policy_document(document)
    if parsed is None:
        raise CheckFailed(f"{owner}: policy document is not a JSON object {where}")
    return parsed


# ---------------------------------------------------------------- Lambda


def check_lambda_policy_no_public_principal(
    lambda_client: Any, function: str, where: Where
) -> None:
    """GetPolicy: no unconditional Allow to everyone, so only known callers can invoke it."""
    answer = _unless_absent(
        "Lambda",
        function,
        where,
        LAMBDA_NOT_FOUND,
        "ResourceNotFoundException",
        lambda: lambda_client.get_policy(FunctionName=function),
    )
    if answer is None:
        # The same code means "no policy" and "no function": ask which one it was.
        with probing("Lambda", function, where, LAMBDA_NOT_FOUND):
            lambda_client.get_function_configuration(FunctionName=function)
        return
    policy = policy_document(answer.get("Policy")) or {}
    public = [
        str(statement.get("Sid", "without Sid"))
        for statement in _statements(policy)
        if statement.get("Effect") == "Allow"
        and _is_everyone(statement.get("Principal"), any_key=True)
        and not statement.get("Condition")
    ]
    if public:
        label = "statement" if len(public) == 1 else "statements"
        raise CheckFailed(
            f"Lambda {function}: resource policy lets anyone invoke it "
            f"({label} {', '.join(public)}, no condition) {where}"
        )


# ---------------------------------------------------------------- Step Functions


def check_state_machine_logging(sfn: Any, name: str, where: Where) -> None:
    """DescribeStateMachine: logging on and sent somewhere, so a failed run can be traced."""
    with probing("state machine", name, where, STATE_MACHINE_NOT_FOUND):
        described = sfn.describe_state_machine(stateMachineArn=state_machine_arn(name, where))
    logging = described.get("loggingConfiguration") or {}
    level = str(logging.get("level") or "OFF")
    if level == "OFF":
        raise CheckFailed(f"state machine {name}: logging OFF {where}")
    if not logging.get("destinations"):
        raise CheckFailed(f"state machine {name}: logging {level} with no log destination {where}")


# ---------------------------------------------------------------- helpers


def _unless_absent(
    kind: str,
    name: str,
    where: Where,
    not_found: frozenset[str],
    absent: str,
    call: Callable[[], Any],
) -> Any:
    """The call's answer, or None when AWS says the configuration asked for does not exist."""
    import botocore.exceptions as bex

    with probing(kind, name, where, not_found):
        try:
            return call()
        except bex.ClientError as error:
            if error_code(error) == absent:
                return None
            raise


def policy_document(document: object) -> dict[str, Any] | None:
    """A policy as a dict, or None: boto3 decodes IAM's URL-encoded JSON, other clients may not."""
    if isinstance(document, str):
        text = document
        try:
            document = json.loads(text)
        except ValueError:
            try:
                document = json.loads(unquote(text))
            except ValueError:
                return None
    return document if isinstance(document, dict) else None


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


def _strings(value: object) -> list[str]:
    """A policy element that may be one string or a list of them, as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def _is_everyone(principal: object, any_key: bool = False) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (with ``any_key``, also ``{"Service": "*"}`` and the like)."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    keys = principal if any_key else {"AWS": principal.get("AWS")}
    return any("*" in _strings(value) for value in keys.values())


def _secure_transport_false(condition: object) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if operator not in {"Bool", "BoolIfExists"} or not isinstance(tests, dict):
            continue
        for key, value in tests.items():
            values = value if isinstance(value, list) else [value]
            if key.lower() == "aws:securetransport" and any(
                str(item).lower() == "false" for item in values
            ):
                return True
    return False
