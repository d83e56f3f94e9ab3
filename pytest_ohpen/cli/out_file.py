"""``--out FILE`` of ``ohpen state fetch`` and ``ohpen state backup``: a file that exists is
refused unless ``--force``, so an earlier backup is never lost; written in one step."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.files import write_atomic, write_new


def out_options(parser: argparse.ArgumentParser) -> None:
    """--out FILE and --force, shared by ``fetch`` and ``backup``."""
    parser.add_argument("--out", metavar="FILE", type=Path, required=True, help="file to write")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it exists (default: refuse, exit 2, so an earlier backup is "
        "never lost)",
    )


def out_file(args: argparse.Namespace, command: str) -> Path:
    """``--out``, refused (exit 2, before any AWS call) when it exists and no --force."""
    out: Path = args.out
    if not args.force and (out.exists() or out.is_symlink()):
        raise ConfigError(exists_message(out, command))
    return out


def exists_message(out: Path, command: str) -> str:
    return (
        f"state {command} --out {out}: the file exists and is not replaced (it may hold an "
        "earlier backup); choose another --out, or add --force to replace it"
    )


def write_out_file(out: Path, body: bytes, replace: bool, command: str) -> str | None:
    """None when ``out`` was written in one step, else the one-line reason it was not.
    Without ``replace`` a file that appeared since :func:`out_file` looked is kept (ConfigError)."""
    try:
        if replace:
            write_atomic(out, body)
        else:
            write_new(out, body)
    except FileExistsError:
        raise ConfigError(exists_message(out, command)) from None
    except OSError as error:
        return f"cannot write {out}: {error.strerror or error}"
    return None
