"""botocore's data files (service models, endpoint rules, partitions), parsed once per
machine instead of once per process.

Every process that makes a client parses botocore's JSON for it again: for a smoke run's
five services and the endpoint data, 3.5 MB with ``object_pairs_hook=OrderedDict``, about
70 ms of a 0.7 s run (``python bench/bench_scale.py --n 6 --latency-ms 0``). Python's
``marshal`` reads the same data, as plain dicts, about four times faster. So each file is
kept, the first time a process reads it, as a marshal file in the user's cache folder
(:func:`pytest_ohpen.util.cache.cache_dir`), named by the file's absolute path, size and
modification time: a botocore upgrade or a changed ``AWS_DATA_PATH`` model is a new name,
never a stale answer. Entries are written whole (temp file and rename).

A model decides where a client sends its requests and credentials, so an entry is only
read from a folder that belongs to this user and that nobody else can write; otherwise, and
whenever the folder cannot be made or written, the JSON is parsed as botocore would. The
cache is only ever a shortcut: every failure of it falls back to botocore's own reading.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import marshal
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.loaders import JSONFileLoader, Loader

from pytest_ohpen.util.cache import cache_dir
from pytest_ohpen.util.files import write_atomic

logger = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".json", ".json.gz")
"""The files botocore's JSON loader reads for a data path, in its order."""


def parse(path: str) -> Any:
    """A data file as botocore's JSON loader reads it (UTF-8, gzip for ``.gz``), but with
    plain dicts: the same order, faster to parse, and what marshal can write."""
    opener: Any = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


class CachedFileLoader(JSONFileLoader):
    """botocore's JSON file loader, reading a marshal copy of each file when there is one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None

    def load_file(self, file_path: str) -> Any:
        """What botocore's loader returns for ``file_path`` (a data path without its
        extension), as plain dicts: from the cache when it holds this very file, else parsed
        and kept."""
        source = _source(file_path)
        if source is None:
            return super().load_file(file_path)
        path, status = source
        key = f"{path}\0{status.st_size}\0{status.st_mtime_ns}"
        cached = self._cached(key)
        if cached is not None:
            return cached
        data = parse(path)
        self._keep(key, data)
        return data

    def services(
        self, type_name: str, search_paths: Sequence[str], list_live: Callable[[str], list[str]]
    ) -> list[str]:
        """botocore's listing of the services that have ``type_name`` data (it walks
        hundreds of folders, ~10 ms per type), kept like a file: named by the search paths
        and what they hold (botocore's own folder by its release and modification time, any
        other by the names of its folders and files, which change as a model is added or
        removed)."""
        key = _listing_key(type_name, search_paths)
        cached = self._cached(key)
        if isinstance(cached, list):
            return cached
        found = list_live(type_name)
        self._keep(key, list(found))
        return found

    def _cached(self, key: str) -> Any:
        """What the entry of ``key`` holds; None when there is none (or none to trust)."""
        return _read(self.folder / _entry_name(key), key) if self.usable() else None

    def _keep(self, key: str, data: Any) -> None:
        """Write the entry of ``key``: whole, but not synced (an entry a crash cut short is
        unreadable, and parsed again); a failure only means the next run parses too."""
        if not self.usable():
            return
        try:
            write_atomic(self.folder / _entry_name(key), marshal.dumps((key, data)), sync=False)
        except (OSError, ValueError) as error:
            logger.debug(
                "botocore model cache: cannot write an entry in %s: %s", self.folder, error
            )

    def usable(self) -> bool:
        """Whether the folder exists (made if need be), is this user's and only writable by
        them; decided once per loader."""
        if self._usable is None:
            self._usable = _private_folder(self.folder)
        return self._usable


def file_loader() -> CachedFileLoader:
    """The file loader a run's botocore sessions read through: cached in this user's cache
    folder, one subfolder per botocore release and marshal format."""
    import botocore

    tag = f"botocore-{botocore.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    return CachedFileLoader(cache_dir() / "botocore" / f"{tag}-marshal{marshal.version}")


def _source(file_path: str) -> tuple[str, os.stat_result] | None:
    """The file botocore would read for ``file_path`` and its status; None when none is."""
    for suffix in SOURCE_SUFFIXES:
        full = os.path.abspath(file_path + suffix)
        try:
            status = os.stat(full)
        except OSError:
            continue
        if stat.S_ISREG(status.st_mode):
            return full, status
    return None


def _listing_key(type_name: str, search_paths: Sequence[str]) -> str:
    import botocore

    parts = [type_name, botocore.__version__]
    for path in search_paths:
        full = os.path.abspath(path)
        if full == os.path.abspath(Loader.BUILTIN_DATA_PATH):
            parts.append(f"{full}@{_mtime(full)}")  # changes only with botocore itself
        else:
            parts.append(_tree_fingerprint(full))
    return "\0".join(parts)


def _tree_fingerprint(root: str) -> str:
    """What a listing reads of ``root``: its service folders, their version folders and the
    names of the files in those (a user's few models: cheap to walk, and no timestamp
    granularity to trust)."""
    stamps = [root]
    for service in _entries(root, folders=True):
        for version in _entries(service, folders=True):
            stamps.append(f"{version}:{','.join(_entries(version, folders=False))}")
    return "|".join(stamps)


def _entries(path: str, folders: bool) -> list[str]:
    """The folders (paths) or the files (names) in ``path``, sorted; none when unreadable."""
    try:
        with os.scandir(path) as found:
            return sorted(
                entry.path if folders else entry.name
                for entry in found
                if entry.is_dir() == folders
            )
    except OSError:
        return []


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _entry_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40] + ".marshal"


def _read(entry: Path, key: str) -> Any:
    """The data an entry holds for ``key`` (a file's path, size and modification time, or a
    listing's key); None when there is none, or it is unreadable, of another key, not this
    user's or writable by others."""
    try:
        with entry.open("rb") as handle:
            if not _private(os.fstat(handle.fileno())):
                logger.debug("botocore model cache: ignoring %s (not private)", entry)
                return None
            body = handle.read()
    except OSError:
        return None
    try:
        stored_key, data = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        logger.debug("botocore model cache: %s is unreadable; parsing the JSON again", entry)
        return None
    return data if stored_key == key else None


def _private_folder(folder: Path) -> bool:
    if not hasattr(os, "getuid"):  # no POSIX owner and mode to check: parse as botocore does
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        status = folder.stat()
    except OSError as error:
        logger.debug("botocore model cache: cannot use %s: %s", folder, error)
        return False
    if not _private(status):
        logger.debug("botocore model cache: %s is writable by others; not used", folder)
        return False
    return True


def _private(status: os.stat_result) -> bool:
    """Whether a file or folder is this user's and nobody else can write it."""
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
