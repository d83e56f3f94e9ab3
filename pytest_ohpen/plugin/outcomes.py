"""Each check's final outcome, read from the reports pytest logs.

Works the same in a single process and on the xdist controller, which sees only
reports: every check carries its resource in ``user_properties`` (set at collection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

CHECK_PROPERTY = "ohpen_check"
RESOURCE_PROPERTY = "ohpen_resource"
KIND_PROPERTY = "ohpen_resource_kind"


@dataclass
class CheckOutcomes:
    """Final outcome per check (after retries), the failure message and the resource."""

    status: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    resources: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    retried: set[str] = field(default_factory=set)

    def record(self, report: pytest.TestReport) -> None:
        """Take one logged report (setup, call or teardown of one attempt)."""
        props = {str(k): str(v) for k, v in report.user_properties}
        if CHECK_PROPERTY not in props:
            return
        nodeid = report.nodeid
        self.resources[nodeid] = (props.get(RESOURCE_PROPERTY), props.get(KIND_PROPERTY))
        outcome: str = report.outcome
        if outcome == "rerun":
            self.retried.add(nodeid)
            return
        if report.when == "call" or report.failed or (report.when == "setup" and report.skipped):
            self.status[nodeid] = "failed" if report.failed else outcome
            if report.failed:
                self.messages[nodeid] = failure_line(report)

    @property
    def failed(self) -> list[str]:
        return [n for n, s in self.status.items() if s == "failed"]

    @property
    def passed(self) -> list[str]:
        return [n for n, s in self.status.items() if s == "passed"]

    @property
    def passed_on_retry(self) -> list[str]:
        return [n for n in self.passed if n in self.retried]


def failure_line(report: pytest.TestReport) -> str:
    """The one-line reason a check failed (the CheckFailed message for our checks)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or str(report.longrepr or "failed")
    return " ".join(message.split())[:500]
