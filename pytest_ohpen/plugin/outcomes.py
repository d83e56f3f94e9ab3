"""Each check's final outcome, read from the reports pytest logs.

Works the same in a single process and on the xdist controller, which sees only
reports: every check carries its environment and resource in ``user_properties`` (set at
collection; they cross from workers as strings). They are parsed here, once, into a
:class:`CheckTag`; the rest of the pipeline uses the typed :class:`CheckOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NoReturn

import pytest

CHECK_PROPERTY = "ohpen_check"
RESOURCE_PROPERTY = "ohpen_resource"
KIND_PROPERTY = "ohpen_resource_kind"
INCONCLUSIVE_PROPERTY = "ohpen_inconclusive"
"""Set on the report of an attempt that could not check (``makereport``): it crosses from
xdist workers with the report, as its other ``user_properties`` do."""
BY_CHOICE = "(opted out)"
"""How the reason of a skip the operator chose ends (:func:`skip_by_choice`)."""


def skip_by_choice(reason: str) -> NoReturn:
    """Skip a check the operator opted out of: an opt-in not given (``--invoke-lambda``) or a
    check the environment switches off (``tls_policy = false``). Such a skip still lets a green
    run mark known-good; any other skip (a missing setting, no resources of a kind) does not."""
    pytest.skip(f"{reason} {BY_CHOICE}")


def is_by_choice(reason: str | None) -> bool:
    """Whether a skip's reason says the operator opted out (see :func:`skip_by_choice`)."""
    return bool(reason) and str(reason).endswith(BY_CHOICE)


@dataclass(frozen=True)
class CheckTag:
    """What a check's ``user_properties`` say: it is an ohpen check of ``environment``,
    about ``resource`` of ``kind`` (a ``[<env>.resources]`` key) when it has one."""

    environment: str
    resource: str | None = None
    kind: str | None = None


def check_tag(user_properties: Iterable[tuple[str, object]]) -> CheckTag | None:
    """The tag of an item or report, or None when it is not an ohpen check."""
    props = {str(k): str(v) for k, v in user_properties}
    if CHECK_PROPERTY not in props:
        return None
    return CheckTag(props[CHECK_PROPERTY], props.get(RESOURCE_PROPERTY), props.get(KIND_PROPERTY))


@dataclass(frozen=True)
class CheckOutcome:
    """One check's final outcome after its retries."""

    nodeid: str
    status: str
    """ "passed", "failed", "inconclusive" (could not be performed) or "skipped"."""
    resource: str | None = None
    kind: str | None = None
    message: str | None = None
    """The one-line reason, for a failed or inconclusive check, or why a check was skipped."""
    retried: bool = False
    """Whether an earlier attempt was rerun (a pass is then a pass on retry)."""


@dataclass
class CheckOutcomes:
    """Collects the logged reports of the checks; :attr:`results` is the typed outcome."""

    _final: dict[str, CheckOutcome] = field(default_factory=dict)
    _retried: set[str] = field(default_factory=set)

    def record(self, report: pytest.TestReport) -> None:
        """Take one logged report (setup, call or teardown of one attempt)."""
        tag = check_tag(report.user_properties)
        if tag is None:
            return
        nodeid = report.nodeid
        outcome: str = report.outcome
        if outcome == "rerun":
            self._retried.add(nodeid)
            return
        if report.when == "call" or report.failed or (report.when == "setup" and report.skipped):
            self._final[nodeid] = CheckOutcome(
                nodeid,
                _status(report),
                tag.resource,
                tag.kind,
                failure_line(report) if report.failed else _skip_line(report),
            )

    @property
    def results(self) -> tuple[CheckOutcome, ...]:
        """Every check that reached an outcome, in the order they finished first."""
        return tuple(replace(o, retried=o.nodeid in self._retried) for o in self._final.values())

    @property
    def failed(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.results if o.status == "failed")

    @property
    def inconclusive(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.results if o.status == "inconclusive")

    @property
    def passed(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.results if o.status == "passed")

    @property
    def skipped(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.results if o.status == "skipped")

    @property
    def passed_on_retry(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.passed if o.retried)


def is_inconclusive(report: pytest.TestReport) -> bool:
    """Whether this attempt could not check (marked so by the plugin's makereport)."""
    return any(str(name) == INCONCLUSIVE_PROPERTY for name, _ in report.user_properties)


def _status(report: pytest.TestReport) -> str:
    if report.failed:
        return "inconclusive" if is_inconclusive(report) else "failed"
    return str(report.outcome)


def failure_line(report: pytest.TestReport) -> str:
    """The one-line reason a check failed (the CheckFailed message for our checks)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or str(report.longrepr or "failed")
    return " ".join(message.split())[:500]


def _skip_line(report: pytest.TestReport) -> str | None:
    """A skipped check's reason without pytest's "Skipped: " (None unless it was skipped);
    ``longrepr`` is (path, line, reason), also once it crossed from an xdist worker."""
    if not report.skipped:
        return None
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3 else ""
    text = " ".join(str(reason or longrepr or "skipped").split())
    return text.removeprefix("Skipped: ")[:500]
