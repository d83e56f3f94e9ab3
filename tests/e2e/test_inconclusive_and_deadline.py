"""A check that could not be performed is inconclusive, never a finding, and the run-wide
``deadline`` bounds a run whose endpoint hangs.

The smoke suite runs against the session's moto server behind a fault-injecting HTTP proxy
on 127.0.0.1 (written here): it answers 503 to one HeadBucket, resets the connection of
one ListObjectsV2, or lets the account guard's STS call through and never answers anything
else. The account is otherwise ready for a rollback (versioned buckets, three state
versions, a git checkout with two commits), so a genuinely missing bucket gives READY:
the verdict differs only by what the fault does.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from accounts import stack_state
from conftest import environments_toml, moto_clients
from test_readiness_run import make_git_repo

from pytest_ohpen.config.environments import Environment, Resources
from pytest_ohpen.emulator.stack import STATE_BUCKET, STATE_KEY, Stack

ENV = "ext"
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
BUCKETS = ["ohpen-bronze", "ohpen-silver", "ohpen-artifacts"]
FAULTY = "ohpen-silver"
SILVER_CHECK = f"test_bucket_accessible[{FAULTY}]"

Rule = Callable[[str, str, bytes], str]
"""(method, path, body) -> "pass", "503", "reset" or "hang"."""


class FaultProxy:
    """An HTTP proxy in front of ``upstream`` that applies ``rule`` to every request."""

    def __init__(self, upstream: str, rule: Rule) -> None:
        self.upstream = urlsplit(upstream)
        self.rule = rule
        self.stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = proxy.rule(self.command, self.path, body)
                if action == "hang":
                    proxy.stop.wait()
                    self.close_connection = True
                    return
                if action == "reset":
                    # SO_LINGER 0: close sends RST, the client reads "connection reset".
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    return
                if action == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=30
                )
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in {"connection", "expect", "transfer-encoding"}
                }
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                content = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in {"connection", "transfer-encoding", "content-length"}:
                        self.send_header(name, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)
                upstream.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _head_bucket_503(method: str, path: str, body: bytes) -> str:
    return "503" if method == "HEAD" and path.rstrip("/") == f"/{FAULTY}" else "pass"


def _list_objects_reset(method: str, path: str, body: bytes) -> str:
    listing = method == "GET" and path.startswith(f"/{FAULTY}?") and "list-type=2" in path
    return "reset" if listing else "pass"


def _hang_after_the_guard(method: str, path: str, body: bytes) -> str:
    return "pass" if b"Action=GetCallerIdentity" in body else "hang"


def _provision(url: str, missing: str | None = None) -> None:
    """Versioned data buckets (but ``missing``) and a state object with three versions."""
    s3 = moto_clients(url).client("s3")
    for bucket in [*BUCKETS, STATE_BUCKET]:
        if bucket == missing:
            continue
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    env = Environment(
        name=ENV,
        source=Path("environments.toml"),
        account_id=ACCOUNT_ID,
        region=REGION,
        resources=Resources(buckets=tuple(BUCKETS)),
    )
    stack = Stack.for_environment(env)
    for serial in (1, 2, 3):
        state = stack_state(serial, REGION, ACCOUNT_ID, stack)
        s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=json.dumps(state).encode())


def _write_env(pytester: pytest.Pytester, endpoint: str, **overrides: object) -> None:
    env: dict[str, object] = {
        "account_id": ACCOUNT_ID,
        "region": REGION,
        "endpoint_url": endpoint,
        "retries": 1,
        "retry_delay": 0,
        "timeout": 10,
        "resources": {"buckets": BUCKETS},
        "terraform": {"state_bucket": STATE_BUCKET, "state_key": STATE_KEY},
    }
    env.update(overrides)
    pytester.path.joinpath("environments.toml").write_text(environments_toml({ENV: env}))


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        pytester.path.joinpath("reports", f"readiness-{ENV}.json").read_text()
    )
    return data


def _ids(checks: list[dict[str, Any]]) -> list[str]:
    return sorted(check["nodeid"].rsplit("::", 1)[-1] for check in checks)


@pytest.fixture
def checkout(suite_dir: pytest.Pytester) -> pytest.Pytester:
    """The smoke suite in a clean git checkout with two commits (the rollback's target)."""
    make_git_repo(suite_dir.path)
    return suite_dir


def test_a_missing_bucket_still_fails_and_reads_ready(
    checkout: pytest.Pytester, fresh_moto: str
) -> None:
    """The control: through the same proxy, a NoSuchBucket is a finding and the account
    is ready to roll back, so what the faults below change is theirs alone."""
    _provision(fresh_moto, missing=FAULTY)
    with FaultProxy(fresh_moto, lambda *_: "pass") as proxy:
        _write_env(checkout, proxy.url)
        result = checkout.runpytest_subprocess("--env", ENV, "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    report = _report(checkout)
    assert _ids(report["failed_checks"]) == [SILVER_CHECK]
    assert "not found (NoSuchBucket)" in report["failed_checks"][0]["message"]
    assert report["inconclusive_checks"] == []
    assert report["verdict"] == "READY", report["blockers"]


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        (_head_bucket_503, "HTTP 503"),
        (_list_objects_reset, "ConnectionClosedError"),
    ],
    ids=["503 on HeadBucket", "reset on ListObjectsV2"],
)
def test_a_check_that_could_not_be_performed_is_inconclusive_and_blocks(
    checkout: pytest.Pytester, fresh_moto: str, rule: Rule, said: str
) -> None:
    _provision(fresh_moto)
    with FaultProxy(fresh_moto, rule) as proxy:
        _write_env(checkout, proxy.url)
        result = checkout.runpytest_subprocess("--env", ENV, "-p", "no:cacheprovider")

    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out  # not proven healthy
    assert f"bucket {FAULTY}: could not be checked: " in out
    report = _report(checkout)
    assert report["failed_checks"] == []
    assert _ids(report["inconclusive_checks"]) == [SILVER_CHECK]
    [unchecked] = report["inconclusive_checks"]
    assert unchecked["message"].startswith(f"bucket {FAULTY}: could not be checked: ")
    assert said in unchecked["message"]
    assert (report["checks"]["passed"], report["checks"]["inconclusive"]) == (2, 1)
    assert report["verdict"] == "BLOCKED"
    assert [b["code"] for b in report["blockers"]] == ["inconclusive_checks"]
    assert SILVER_CHECK in report["blockers"][0]["message"]
    assert report["rollback"] is None, "nothing was found wrong: the trigger does not run"
    assert "verdict: BLOCKED (ext)" in out
    assert not list(checkout.path.glob("reports/audit/**/known_good*"))


def test_the_run_wide_deadline_bounds_a_run_whose_endpoint_hangs(
    checkout: pytest.Pytester, fresh_moto: str
) -> None:
    """Default retry settings (one retry, a 30 s settle window, 40 s per attempt): without
    the deadline this run takes minutes; with ``deadline = 15`` it ends soon after 15 s."""
    _provision(fresh_moto)
    with FaultProxy(fresh_moto, _hang_after_the_guard) as proxy:
        _write_env(checkout, proxy.url, deadline=15, retry_delay=30, timeout=40)
        started = time.monotonic()
        result = checkout.runpytest_subprocess("--env", ENV, "-p", "no:cacheprovider")
        took = time.monotonic() - started

    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    assert took < 26, f"took {took:.1f} s with deadline = 15\n{out}"
    print(f"took {took:.1f} s")
    report = _report(checkout)
    assert report["failed_checks"] == []
    assert _ids(report["inconclusive_checks"]) == sorted(
        f"test_bucket_accessible[{b}]" for b in BUCKETS
    )
    assert "the run's deadline of 15 s ran out" in out
    assert report["checks"]["passed"] == 0
    assert report["verdict"] == "BLOCKED"
    codes = {b["code"] for b in report["blockers"]}
    assert "inconclusive_checks" in codes and "unverified" in codes
    assert any("not gathered" in line for line in report["unverified"]), report["unverified"]
