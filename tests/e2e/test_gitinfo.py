"""Git facts come from a real repository made by each test; git problems become ``error``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_ohpen.readiness.git_facts import GitFacts, git_facts
from pytest_ohpen.rollback import worktree

IDENTITY = ("-c", "user.name=Ohpen Test", "-c", "user.email=test@ohpen.invalid")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with two commits and a clean working tree, safe from the user's config."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    path = tmp_path / "infra"
    path.mkdir()
    _git(path, "init", "--quiet")
    for n in (1, 2):
        (path / "main.tf").write_text(f'# apply {n}\nlocals {{ apply = "{n}" }}\n')
        _git(path, "add", "main.tf")
        _git(path, "commit", "--quiet", "-m", f"apply {n}")
    return path


def test_head_and_the_previous_commit(repo: Path) -> None:
    """The default target, HEAD~1, is the commit before the deployed one."""
    facts = git_facts(repo)

    assert facts == GitFacts(
        repo=repo,
        head=_git(repo, "rev-parse", "HEAD"),
        target_ref="HEAD~1",
        target_commit=_git(repo, "rev-parse", "HEAD~1"),
        dirty=False,
        error=None,
    )
    assert facts.head is not None and len(facts.head) == 40
    assert facts.head != facts.target_commit


def test_a_tag_resolves_to_its_commit(repo: Path) -> None:
    """An annotated tag names the tag object; the target is the commit it points at."""
    first = _git(repo, "rev-parse", "HEAD~1")
    _git(repo, "tag", "-a", "v1", "-m", "release 1", first)

    facts = git_facts(repo, "v1")

    assert (facts.target_commit, facts.error) == (first, None)


@pytest.mark.parametrize("ref", ["v9", "HEAD~5", "--all", ""])
def test_a_ref_that_names_no_commit_is_an_error(repo: Path, ref: str) -> None:
    """An unknown ref, one past the first commit, or an option-like string: no target."""
    facts = git_facts(repo, ref)

    assert facts.head is not None
    assert facts.target_commit is None
    assert facts.error == f"cannot resolve {ref!r} to a commit"


def test_an_untracked_file_makes_the_tree_dirty(repo: Path) -> None:
    """A checkout of the target would carry it along: the tree is not clean."""
    (repo / "notes.txt").write_text("scratch\n")

    facts = git_facts(repo)

    assert facts.dirty
    assert facts.error is None


def test_an_uncommitted_change_makes_the_tree_dirty(repo: Path) -> None:
    """A modified tracked file is dirty."""
    (repo / "main.tf").write_text("# edited by hand\n")

    assert git_facts(repo).dirty


def test_an_ignored_file_is_not_dirty(repo: Path) -> None:
    """.terraform/ and the like are ignored on purpose."""
    (repo / ".gitignore").write_text(".terraform/\n")
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "--quiet", "-m", "ignore .terraform")
    (repo / ".terraform").mkdir()
    (repo / ".terraform" / "providers.lock").write_text("x\n")

    assert not git_facts(repo).dirty


def test_untracked_files_count_even_when_config_hides_them(repo: Path) -> None:
    """status.showUntrackedFiles=no in the repository's config does not hide them here."""
    _git(repo, "config", "status.showUntrackedFiles", "no")
    (repo / "notes.txt").write_text("scratch\n")

    assert git_facts(repo).dirty


def test_git_facts_change_nothing(repo: Path) -> None:
    """Read-only: the index, HEAD and refs are the same afterwards."""
    (repo / "main.tf").write_text("# edited by hand\n")
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns, _git(repo, "show-ref"))

    git_facts(repo)

    assert (index.read_bytes(), index.stat().st_mtime_ns, _git(repo, "show-ref")) == before


def test_a_directory_outside_any_repository(tmp_path: Path) -> None:
    """Not a repository: no facts, one line saying so."""
    plain = tmp_path / "plain"
    plain.mkdir()

    facts = git_facts(plain)

    assert facts == GitFacts(plain, None, "HEAD~1", None, False, f"not a git repository: {plain}")


def test_a_missing_directory(tmp_path: Path) -> None:
    """A path that does not exist is reported, not passed to git."""
    facts = git_facts(tmp_path / "gone")

    assert facts.error == f"not a directory: {tmp_path / 'gone'}"
    assert facts.head is None


def test_a_repository_without_commits(tmp_path: Path) -> None:
    """git init only: HEAD names nothing yet."""
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "--quiet")

    facts = git_facts(empty)

    assert facts.head is None and facts.target_commit is None
    assert facts.error == f"HEAD names no commit (no commits yet?) in {empty}"


def test_git_not_installed(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No git on PATH is an error line, not an exception."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    facts = git_facts(repo)

    assert facts == GitFacts(repo, None, "HEAD~1", None, False, "git is not installed")


def test_a_git_directory_from_the_environment_is_ignored(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIT_DIR (set inside git hooks) must not point the facts at another repository."""
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "--quiet")
    _git(other, "commit", "--quiet", "--allow-empty", "-m", "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))

    facts = git_facts(repo)

    monkeypatch.delenv("GIT_DIR")
    assert facts.head == _git(repo, "rev-parse", "HEAD")


def test_a_stray_git_dir_does_not_change_what_the_rollback_worktree_reads(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollback's worktree code asks git with the same hygiene as the readiness facts:
    a GIT_DIR (or GIT_WORK_TREE) left by a git hook must not redirect it."""
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "--quiet")
    _git(other, "commit", "--quiet", "--allow-empty", "-m", "other")
    expected = (_git(repo, "rev-parse", "HEAD"), _git(repo, "rev-parse", "HEAD~1"))
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))

    seen = (worktree.head(repo), worktree.resolve(repo, "HEAD~1"))
    with worktree.temporary_worktree(repo, "HEAD~1") as tree:
        checked_out = (tree.path / "main.tf").read_text()
    facts = git_facts(repo)

    assert seen == expected
    assert checked_out == '# apply 1\nlocals { apply = "1" }\n'
    assert (facts.head, facts.target_commit) == expected
