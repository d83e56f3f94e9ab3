"""botocore's data files are parsed once per machine (``aws/model_cache``): what a client
is made from is the same whether the cache answered or not, an entry never outlives the
file it was made from, and nothing is read from a folder other users can write (issue 14)."""

from __future__ import annotations

import gzip
import json
import marshal
import os
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from pytest_ohpen.aws.model_cache import CachedFileLoader, file_loader


def data_file(root: Path, body: dict[str, Any], suffix: str = ".json") -> str:
    """A botocore-style data path under ``root`` (``svc/2020-01-01/service-2``)."""
    base = root / "svc" / "2020-01-01" / "service-2"
    base.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(body).encode()
    Path(str(base) + suffix).write_bytes(gzip.compress(raw) if suffix.endswith(".gz") else raw)
    return str(base)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.marshal")) if folder.is_dir() else []


def test_a_real_model_reads_the_same_from_json_and_from_the_cache(tmp_path: Path) -> None:
    """botocore's endpoint data, in the same key order too."""
    own = botocore.loaders.Loader()
    _, path = own.load_data_with_path("endpoints")
    expected = botocore.loaders.JSONFileLoader().load_file(path)
    cached = CachedFileLoader(tmp_path / "cache")
    first, second = cached.load_file(path), cached.load_file(path)
    assert json.dumps(first) == json.dumps(second) == json.dumps(expected)
    assert len(entries(tmp_path / "cache")) == 1


def test_clients_made_through_the_cache_answer_as_botocores_own(tmp_path: Path) -> None:
    loader = botocore.loaders.Loader(file_loader=CachedFileLoader(tmp_path / "cache"))
    for _ in range(2):  # parsed and kept, then read from the cache
        model = loader.load_service_model("glue", "service-2")
        loader._cache.clear()  # botocore's per-process memo would hide the second read
    expected = botocore.loaders.Loader().load_service_model("glue", "service-2")
    assert json.dumps(model) == json.dumps(expected)
    assert len(entries(tmp_path / "cache")) >= 1


def test_the_second_read_comes_from_the_entry_not_the_json(tmp_path: Path) -> None:
    path = data_file(tmp_path / "data", {"version": 1})
    cache = tmp_path / "cache"
    CachedFileLoader(cache).load_file(path)
    (entry,) = entries(cache)
    stored_path, _ = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps((stored_path, {"from": "the cache"})))
    assert CachedFileLoader(cache).load_file(path) == {"from": "the cache"}


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = data_file(tmp_path / "data", {"version": 1})
    cache = tmp_path / "cache"
    assert CachedFileLoader(cache).load_file(path) == {"version": 1}
    data_file(tmp_path / "data", {"version": 22})  # a new size and modification time
    assert CachedFileLoader(cache).load_file(path) == {"version": 22}


def test_a_gzipped_file_is_read_like_botocore_reads_it(tmp_path: Path) -> None:
    path = data_file(tmp_path / "data", {"zipped": True}, suffix=".json.gz")
    assert CachedFileLoader(tmp_path / "cache").load_file(path) == {"zipped": True}
    assert botocore.loaders.JSONFileLoader().load_file(path) == {"zipped": True}


def test_an_unreadable_entry_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    path = data_file(tmp_path / "data", {"version": 1})
    cache = tmp_path / "cache"
    CachedFileLoader(cache).load_file(path)
    (entry,) = entries(cache)
    entry.write_bytes(entry.read_bytes()[:7])  # cut short, as a crash before a sync could
    assert CachedFileLoader(cache).load_file(path) == {"version": 1}
    assert marshal.loads(entry.read_bytes())[1] == {"version": 1}


def test_an_entry_of_another_file_is_never_taken(tmp_path: Path) -> None:
    one = data_file(tmp_path / "one", {"file": "one"})
    other = data_file(tmp_path / "other", {"file": "other"})
    cache = tmp_path / "cache"
    CachedFileLoader(cache).load_file(one)
    CachedFileLoader(cache).load_file(other)
    first, second = entries(cache)
    first.write_bytes(second.read_bytes())  # whichever it was, it now names the other file
    assert CachedFileLoader(cache).load_file(one) == {"file": "one"}
    assert CachedFileLoader(cache).load_file(other) == {"file": "other"}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_folder_others_can_write_is_neither_read_nor_written(tmp_path: Path) -> None:
    path = data_file(tmp_path / "data", {"real": True})
    cache = tmp_path / "cache"
    CachedFileLoader(cache).load_file(path)
    (entry,) = entries(cache)
    entry.write_bytes(marshal.dumps((marshal.loads(entry.read_bytes())[0], {"planted": 1})))
    cache.chmod(0o777)
    assert CachedFileLoader(cache).load_file(path) == {"real": True}
    cache.chmod(0o700)
    entry.chmod(0o666)  # an entry others could have rewritten is not taken either
    assert CachedFileLoader(cache).load_file(path) == {"real": True}


def test_the_folder_is_made_private(tmp_path: Path) -> None:
    cache = tmp_path / "deep" / "cache"
    CachedFileLoader(cache).load_file(data_file(tmp_path / "data", {"a": 1}))
    assert cache.stat().st_mode & 0o777 == 0o700
    assert all(entry.stat().st_mode & 0o077 == 0 for entry in entries(cache))


def test_a_cache_that_cannot_be_made_still_loads(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = data_file(tmp_path / "data", {"still": "loads"})
    assert CachedFileLoader(blocker / "cache").load_file(path) == {"still": "loads"}


def test_the_run_cache_lives_in_the_cache_folder_per_botocore_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(tmp_path))
    loader = file_loader()
    assert isinstance(loader, CachedFileLoader)
    assert loader.folder.parent == tmp_path / "botocore"
    assert botocore.__version__ in loader.folder.name


def test_a_listing_is_walked_once_then_read_from_the_cache(tmp_path: Path) -> None:
    data_file(tmp_path / "models", {"x": 1})
    walked: list[str] = []

    def walk(type_name: str) -> list[str]:
        walked.append(type_name)
        return ["svc"]

    paths = [str(tmp_path / "models")]
    for _ in range(2):
        assert CachedFileLoader(tmp_path / "cache").services("service-2", paths, walk) == ["svc"]
    assert walked == ["service-2"]
    assert CachedFileLoader(tmp_path / "cache").services("waiters-2", paths, walk) == ["svc"]
    assert walked == ["service-2", "waiters-2"]  # each type is a listing of its own


def test_a_model_added_to_a_search_path_is_listed_again(tmp_path: Path) -> None:
    data_file(tmp_path / "models", {"x": 1})
    paths, calls = [str(tmp_path / "models")], []

    def walk(type_name: str) -> list[str]:
        calls.append(type_name)
        return sorted(p.name for p in (tmp_path / "models").iterdir())

    cache = tmp_path / "cache"
    assert CachedFileLoader(cache).services("service-2", paths, walk) == ["svc"]
    newer = tmp_path / "models" / "svc" / "2024-01-01"
    newer.mkdir()  # a new API version of an existing service: only its folder changes
    (newer / "service-2.json").write_text("{}")
    CachedFileLoader(cache).services("service-2", paths, walk)
    (tmp_path / "models" / "other" / "2020-01-01").mkdir(parents=True)  # a new service
    assert CachedFileLoader(cache).services("service-2", paths, walk) == ["other", "svc"]
    assert len(calls) == 3
