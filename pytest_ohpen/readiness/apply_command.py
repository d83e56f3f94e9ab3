"""The exact command that applies the rollback the readiness report proposes: the
environment's ``[rollback] command`` with its placeholders filled from the report's target
and ``--apply`` as its mode flag, built by the trigger's own function
(:func:`pytest_ohpen.rollback.trigger.build_command`). ``{target_ref}`` is the commit the
target ref resolved to when it did (a report read later must not follow a moving ``HEAD~1``),
``{state_version}`` the target state version's id.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pytest_ohpen.rollback.trigger import CommandError, build_command

_PLAIN = re.compile(r"[\w@%+=:,./-][\w@%+=:,./~-]*", re.ASCII)
"""A word a shell takes as it is: no quoting needed (``~`` only after the first character,
where no shell expands it, so ``HEAD~1`` stays readable)."""


@dataclass(frozen=True)
class ApplyCommand:
    """The command line (``argv``), or why it cannot be named (``error``)."""

    argv: tuple[str, ...] | None
    error: str | None = None

    @property
    def text(self) -> str | None:
        """The command as it is typed in a shell (quoted where needed)."""
        if self.argv is None:
            return None
        return " ".join(arg if _PLAIN.fullmatch(arg) else shlex.quote(arg) for arg in self.argv)


def command_values(
    env_name: str, target_ref: str | None, state_version: str | None
) -> dict[str, str | None]:
    """The placeholders of a rollback command: ``{env}``, ``{target_ref}``, ``{state_version}``."""
    return {"env": env_name, "target_ref": target_ref, "state_version": state_version}


def apply_command(
    template: tuple[str, ...],
    env_name: str,
    target_ref: str | None,
    state_version: str | None,
) -> ApplyCommand:
    """``template`` filled for the target, in apply mode; an error line when no command is
    configured or a placeholder it needs has no value."""
    if not template:
        return ApplyCommand(None, f"no [{env_name}.rollback] command is configured")
    try:
        argv = build_command(template, "apply", command_values(env_name, target_ref, state_version))
    except CommandError as error:
        return ApplyCommand(None, str(error))
    return ApplyCommand(tuple(argv))
