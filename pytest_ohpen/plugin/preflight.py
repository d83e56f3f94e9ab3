"""The plugin's boundary before any check: preflight, and the one line when it fails.

Preflight runs in ``pytest_collection_modifyitems`` (one process) or on xdist's controller
at session start. Whatever goes wrong there, an OhpenError or anything else (botocore, a
moto that does not start), the user sees one ``ERROR: ohpen: ...`` line and exit code 4,
never pytest's INTERNALERROR traceback.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.context import OhpenRun
from pytest_ohpen.errors import OhpenError

USAGE_PREFIX = "ohpen: "
"""How the plugin's usage errors start; pytest adds ``ERROR: `` in front."""
REPORTER_NAME = "ohpen-readiness-reporter"
"""The readiness reporter's plugin name, registered once preflight has passed."""


def usage_error(error: BaseException) -> pytest.UsageError:
    """The one-line usage error for ``error`` (its own message if it is an OhpenError)."""
    if isinstance(error, OhpenError):
        return pytest.UsageError(f"{USAGE_PREFIX}{error}")
    from pytest_ohpen.aws.guard import error_line

    return pytest.UsageError(f"{USAGE_PREFIX}preflight failed: {error_line(error)}")


def preflight(config: pytest.Config, run: OhpenRun) -> None:
    """Embedded account and account guard, then the readiness reporter on this process;
    raises pytest.UsageError (one line) on any failure."""
    try:
        run.preflight()
    except Exception as error:
        raise usage_error(error) from None
    from pytest_ohpen.plugin.reporter import register  # only runs that check

    register(config, run)
