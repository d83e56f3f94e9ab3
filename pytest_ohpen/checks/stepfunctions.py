"""Step Functions: a state machine exists and is ACTIVE."""

from __future__ import annotations

from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"StateMachineDoesNotExist", "ResourceNotFound"})


def state_machine_arn(name: str, where: Where) -> str:
    """The ARN of a standard state machine called ``name`` (names are unique per region)."""
    return f"arn:aws:states:{where.region}:{where.account_id}:stateMachine:{name}"


def check_state_machine_active(sfn: Any, name: str, where: Where) -> None:
    """DescribeStateMachine: it exists and its status is ACTIVE (not DELETING)."""
    with probing("state machine", name, where, NOT_FOUND):
        described = sfn.describe_state_machine(stateMachineArn=state_machine_arn(name, where))
    status = described.get("status")
    if status != "ACTIVE":
        raise CheckFailed(f"state machine {name}: status {status}, expected ACTIVE {where}")
