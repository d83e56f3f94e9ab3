"""Git facts for a rollback: the deployed commit, the target commit, uncommitted changes.

The playbook's rollback script re-applies Terraform from a previous Git revision
(default HEAD~1), so a report needs to know whether that revision exists and whether
the working tree holds changes a checkout would carry along or refuse. Facts come from
``git`` on PATH; nothing is modified (status runs without its optional index refresh).
Git problems never raise: they end up in ``GitFacts.error``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 10.0
"""Seconds each git command may take."""
REDIRECTING_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")
"""Variables that would make git look at another repository than ``repo`` (as in a hook)."""


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


class _GitFailed(Exception):
    """A git command could not run or answer; the message is the one-line error."""


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
        result = _git(repo, "rev-parse", "HEAD")
        if result.returncode == 0:
            head = result.stdout.strip()
        else:
            error = _rev_parse_head_error(repo, result.stderr)
            if "not a git repository" in error:
                return GitFacts(repo, head, target_ref, target, dirty, error)
        target = _resolve(repo, target_ref)
        if target is None and error is None:
            error = f"cannot resolve {target_ref!r} to a commit"
        status = _git(repo, "status", "--porcelain", "--untracked-files=normal")
        if status.returncode != 0:
            raise _GitFailed(f"git status failed in {repo}: {_first_line(status.stderr)}")
        dirty = bool(status.stdout.strip())
    except _GitFailed as failure:
        error = error or str(failure)
    return GitFacts(repo, head, target_ref, target, dirty, error)


def _resolve(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None; a ref that looks like an option names nothing."""
    if not ref or ref.startswith("-"):
        return None
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def _rev_parse_head_error(repo: Path, stderr: str) -> str:
    if "not a git repository" in stderr:
        return f"not a git repository: {repo}"
    if "unknown revision" in stderr or "ambiguous argument 'HEAD'" in stderr:
        return f"HEAD names no commit (no commits yet?) in {repo}"
    return f"git rev-parse HEAD failed in {repo}: {_first_line(stderr)}"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``git -C repo <args>`` read-only, in English, without a prompt."""
    env = {k: v for k, v in os.environ.items() if k not in REDIRECTING_ENV}
    env.update(LC_ALL="C", GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    command = ["git", "-C", str(repo), *args]
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise _GitFailed("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise _GitFailed(f"git {args[0]} timed out after {GIT_TIMEOUT:g} s in {repo}") from None
    except OSError as oserror:
        raise _GitFailed(f"cannot run git: {oserror}") from None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no error output"
