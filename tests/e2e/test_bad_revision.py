"""The drill's bad revision: a commit on no branch, the checkout and branches untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pytest_ohpen.rollback.bad_revision import throwaway_commit


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet", "-b", "main")
    (repo / "main.tf").write_text("# good\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "good")
    return repo


def test_the_commit_holds_the_files_on_top_of_the_base(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    good = _git(repo, "rev-parse", "HEAD")
    bad = throwaway_commit(repo, "HEAD", {"infra/drill_fault.tf": "# bad\n"}, "drill: bad")
    assert _git(repo, "rev-parse", f"{bad}^") == good
    assert _git(repo, "show", f"{bad}:infra/drill_fault.tf") == "# bad"
    assert _git(repo, "show", f"{bad}:main.tf") == "# good"
    assert _git(repo, "log", "-1", "--format=%an", bad) == "pytest-ohpen drill"


def test_no_branch_moves_and_the_checkout_is_untouched(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    refs_before = _git(repo, "show-ref")
    throwaway_commit(repo, "HEAD", {"drill_fault.tf": "# bad\n"}, "drill: bad")
    assert _git(repo, "show-ref") == refs_before
    assert _git(repo, "status", "--porcelain") == ""
    assert not (repo / "drill_fault.tf").exists()
    assert _git(repo, "worktree", "list").count("\n") == 0  # only the checkout itself
