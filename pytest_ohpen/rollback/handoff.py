"""What one process tells the rollback command it starts: the ``OHPEN_*`` variables.

The plugin's trigger and the drill start the environment's rollback command (usually
``scripts/rollback_terraform.sh``, which runs ``ohpen rollback terraform``); the command
learns from its environment which environment it is for, in which mode, when the failure
was detected, who approved it, whether it is a drill, and which embedded account to
attach to. This module is the only place those names are written or read. The names are
a public contract (scripts and CD workflows use them): they never change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV = "OHPEN_ENV"
DETECTED_AT = "OHPEN_DETECTED_AT"
DRILL = "OHPEN_DRILL"
ROLLBACK_MODE = "OHPEN_ROLLBACK_MODE"
INITIATED_BY = "OHPEN_ROLLBACK_INITIATED_BY"
APPROVED_BY = "OHPEN_ROLLBACK_APPROVED_BY"
EMBEDDED_ENDPOINT = "OHPEN_EMBEDDED_ENDPOINT"
"""An emulated environment attaches to the running embedded account at this URL instead of
starting a new one; ignored for real accounts."""
PYTHON = "OHPEN_PYTHON"
"""The interpreter the parent runs in: ``scripts/*.sh`` run ``$OHPEN_PYTHON -m ...``."""

INITIATORS = ("trigger", "operator", "drill")
"""Who may start a rollback, for the metrics' automated/manual split."""


@dataclass(frozen=True)
class Handoff:
    """What a parent process tells a rollback command; None means "not told"."""

    env: str | None = None
    mode: str | None = None
    """"dry-run" or "apply": set by the trigger (and the drill)."""
    detected_at: str | None = None
    """When the failed run that led here ended (ISO), for time-to-recovery."""
    approved_by: str | None = None
    initiated_by: str | None = None
    """Said by an automated pipeline that starts the command itself (e.g. "trigger")."""
    drill: bool = False
    embedded_endpoint: str | None = None
    python: str | None = None

    def to_env(self) -> dict[str, str]:
        """The variables to set for the command (what was not told is left as inherited)."""
        told = {
            ENV: self.env,
            ROLLBACK_MODE: self.mode,
            DETECTED_AT: self.detected_at,
            APPROVED_BY: self.approved_by,
            INITIATED_BY: self.initiated_by,
            DRILL: "1" if self.drill else None,
            EMBEDDED_ENDPOINT: self.embedded_endpoint,
            PYTHON: self.python,
        }
        return {name: value for name, value in told.items() if value}

    @property
    def initiator(self) -> str:
        """Who started the rollback: the drill, what an automated pipeline says it is, the
        plugin's trigger (it always passes a mode), or else an operator."""
        if self.drill:
            return "drill"
        if self.initiated_by in INITIATORS:
            return str(self.initiated_by)
        return "trigger" if self.mode else "operator"


def from_env(environ: Mapping[str, str] | None = None) -> Handoff:
    """What this process was told (``os.environ`` by default); empty values are not told."""
    environ = os.environ if environ is None else environ

    def told(name: str) -> str | None:
        return environ.get(name) or None

    return Handoff(
        env=told(ENV),
        mode=told(ROLLBACK_MODE),
        detected_at=told(DETECTED_AT),
        approved_by=told(APPROVED_BY),
        initiated_by=told(INITIATED_BY),
        drill=bool(told(DRILL)),
        embedded_endpoint=told(EMBEDDED_ENDPOINT),
        python=told(PYTHON),
    )
