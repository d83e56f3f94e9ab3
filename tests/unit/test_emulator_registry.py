"""The running-emulator records (pytest_ohpen.emulator.registry): parsing, validation, file
names, writing and removing, the start claim, and whether a run attaches. No process is
started and no connection opened (tests/unit): the probes are given, not run, except
``pid_alive`` on this very process."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_ohpen.cli import emulator as cli
from pytest_ohpen.emulator import daemon, registry
from pytest_ohpen.emulator.registry import Attach, Health, Record, RecordError
from pytest_ohpen.errors import ConfigError

STARTED = datetime(2026, 12, 2, 14, 25, 58, tzinfo=UTC)


def a_record(**overrides: object) -> Record:
    fields: dict[str, object] = {
        "pid": 4242,
        "endpoint": "http://127.0.0.1:36613",
        "environment": "local",
        "account_id": "123456789012",
        "targets": Path("/work/ops/environments.toml"),
        "started_at": STARTED,
        "log": Path("/cache/emulators/local.run/daemon.log"),
    }
    fields.update(overrides)
    return Record(**fields)  # type: ignore[arg-type]


def a_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = json.loads(a_record().to_json())
    body.update(overrides)
    return body


def test_a_record_round_trips_through_its_json() -> None:
    record = a_record()
    assert registry.parse(record.to_json(), Path("local.json")) == record
    assert json.loads(record.to_json()) == {
        "format": 1,
        "pid": 4242,
        "endpoint": "http://127.0.0.1:36613",
        "environment": "local",
        "account_id": "123456789012",
        "targets": "/work/ops/environments.toml",
        "started_at": "2026-12-02T14:25:58+00:00",
        "log": "/cache/emulators/local.run/daemon.log",
    }


def test_a_record_holds_no_credential() -> None:
    names = set(json.loads(a_record().to_json()))
    assert not any("key" in name or "secret" in name or "token" in name for name in names)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "f.json: not JSON (Expecting property name enclosed in double quotes: line 1"),
        ("[]", "f.json: not a JSON object"),
        (json.dumps(a_body(format=2)), "f.json: format 2, expected 1"),
        (json.dumps({"format": 1, "pid": 7}), "f.json: missing endpoint, environment,"),
        (json.dumps(a_body(pid="4242")), "f.json: pid '4242' is not a process id"),
        (json.dumps(a_body(pid=True)), "f.json: pid True is not a process id"),
        (json.dumps(a_body(pid=1)), "f.json: pid 1 is not a process id"),
        (json.dumps(a_body(account_id="")), "f.json: account_id '' is not a non-empty string"),
        (
            json.dumps(a_body(endpoint="http://user:pw@10.0.0.1:80")),
            "f.json: endpoint 'http://user:pw@10.0.0.1:80' is not a loopback http://HOST:PORT",
        ),
        (json.dumps(a_body(started_at="yesterday")), "f.json: started_at 'yesterday' is not a"),
        (
            json.dumps(a_body(started_at="2026-12-02T14:25:58")),
            "f.json: started_at '2026-12-02T14:25:58' has no time zone",
        ),
    ],
)
def test_a_bad_record_is_one_line_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(RecordError) as raised:
        registry.parse(text, Path("f.json"))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("local", "local"),
        ("local_2-b", "local_2-b"),
        ("../etc", "x-2e2e2f657463"),
        (".hidden", "x-2e68696464656e"),
        ("a b", "x-612062"),
    ],
)
def test_an_environment_name_is_a_safe_file_name(name: str, stem: str) -> None:
    assert registry.file_stem(name) == stem
    assert registry.record_path(name, Path("/c")) == Path(f"/c/{stem}.json")


def test_write_read_and_remove(tmp_path: Path) -> None:
    record = a_record()
    assert registry.read("local", tmp_path) is None
    path = registry.write(record, tmp_path)
    assert path == tmp_path / "local.json"
    assert registry.read("local", tmp_path) == record
    assert list(tmp_path.iterdir()) == [path]  # no temp file left by the atomic write
    assert not registry.remove("local", tmp_path, pid=999)  # another daemon's: kept
    assert registry.remove("local", tmp_path, pid=4242)
    assert registry.read("local", tmp_path) is None
    assert not registry.remove("local", tmp_path)


def test_a_record_under_another_environments_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "local.json").write_text(a_record(environment="staging").to_json())
    with pytest.raises(RecordError, match="names environment 'staging', not 'local'"):
        registry.read("local", tmp_path)


def test_an_unreadable_record_is_a_record_error(tmp_path: Path) -> None:
    (tmp_path / "local.json").write_bytes(b"\xff\xfe")
    with pytest.raises(RecordError, match=r"local\.json: cannot read"):
        registry.read("local", tmp_path)


def test_a_live_matching_record_is_attached_to() -> None:
    record = a_record()
    decision = registry.attach_decision(record, Health(True, True), "123456789012")
    assert decision == Attach(record)


def test_no_record_means_a_private_account_without_a_word() -> None:
    assert registry.attach_decision(None, None, "123456789012") == Attach(None)


def test_another_account_id_is_not_attached_to_and_says_why() -> None:
    decision = registry.attach_decision(a_record(), Health(True, True), "210987654321")
    assert decision.record is None
    assert decision.why_not == (
        "ohpen: not attaching to the running embedded account at http://127.0.0.1:36613 "
        "(pid 4242): it serves account 123456789012, environment local here is account "
        "210987654321; starting a private one"
    )


def test_the_environments_file_may_differ() -> None:
    record = a_record(targets=Path("/somewhere/else/environments.toml"))
    assert registry.attach_decision(record, Health(True, True), "123456789012").record == record


@pytest.mark.parametrize(
    ("health", "reason"),
    [
        (Health(False, False), "pid 4242 is gone"),
        (Health(True, False), "pid 4242 runs but http://127.0.0.1:36613 does not answer"),
    ],
)
def test_a_stale_record_is_not_attached_to(health: Health, reason: str) -> None:
    decision = registry.attach_decision(a_record(), health, "123456789012")
    assert decision.record is None
    assert decision.why_not == (
        f"ohpen: not attaching to the embedded account recorded for local ({reason}; "
        "`ohpen emulator status` clears the record); starting a private one"
    )


def test_pid_alive_knows_this_process_and_its_command_line() -> None:
    assert registry.pid_alive(os.getpid(), command=None)
    assert not registry.pid_alive(os.getpid())  # not a daemon: a reused pid is not one
    assert not registry.pid_alive(2**22 + 12345, command=None)  # beyond pid_max


def test_one_start_claims_at_a_time(tmp_path: Path) -> None:
    me = os.getpid()
    assert registry.claim("local", me, tmp_path) is None
    assert registry.claim("local", me + 1, tmp_path) == me  # held by a live process
    registry.release("local", me + 1, tmp_path)  # not its claim: kept
    assert registry.claimant("local", tmp_path) == me
    registry.release("local", me, tmp_path)
    assert registry.claimant("local", tmp_path) is None
    assert not registry.claim_path("local", tmp_path).exists()


def test_a_dead_starts_claim_is_taken_over(tmp_path: Path) -> None:
    registry.claim_path("local", tmp_path).write_text(f"{2**22 + 12345}\n")
    assert registry.claimant("local", tmp_path) is None
    assert registry.claim("local", os.getpid(), tmp_path) is None
    assert registry.claimant("local", tmp_path) == os.getpid()


def test_the_log_reason_is_the_failed_line_without_its_timestamp(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    log.write_text(
        "2026-12-02T14:25:54+0000 provisioning the embedded account for local\n"
        "2026-12-02T14:25:55+0000 FAILED: the embedded account could not start: OSError: x\n"
    )
    assert cli._log_reason(log) == "the embedded account could not start: OSError: x"
    log.write_text("2026-12-02T14:25:54+0000 provisioning the embedded account for local\n\n")
    assert cli._log_reason(log) == "provisioning the embedded account for local"
    log.write_text("ModuleNotFoundError: No module named 'moto'\n")
    assert cli._log_reason(log) == "ModuleNotFoundError: No module named 'moto'"
    assert cli._log_reason(tmp_path / "missing.log") is None
    assert daemon.without_timestamp("no stamp here") == "no stamp here"


def test_the_start_wait_comes_from_the_option_then_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli._start_timeout(None) == 300.0
    monkeypatch.setenv("OHPEN_EMULATOR_START_TIMEOUT", "600")
    assert cli._start_timeout(None) == 600.0
    assert cli._start_timeout("12.5") == 12.5
    with pytest.raises(ConfigError) as raised:
        cli._start_timeout("soon")
    assert str(raised.value) == (
        "--wait 'soon' (command line): not a number of seconds between 0 and 86400"
    )
    monkeypatch.setenv("OHPEN_EMULATOR_START_TIMEOUT", "0")
    with pytest.raises(ConfigError, match=r"OHPEN_EMULATOR_START_TIMEOUT='0' \(environment"):
        cli._start_timeout(None)
