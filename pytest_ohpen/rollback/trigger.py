"""The rollback trigger at the end of a failed run: which mode it may run in (pure gate)
and running the environment's rollback command (I/O), for the plugin and the drill alike.

Dry-run is the default and changes nothing. Apply needs four things at once:
``auto_apply = true`` for the environment, an approver, a READY verdict and no veto;
without any one of them the trigger falls back to dry-run and says exactly why.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.readiness.decide import NOT_NEEDED, READY
from pytest_ohpen.rollback.handoff import Handoff
from pytest_ohpen.util import process
from pytest_ohpen.util.process import ProcessResult

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment

MODE_FLAGS = {"dry-run": "--dry-run", "apply": "--apply"}
"""Appended to the command: the playbook script's flags."""


@dataclass(frozen=True)
class TriggerDecision:
    """The mode the trigger runs in ("off", "dry-run" or "apply") and why apply was not."""

    mode: str
    requested: str
    fallback_reasons: tuple[str, ...] = ()


def decide_trigger(
    requested: str,
    *,
    environment: str,
    auto_apply: bool,
    approver: str | None,
    verdict: str,
    vetoes: list[str],
) -> TriggerDecision:
    """Gate the requested mode; apply only when every condition holds, else dry-run."""
    if verdict == NOT_NEEDED or requested == "off":
        return TriggerDecision("off", requested)
    if requested != "apply":
        return TriggerDecision("dry-run", requested)
    reasons = []
    if not auto_apply:
        reasons.append(f"auto_apply is not true for environment {environment!r}")
    if not (approver and approver.strip()):
        reasons.append(
            "no approval: pass --rollback-approved-by NAME or set OHPEN_ROLLBACK_APPROVED_BY"
        )
    if verdict != READY:
        reasons.append(f"the readiness verdict is {verdict}, not READY")
    reasons += [f"vetoed: {veto}" for veto in vetoes]
    return TriggerDecision("dry-run" if reasons else "apply", requested, tuple(reasons))


class CommandError(OhpenError):
    """The rollback command cannot be built (a placeholder has no value)."""


def build_command(
    template: tuple[str, ...], mode: str, values: Mapping[str, str | None]
) -> list[str]:
    """Fill the placeholders ({env}, {target_ref}, {state_version}) and append the mode flag."""
    missing = sorted(
        name
        for name, value in values.items()
        if value is None and any("{" + name + "}" in arg for arg in template)
    )
    if missing:
        raise CommandError(
            f"the rollback command needs {{{missing[0]}}}, which is unknown "
            "(see the readiness report)"
        )
    filled = [arg.format(**{k: v or "" for k, v in values.items()}) for arg in template]
    return [*filled, MODE_FLAGS[mode]]


CREDENTIAL_VARIABLES = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
"""Removed from an embedded-account command's environment: nothing real reaches an emulator."""


def rollback_handoff(
    env: Environment,
    endpoint_url: str | None,
    mode: str,
    *,
    detected_at: str | None,
    approved_by: str | None,
    drill: bool = False,
) -> Handoff:
    """What the trigger (and the drill) tell the rollback command: the environment, the
    mode, when the failure was detected, the approver, this interpreter (``OHPEN_PYTHON``)
    and, for the embedded account, where it runs."""
    return Handoff(
        env=env.name,
        mode=mode,
        detected_at=detected_at,
        approved_by=approved_by,
        drill=drill,
        embedded_endpoint=endpoint_url if env.emulated and endpoint_url else None,
        python=sys.executable,
    )


def command_env(handoff: Handoff, endpoint_url: str | None) -> dict[str, str | None]:
    """The environment laid over ours for the command: the hand-off, the endpoint and, for
    the embedded account, its fixed fake keys instead of any of the caller's credentials."""
    extra: dict[str, str | None] = dict(handoff.to_env())
    if endpoint_url:
        extra["AWS_ENDPOINT_URL"] = endpoint_url
    if handoff.embedded_endpoint:
        extra.update(dict.fromkeys(CREDENTIAL_VARIABLES))
        extra["AWS_ACCESS_KEY_ID"] = EMBEDDED_CREDENTIALS["aws_access_key_id"]
        extra["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    return extra


def run_rollback(
    argv: list[str],
    handoff: Handoff,
    *,
    endpoint_url: str | None,
    cwd: Path,
    timeout: float,
    on_line: Callable[[str], None],
) -> ProcessResult:
    """Run the built rollback command in ``cwd`` (the repository: a relative script path is
    its script) with the hand-off, streaming its lines; stopped at ``timeout``."""
    return process.run(
        argv, timeout=timeout, cwd=cwd, env=command_env(handoff, endpoint_url), on_line=on_line
    )
