"""A throwaway commit: the drill's bad revision, made on top of a good one in a temporary
worktree, on no branch.

The drill deploys its fault the way a bad change really arrives — as Terraform code at a
commit — without ever touching the user's checkout or branches: the commit exists only as
an object in the repository (no ref names it; git's garbage collection removes it later).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pytest_ohpen.rollback.worktree import temporary_worktree
from pytest_ohpen.util.git import git_output

AUTHOR = ("-c", "user.name=pytest-ohpen drill", "-c", "user.email=drill@pytest-ohpen.invalid")
"""Who the throwaway commit says made it (never the operator's identity)."""


def throwaway_commit(repo: Path, base_ref: str, files: Mapping[str, str], message: str) -> str:
    """The full id of a new commit: ``base_ref`` plus ``files`` (path relative to the
    repository → text), committed in a temporary worktree that is removed afterwards."""
    with temporary_worktree(repo, base_ref) as tree:
        for relative, text in files.items():
            target = tree.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git_output(tree.path, "add", "--", *files)
        git_output(
            tree.path, *AUTHOR, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message
        )
        return git_output(tree.path, "rev-parse", "HEAD")
