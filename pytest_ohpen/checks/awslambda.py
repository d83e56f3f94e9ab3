"""Lambda: a function exists, is Active, and (when asked) runs without a function error."""

from __future__ import annotations

import json
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"ResourceNotFoundException"})
SMOKE_PAYLOAD = {"source": "pytest-ohpen", "check": "smoke"}


def check_lambda_active(lambda_client: Any, function: str, where: Where) -> None:
    """GetFunctionConfiguration: it exists, its state is Active and its last update did not fail."""
    with probing("Lambda", function, where, NOT_FOUND):
        config = lambda_client.get_function_configuration(FunctionName=function)
    state = config.get("State", "Active")
    if state != "Active":
        reason = config.get("StateReason") or config.get("StateReasonCode") or "no reason given"
        raise CheckFailed(f"Lambda {function}: state {state}, expected Active ({reason}) {where}")
    if config.get("LastUpdateStatus") == "Failed":
        reason = config.get("LastUpdateStatusReason") or "no reason given"
        raise CheckFailed(f"Lambda {function}: last update failed ({reason}) {where}")


def check_lambda_invocable(invoker: Any, function: str, where: Where) -> None:
    """Invoke synchronously with a marker payload; a function error fails with its message."""
    with probing("Lambda", function, where, NOT_FOUND):
        response = invoker.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(SMOKE_PAYLOAD).encode(),
        )
    error = response.get("FunctionError")
    if error:
        raise CheckFailed(
            f"Lambda {function}: invocation failed ({error}): "
            f"{describe_function_error(response['Payload'].read())} {where}"
        )


def describe_function_error(payload: bytes) -> str:
    """The errorType and errorMessage Lambda returns for a failed invocation, in one line."""
    try:
        body = json.loads(payload or b"{}")
    except ValueError:
        return payload.decode(errors="replace").strip()[:300] or "no error payload"
    if not isinstance(body, dict):
        return str(body)[:300]
    kind = body.get("errorType", "")
    message = " ".join(str(body.get("errorMessage", "")).split())
    return f"{kind}: {message}".strip(": ")[:300] or "no error payload"
