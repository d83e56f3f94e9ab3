"""Git facts for a rollback: the deployed commit, the target commit, uncommitted changes.

The playbook's rollback script re-applies Terraform from a previous Git revision
(default HEAD~1), so a report needs to know whether that revision exists and whether
the working tree holds changes a checkout would carry along or refuse. Facts come from
``git`` on PATH; nothing is modified (status runs without its optional index refresh).
Git problems never raise: they end up in ``GitFacts.error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_ohpen.util.git import GitError, git

GIT_TIMEOUT = 10.0
"""Seconds each git command may take."""


@dataclass(frozen=True)
class GitFacts:
    """What git says about ``repo``; ``error`` is the first problem, one line, or None."""

    repo: Path
    head: str | None
    """The full SHA HEAD points at."""
    target_ref: str
    target_commit: str | None
    """The full SHA ``target_ref`` resolves to."""
    dirty: bool
    """Tracked changes or untracked files (ignored files do not count)."""
    error: str | None


def git_facts(repo: Path, target_ref: str = "HEAD~1") -> GitFacts:
    """HEAD, what ``target_ref`` resolves to, and whether the working tree is dirty."""
    head: str | None = None
    target: str | None = None
    dirty = False
    error: str | None = None
    if not repo.is_dir():
        error = f"not a directory: {repo}"
        return GitFacts(repo, head, target_ref, target, dirty, error)
    try:
        result = git(repo, "rev-parse", "HEAD", timeout=GIT_TIMEOUT)
        if result.returncode == 0:
            head = result.stdout.strip()
        else:
            error = _rev_parse_head_error(repo, result.stderr)
            if "not a git repository" in error:
                return GitFacts(repo, head, target_ref, target, dirty, error)
        target = _resolve(repo, target_ref)
        if target is None and error is None:
            error = f"cannot resolve {target_ref!r} to a commit"
        status = git(repo, "status", "--porcelain", "--untracked-files=normal", timeout=GIT_TIMEOUT)
        if status.returncode != 0:
            raise GitError(f"git status failed in {repo}: {_first_line(status.stderr)}")
        dirty = bool(status.stdout.strip())
    except GitError as failure:
        error = error or str(failure)
    return GitFacts(repo, head, target_ref, target, dirty, error)


def _resolve(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None; a ref that looks like an option names nothing."""
    if not ref or ref.startswith("-"):
        return None
    result = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", timeout=GIT_TIMEOUT)
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def _rev_parse_head_error(repo: Path, stderr: str) -> str:
    if "not a git repository" in stderr:
        return f"not a git repository: {repo}"
    if "unknown revision" in stderr or "ambiguous argument 'HEAD'" in stderr:
        return f"HEAD names no commit (no commits yet?) in {repo}"
    return f"git rev-parse HEAD failed in {repo}: {_first_line(stderr)}"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no error output"
