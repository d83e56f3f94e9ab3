"""Where generated per-machine files go: the variable, then XDG, then ~/.cache; and the one
line when that folder cannot be used."""

from pathlib import Path

import pytest

from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.cache import cache_dir, usable_cache_dir


def test_the_variable_wins(tmp_path: Path) -> None:
    env = {"OHPEN_CACHE_DIR": str(tmp_path / "c"), "XDG_CACHE_HOME": "/x"}
    assert cache_dir(env) == tmp_path / "c"


def test_xdg_cache_home_next() -> None:
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/pytest-ohpen")


def test_home_cache_last() -> None:
    assert cache_dir({}) == Path.home() / ".cache" / "pytest-ohpen"


# ---------------------------------------------------------------- a cache folder that cannot be


def test_a_usable_cache_folder_is_made(tmp_path: Path) -> None:
    made = usable_cache_dir({"OHPEN_CACHE_DIR": str(tmp_path / "a" / "b")})
    assert made == tmp_path / "a" / "b" and made.is_dir()


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("file", "it is not a folder"),
        ("file/below", "it cannot be created: Not a directory"),
    ],
    ids=["a file", "below a file"],
)
def test_an_unusable_cache_folder_is_one_line_naming_the_variable(
    tmp_path: Path, where: str, problem: str
) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / where
    with pytest.raises(ConfigError) as raised:
        usable_cache_dir({"OHPEN_CACHE_DIR": str(path)})
    assert str(raised.value) == (
        f"OHPEN_CACHE_DIR={str(path)!r}: {problem}; set OHPEN_CACHE_DIR to a folder you can write"
    )


def test_an_unusable_default_folder_is_named_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "pytest-ohpen").write_text("")  # where XDG_CACHE_HOME puts it
    with pytest.raises(ConfigError, match=r"^the cache folder .*pytest-ohpen: it is not a folder"):
        usable_cache_dir({"XDG_CACHE_HOME": str(tmp_path)})
