"""Files that used to crash the loader (a traceback, read as "blocked" by ``ohpen
readiness``): one ConfigError line naming the file, and exit 2 from the ``ohpen`` CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen import cli
from pytest_ohpen.config.environments import load_environment, read_file
from pytest_ohpen.errors import ConfigError

VALID = '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'
BROKEN = {
    "latin-1": (VALID + "# caf\xe9\n").encode("latin-1"),
    "deeply nested": (VALID + "x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "deeply nested table": (VALID + "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n").encode(),
}
SAYS = {
    "latin-1": "not UTF-8",
    "deeply nested": "nested too deeply",
    "deeply nested table": "nested too deeply",
}


@pytest.mark.parametrize("kind", BROKEN)
def test_the_loader_says_what_is_wrong_in_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "environments.toml"
    path.write_bytes(BROKEN[kind])
    with pytest.raises(ConfigError) as caught:
        read_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert SAYS[kind] in message and "\n" not in message
    with pytest.raises(ConfigError):
        load_environment(path, "prod", "--env")


@pytest.mark.parametrize("kind", BROKEN)
def test_ohpen_readiness_exits_2_not_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    """Exit 1 from ``ohpen readiness`` means BLOCKED; a broken file is a usage error (2)."""
    (tmp_path / "environments.toml").write_bytes(BROKEN[kind])
    monkeypatch.chdir(tmp_path)
    code = cli.main(["readiness", "--env", "prod"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"ohpen: error: {tmp_path / 'environments.toml'}: ")
    assert SAYS[kind] in err and err.count("\n") == 1
