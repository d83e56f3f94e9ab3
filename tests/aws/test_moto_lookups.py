"""moto's per-request lookups made once (issue 14): the embedded account still routes every
service, and a request no longer lists moto's package folder."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from pytest_ohpen.emulator.moto_lookups import install


def test_requests_no_longer_list_the_moto_package(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto
    import moto.backends

    install()
    install()  # idempotent
    folder = os.path.dirname(moto.__file__)
    session = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1"
    )
    clients = [session.client(s, endpoint_url=moto_url) for s in ("sts", "sqs")]

    def requests() -> None:
        clients[0].get_caller_identity()
        clients[1].list_queues()

    requests()  # each service's first request loads its model (moto's loader lists then)
    listed: list[str] = []
    real_listdir = os.listdir

    def counting_listdir(path: Any = ".") -> list[str]:
        listed.append(os.fspath(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    requests()
    assert "s3" in moto.backends.list_of_moto_modules()
    assert folder not in listed


def test_moto_loads_each_model_through_one_loader() -> None:
    import moto.core.utils

    install()
    utils: Any = moto.core.utils
    assert utils.create_loader() is utils.create_loader()
