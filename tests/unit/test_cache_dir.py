"""Where generated per-machine files go: the variable, then XDG, then ~/.cache."""

from pathlib import Path

from pytest_ohpen.util.cache import cache_dir


def test_the_variable_wins(tmp_path: Path) -> None:
    env = {"OHPEN_CACHE_DIR": str(tmp_path / "c"), "XDG_CACHE_HOME": "/x"}
    assert cache_dir(env) == tmp_path / "c"


def test_xdg_cache_home_next() -> None:
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/pytest-ohpen")


def test_home_cache_last() -> None:
    assert cache_dir({}) == Path.home() / ".cache" / "pytest-ohpen"
