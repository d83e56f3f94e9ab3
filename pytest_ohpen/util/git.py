"""The one way this package asks git something: ``git -C REPO ...`` with one hygiene.

Git runs non-interactively (no credential prompt, no pager), in English (messages are
matched), without taking optional locks (``status`` would refresh the index of a checkout
it only reads), and always about ``repo``: a caller's ``GIT_DIR``/``GIT_WORK_TREE``/
``GIT_INDEX_FILE``/``GIT_COMMON_DIR`` (set inside git hooks) would point it elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.util import process

HYGIENE: dict[str, str | None] = {
    "GIT_DIR": None,
    "GIT_WORK_TREE": None,
    "GIT_INDEX_FILE": None,
    "GIT_COMMON_DIR": None,
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",
}
"""Laid over the caller's environment for every git command (None removes a variable)."""
DEFAULT_TIMEOUT = 60.0


class GitError(OhpenError):
    """Git could not run or answer; ``str(error)`` is one line."""


@dataclass(frozen=True)
class GitResult:
    """Git's exit code and its output as text."""

    returncode: int
    stdout: str
    stderr: str

    def last_error_line(self) -> str:
        """The last line git wrote to stderr (its message), or "failed"."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else "failed"


def git(repo: Path, *args: str, timeout: float = DEFAULT_TIMEOUT) -> GitResult:
    """``git -C repo <args>``, whatever its exit code; GitError when git cannot run."""
    result = process.run(
        ["git", "-C", str(repo), *args], timeout=timeout, env=HYGIENE, capture=True
    )
    if isinstance(result.start_error, FileNotFoundError):
        raise GitError("git is not installed")
    if result.start_error is not None:
        raise GitError(f"cannot run git: {result.start_error}")
    if result.timed_out:
        raise GitError(f"git {args[0]} timed out after {timeout:g} s in {repo}")
    assert result.exit_code is not None
    return GitResult(
        result.exit_code,
        result.stdout.decode("utf-8", errors="replace"),
        result.stderr.decode("utf-8", errors="replace"),
    )


def git_output(repo: Path, *args: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Git's stripped stdout; GitError naming the command and git's message on failure."""
    result = git(repo, *args, timeout=timeout)
    if result.returncode != 0:
        raise GitError(f"git {args[0]} in {repo}: {result.last_error_line()}")
    return result.stdout.strip()
