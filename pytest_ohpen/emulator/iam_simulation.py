"""IAM's SimulatePrincipalPolicy for the embedded account, which moto 5.2.5 does not implement.

"Can this role do its job?" is answered by the same call in a real account and in the
embedded one: :func:`install` teaches moto's IAM the query action, and :func:`evaluate`
decides it the way IAM's policy simulator does for identity policies. An explicit Deny wins,
else any Allow, else the action is implicitly denied.

Conditions: the simulator is asked without request context (no ``ContextEntries``), so a
Condition is judged against an empty context, as AWS's simulator does then. A key that is
absent satisfies only ``...IfExists`` operators and ``Null: true``. An Allow with a Condition
never matches: a grant that depends on the request cannot show that the role can do its job.
A Deny with a Condition matches only when the condition holds with nothing known about the
request. That catches a blanket Deny written with IfExists, and does not claim a Deny on
``aws:SecureTransport`` blocks every request.

Actions are matched as glob patterns (``*``, ``?``, case-insensitive), not by expanding them
with policyuniverse's action list. An action that list does not know (a new API) must still
match ``s3:*`` as it does in IAM. Resources are matched case-sensitively. Permission
boundaries, SCPs and resource policies are not simulated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal
from urllib.parse import unquote

from pytest_ohpen.checks.security import _statements, _strings  # one reading of a policy

EvalDecision = Literal["allowed", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True)
class Decision:
    """What IAM decides for one action on one resource, and which policies decided it."""

    decision: EvalDecision
    matched: tuple[str, ...] = ()
    """The names of the policies whose statements matched (Deny ones for explicitDeny)."""

    @property
    def policy(self) -> str | None:
        """The first matched statement's policy, or None for an implicit deny."""
        return self.matched[0] if self.matched else None


def evaluate(documents: list[tuple[str, dict[str, Any]]], action: str, resource: str) -> Decision:
    """IAM's decision for ``action`` on ``resource`` under the (name, document) policies."""
    allows: list[str] = []
    denies: list[str] = []
    for name, document in documents:
        for statement in _statements(document):
            effect = statement.get("Effect")
            if effect not in {"Allow", "Deny"} or not _applies(statement, action, resource):
                continue
            if effect == "Deny" and _holds_without_context(statement.get("Condition")):
                denies.append(name)
            elif effect == "Allow" and not statement.get("Condition"):
                allows.append(name)
    if denies:
        return Decision("explicitDeny", tuple(dict.fromkeys(denies)))
    if allows:
        return Decision("allowed", tuple(dict.fromkeys(allows)))
    return Decision("implicitDeny")


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        acted = any(_glob(p, ignore_case=True).match(action) for p in _strings(statement["Action"]))
    elif "NotAction" in statement:
        excluded = _strings(statement["NotAction"])
        acted = not any(_glob(p, ignore_case=True).match(action) for p in excluded)
    else:
        return False
    if not acted:
        return False
    if "Resource" in statement:
        return any(_glob(p).match(resource) for p in _strings(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_glob(p).match(resource) for p in _strings(statement["NotResource"]))
    return False


def _holds_without_context(condition: object) -> bool:
    """Whether a Condition block is true when no context key has a value."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        for value in tests.values():
            if operator == "Null":
                if not all(str(v).lower() == "true" for v in _strings(value)):
                    return False
            elif not str(operator).endswith("IfExists"):
                return False
    return True


@cache
def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character."""
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _document(text: object) -> dict[str, Any]:
    """moto keeps documents as JSON text (sometimes URL-encoded) or as a dict."""
    if isinstance(text, dict):
        return text
    raw = str(text or "{}")
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = json.loads(unquote(raw))
    return parsed if isinstance(parsed, dict) else {}


# ---------------------------------------------------------------- moto


def principal_policies(principal: Any) -> list[tuple[str, dict[str, Any]]]:
    """A moto Role's or User's inline and attached managed policies, as (name, document)."""
    documents = [(name, _document(text)) for name, text in principal.policies.items()]
    for policy in principal.managed_policies.values():
        default = next((v for v in policy.versions if v.is_default), None)
        if default is not None:
            documents.append((policy.name, _document(default.document)))
    return documents


def _simulate_principal_policy(self: Any) -> Any:
    """IamResponse.simulate_principal_policy: the principal's own policies, one result per
    action and resource (``*`` when no ResourceArns), paged by MaxItems and Marker."""
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import NoSuchEntity, NotFoundException

    source = str(self._get_param("PolicySourceArn") or "")
    actions = [str(a) for a in self._get_param("ActionNames", []) or []]
    resources = [str(r) for r in self._get_param("ResourceArns", []) or []] or ["*"]
    max_items = int(self._get_param("MaxItems") or 100)
    start = int(self._get_param("Marker") or 0)
    parts = source.split(":", 5)
    kind, _, path_and_name = (parts[5] if len(parts) == 6 else "").partition("/")
    name = path_and_name.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            principal = self.backend.get_role_by_arn(source)
        elif kind == "user":
            principal = self.backend.get_user(name)
        else:
            raise NotFoundException(f"PolicySourceArn {source} is not a role or a user")
    except (NotFoundException, NoSuchEntity) as error:
        raise NotFoundException(
            f"The {kind or 'principal'} with name {name} cannot be found."
        ) from error
    documents = principal_policies(principal)
    results = []
    for action in actions:
        for resource in resources:
            decision = evaluate(documents, action, resource)
            results.append(
                {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": decision.decision,
                    "MatchedStatements": [
                        {"SourcePolicyId": policy, "SourcePolicyType": "IAM Policy"}
                        for policy in decision.matched
                    ],
                    "MissingContextValues": [],
                }
            )
    page = results[start : start + max_items]
    end = start + len(page)
    answer: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": end < len(results)}
    if end < len(results):
        answer["Marker"] = str(end)
    return ActionResult(answer)


def install() -> None:
    """Give moto's IAM the SimulatePrincipalPolicy action; calling it again changes nothing.

    moto dispatches a query action to the IamResponse method of its snake_case name.
    """
    from moto.iam.responses import IamResponse

    if getattr(IamResponse, "simulate_principal_policy", None) is not _simulate_principal_policy:
        IamResponse.simulate_principal_policy = _simulate_principal_policy  # type: ignore[attr-defined]
