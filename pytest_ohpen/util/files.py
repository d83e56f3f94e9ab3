"""Writing files so that nothing is ever half-written: a synced temp file in the same folder,
then one step that gives it its name (a rename that replaces, or a link that never does)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _staged(path: Path, body: bytes, sync: bool = True) -> Iterator[Path]:
    """``body`` in a temp file beside ``path`` (synced unless ``sync`` is False), removed
    again whatever happens."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        yield Path(temp)
    finally:
        Path(temp).unlink(missing_ok=True)


def write_atomic(path: Path, content: str | bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``content`` (text as UTF-8, or bytes as they are) in one step;
    readers see the old or the new file, never half of one. ``sync=False`` skips the fsync,
    for a cache whose entries may be lost in a crash (they are checked when read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = content.encode() if isinstance(content, str) else content
    with _staged(path, body, sync) as temp:
        os.replace(temp, path)


def write_new(path: Path, body: bytes) -> None:
    """Create ``path`` with ``body`` in one step, never replacing a file already there
    (``FileExistsError``): append-only records rely on it. The folder is synced too, so the
    new name survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _staged(path, body) as temp:
        os.link(temp, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a new directory entry durable (a no-op where directories cannot be opened)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
