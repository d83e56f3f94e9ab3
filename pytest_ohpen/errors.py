"""The plugin's error types.

Every error a user can cause (a bad environments file, a wrong account, no
credentials) is raised as an :class:`OhpenError` whose message is one line that
names the file, key or option and the fix. The plugin turns these into pytest
usage errors, so the user sees that line and no traceback.
"""

from __future__ import annotations


class OhpenError(Exception):
    """A problem the user can fix; ``str(error)`` is the whole, one-line message."""


class ConfigError(OhpenError):
    """The environments file or an option is missing, malformed or inconsistent."""


class PreflightError(OhpenError):
    """The run cannot check anything: wrong account, no credentials, endpoint unreachable."""
