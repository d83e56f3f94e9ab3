"""A temporary git worktree at a ref, so a rollback never touches the operator's checkout."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pytest_ohpen.errors import OhpenError

GIT_TIMEOUT = 60.0


class WorktreeError(OhpenError):
    """The ref does not resolve, or git cannot make the worktree."""


@dataclass(frozen=True)
class Worktree:
    """Where the ref is checked out, and the commit it resolved to."""

    path: Path
    ref: str
    commit: str


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise WorktreeError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise WorktreeError(f"git {args[0]} timed out in {repo}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise WorktreeError(f"git {args[0]} in {repo}: {detail}")
    return done.stdout.strip()


def resolve(repo: Path, ref: str) -> str:
    """The full commit id ``ref`` names in ``repo``; a clear error when it names none."""
    if not ref or ref.startswith("-"):
        raise WorktreeError(f"cannot resolve {ref!r} to a commit in {repo}")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except WorktreeError:
        raise WorktreeError(f"cannot resolve {ref!r} to a commit in {repo}") from None


def head(repo: Path) -> str:
    """The commit the operator's checkout is at."""
    return _git(repo, "rev-parse", "HEAD")


@contextmanager
def temporary_worktree(repo: Path, ref: str) -> Iterator[Worktree]:
    """Check ``ref`` out, detached, into a temporary folder; remove it (and its git
    bookkeeping) afterwards, whatever happens inside."""
    commit = resolve(repo, ref)
    parent = Path(tempfile.mkdtemp(prefix="ohpen-rollback-"))
    path = parent / "worktree"
    try:
        _git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
        yield Worktree(path, ref, commit)
    finally:
        if path.exists():
            with suppress(WorktreeError):
                _git(repo, "worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        with suppress(WorktreeError):
            _git(repo, "worktree", "prune")
