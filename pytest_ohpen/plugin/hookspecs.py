"""Hooks pytest-ohpen offers to a suite's ``conftest.py``.

Implement them like any pytest hook (by name, in a conftest or plugin); the plugin
calls them with keyword arguments, on the xdist controller only, after the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.readiness.facts import ReadinessFacts
    from pytest_ohpen.readiness.report import Report


@pytest.hookspec
def pytest_ohpen_readiness_facts(facts: ReadinessFacts, env: Environment) -> None:
    """Add to the facts before the verdict is decided.

    :param facts: what was gathered; call ``facts.add_blocker(reason)`` to block a rollback
        (e.g. a change freeze), ``facts.add_warning(reason)``, or put data in ``facts.extra``
        (it appears in the report under "extra").
    :param env: the environment under check.
    """


@pytest.hookspec
def pytest_ohpen_readiness_report(report: dict[str, Any], env: Environment) -> None:
    """Receive the final readiness report (JSON-ready data), e.g. to post it to chat.

    Called after the rollback trigger ran, so ``report["rollback"]`` says what it did.
    ``report`` is a copy of what was written, made for this call: changing it changes
    nothing else.
    """


@pytest.hookspec
def pytest_ohpen_rollback_veto(report: dict[str, Any], env: Environment) -> str | None:
    """Return a reason to veto an applied rollback, or None to allow it.

    Every implementation is asked; any reason turns an apply into a dry-run, and the
    reason is recorded. A veto cannot force an apply: ``report`` is a copy, and changing
    it changes neither the decision nor the report written.
    """


@pytest.hookspec
def pytest_ohpen_readiness_concluded(report: Report, env: Environment) -> None:
    """Receive the final readiness report as the frozen, typed object it was rendered from,
    for plugins that render it themselves (the Allure results do).

    Called after ``pytest_ohpen_readiness_report``; render with
    :mod:`pytest_ohpen.readiness.render` (``as_data``, ``to_json``, ``to_markdown``).
    """
