"""One of each thing per process where one is enough: the botocore data every session reads,
the run's clients when the readiness deadline would not shorten them, and botocore's
listing of its services when the checks' threads paginate at once (issue 14)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import prod_environment

from pytest_ohpen.aws import clients as aws_clients
from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import Environment


def environment(endpoint_url: str, **overrides: Any) -> Environment:
    """A real (non-emulated) environment reached through ``endpoint_url``."""
    return prod_environment(endpoint_url=endpoint_url, **overrides)


def test_sessions_of_different_profiles_share_the_parsed_service_models(
    fresh_moto: str,
) -> None:
    checks = AwsClients(environment(fresh_moto))
    provisioning = AwsClients(environment(fresh_moto), profile="provisioning")
    first = checks.client("glue").meta.service_model
    second = provisioning.client("glue").meta.service_model
    assert checks.session is not provisioning.session  # each profile keeps its own session
    assert first._shape_resolver._shape_map is second._shape_resolver._shape_map  # parsed once
    assert provisioning.client("glue").meta.config.read_timeout >= 60  # configs stay apart


def test_the_data_path_is_searched_once_however_many_sessions(fresh_moto: str) -> None:
    """Sessions share one loader: none adds its folders to the paths again."""
    sessions = [AwsClients(environment(fresh_moto)).session for _ in range(4)]
    paths = sessions[-1].get_component("data_loader").search_paths
    assert len(paths) == len(set(paths))


def test_readiness_reads_through_the_run_clients_when_the_deadline_is_ample(
    fresh_moto: str,
) -> None:
    clients = AwsClients(environment(fresh_moto))
    ample = clients.bounded(3600)
    assert ample is clients
    assert ample.client("s3") is clients.client("s3")


def test_a_short_deadline_still_gets_clients_that_end_within_it(fresh_moto: str) -> None:
    clients = AwsClients(environment(fresh_moto, timeout=40.0))
    short = clients.bounded(2.0)
    assert short is not clients
    assert short.timeouts.read < clients.timeouts.read
    config = short.client("s3").meta.config
    attempts = short.timeouts.max_attempts
    assert attempts * (config.connect_timeout + config.read_timeout) <= 2.0 + 1e-6


def test_threads_paginating_at_once_list_botocore_services_once(
    fresh_moto: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clients = AwsClients(environment(fresh_moto))
    made = [clients.client(service) for service in ("s3", "glue", "stepfunctions", "iam")]
    loader = clients.session.get_component("data_loader")
    listed: list[str] = []
    real_listdir = os.listdir

    def counting_listdir(path: Any) -> list[str]:
        listed.append(str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    loader._cache.pop(("list_available_services", "waiters-2"), None)  # not yet listed
    monkeypatch.setattr(loader.file_loader, "folder", tmp_path / "empty-cache")  # nor kept
    start = threading.Barrier(len(made))

    def ask() -> None:
        start.wait()
        loader.list_available_services("waiters-2")

    threads = [threading.Thread(target=ask) for _ in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    roots = [path for path in listed if path in loader.search_paths]
    assert len(roots) == len([p for p in loader.search_paths if os.path.isdir(p)])


def test_the_run_reads_botocore_data_through_the_machine_cache(
    fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process would read the service models it made from the cache folder."""
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(aws_clients, "_LOADER", None)  # as in a new process
    clients = AwsClients(environment(fresh_moto))
    clients.client("sts").get_caller_identity()
    kept = [p.name for p in tmp_path.glob("botocore/*/*.marshal")]
    assert len(kept) >= 2  # sts's model and the endpoint data at least
