"""A temporary git worktree at a ref, so a rollback never touches the operator's checkout."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pytest_ohpen.util.git import GitError, git_output


class WorktreeError(GitError):
    """The ref does not resolve to a commit."""


@dataclass(frozen=True)
class Worktree:
    """Where the ref is checked out, and the commit it resolved to."""

    path: Path
    ref: str
    commit: str


def resolve(repo: Path, ref: str) -> str:
    """The full commit id ``ref`` names in ``repo``; a clear error when it names none."""
    if not ref or ref.startswith("-"):
        raise WorktreeError(f"cannot resolve {ref!r} to a commit in {repo}")
    try:
        return git_output(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise WorktreeError(f"cannot resolve {ref!r} to a commit in {repo}") from None


def head(repo: Path) -> str:
    """The commit the operator's checkout is at."""
    return git_output(repo, "rev-parse", "HEAD")


@contextmanager
def temporary_worktree(repo: Path, ref: str) -> Iterator[Worktree]:
    """Check ``ref`` out, detached, into a temporary folder; remove it (and its git
    bookkeeping) afterwards, whatever happens inside."""
    commit = resolve(repo, ref)
    parent = Path(tempfile.mkdtemp(prefix="ohpen-rollback-"))
    path = parent / "worktree"
    try:
        git_output(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
        yield Worktree(path, ref, commit)
    finally:
        if path.exists():
            with suppress(GitError):
                git_output(repo, "worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        with suppress(GitError):
            git_output(repo, "worktree", "prune")
