"""Which embedded accounts ``ohpen emulator start`` left running, and whether a run may use one.

One JSON record per environment name under ``cache_dir() / "emulators"``, written atomically
by the daemon once its account is provisioned and answering, removed when it stops. A record
holds where the account listens and what it serves (pid, endpoint, environment name, account
id, the environments file it was started from, when, its log) and never a credential: the
embedded account takes fixed fake keys.

Everything here is pure (parsing, validating, deciding) except the probes at the bottom: is the
pid a live daemon (``os`` and ``/proc``) and does the endpoint answer (one HTTP GET).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.util.cache import cache_dir
from pytest_ohpen.util.files import write_atomic

FOLDER = "emulators"
FORMAT = 1
"""Bump when a record's fields change meaning."""
DAEMON_MODULE = "pytest_ohpen.emulator.daemon"
"""What a live daemon's command line holds (a reused pid does not)."""
PROBE_PATH = "/moto-api/config"
"""A cheap GET that moto's server answers with its JSON configuration."""
PROBE_TIMEOUT = 2.0
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_FIELDS = ("pid", "endpoint", "environment", "account_id", "targets", "started_at", "log")


class RecordError(OhpenError):
    """A record that cannot be read or makes no sense; one line naming the file."""


@dataclass(frozen=True)
class Record:
    """One running embedded account, as its daemon wrote it."""

    pid: int
    endpoint: str
    environment: str
    account_id: str
    targets: Path
    """The environments file the daemon was started from (resolved)."""
    started_at: datetime
    log: Path
    """The daemon's log, in its run folder."""

    @property
    def run_dir(self) -> Path:
        """The daemon's own folder (its log and temp files): removed when it stops."""
        return self.log.parent

    def to_json(self) -> str:
        """The record as written to its file."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "pid": self.pid,
            "endpoint": self.endpoint,
            "environment": self.environment,
            "account_id": self.account_id,
            "targets": str(self.targets),
            "started_at": self.started_at.astimezone(UTC).isoformat(timespec="seconds"),
            "log": str(self.log),
        }
        return json.dumps(body, indent=2) + "\n"

    def where(self) -> str:
        """``http://127.0.0.1:PORT (pid N)``: how a line names it."""
        return f"{self.endpoint} (pid {self.pid})"


def folder(environ: dict[str, str] | None = None) -> Path:
    """Where the records and the daemons' run folders live."""
    return cache_dir(environ) / FOLDER


def file_stem(env_name: str) -> str:
    """The environment name as a file name: itself when plain, else hex (``x-6c6f...``)."""
    if _SIMPLE_NAME.fullmatch(env_name):
        return env_name
    return "x-" + env_name.encode().hex()


def record_path(env_name: str, base: Path | None = None) -> Path:
    """The record file of ``env_name``'s running account."""
    return (base or folder()) / f"{file_stem(env_name)}.json"


def claim_path(env_name: str, base: Path | None = None) -> Path:
    """The file an ``ohpen emulator start`` holds while it starts ``env_name``'s account."""
    return (base or folder()) / f"{file_stem(env_name)}.starting"


def run_folder(env_name: str, base: Path | None = None) -> Path:
    """The daemon's own folder (its log, its temp files), beside its record."""
    return (base or folder()) / f"{file_stem(env_name)}.run"


def parse(text: str, source: Path) -> Record:
    """A record from its file's text; RecordError (one line) when it is not one."""
    try:
        body = json.loads(text)
    except ValueError as error:
        raise RecordError(f"{source}: not JSON ({error})") from None
    if not isinstance(body, dict):
        raise RecordError(f"{source}: not a JSON object")
    if body.get("format") != FORMAT:
        raise RecordError(f"{source}: format {body.get('format')!r}, expected {FORMAT}")
    missing = [name for name in _FIELDS if name not in body]
    if missing:
        raise RecordError(f"{source}: missing {', '.join(missing)}")
    pid = body["pid"]
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        raise RecordError(f"{source}: pid {pid!r} is not a process id")
    texts = {name: body[name] for name in _FIELDS if name != "pid"}
    for name, value in texts.items():
        if not isinstance(value, str) or not value:
            raise RecordError(f"{source}: {name} {value!r} is not a non-empty string")
    endpoint = texts["endpoint"]
    if not re.fullmatch(r"http://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}", endpoint):
        raise RecordError(f"{source}: endpoint {endpoint!r} is not a loopback http://HOST:PORT")
    try:
        started_at = datetime.fromisoformat(texts["started_at"])
    except ValueError:
        raise RecordError(f"{source}: started_at {texts['started_at']!r} is not a time") from None
    if started_at.tzinfo is None:
        raise RecordError(f"{source}: started_at {texts['started_at']!r} has no time zone")
    return Record(
        pid=pid,
        endpoint=endpoint,
        environment=texts["environment"],
        account_id=texts["account_id"],
        targets=Path(texts["targets"]),
        started_at=started_at,
        log=Path(texts["log"]),
    )


def read(env_name: str, base: Path | None = None) -> Record | None:
    """The record of ``env_name``, None when there is none; RecordError when unreadable or
    when it names another environment."""
    path = record_path(env_name, base)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(f"{path}: cannot read ({error})") from None
    record = parse(text, path)
    if record.environment != env_name:
        raise RecordError(f"{path}: names environment {record.environment!r}, not {env_name!r}")
    return record


def write(record: Record, base: Path | None = None) -> Path:
    """Write ``record`` (atomically) and return its path."""
    path = record_path(record.environment, base)
    write_atomic(path, record.to_json())
    return path


def remove(env_name: str, base: Path | None = None, pid: int | None = None) -> bool:
    """Remove ``env_name``'s record (only if it is ``pid``'s, when given); True if removed."""
    path = record_path(env_name, base)
    if pid is not None:
        try:
            current = read(env_name, base)
        except RecordError:
            return False  # not provably ``pid``'s: leave it
        if current is None or current.pid != pid:
            return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


# Decisions: pure, on what the probes found.


@dataclass(frozen=True)
class Health:
    """What the probes found about a record's daemon."""

    pid_alive: bool
    answering: bool

    @property
    def running(self) -> bool:
        """Its daemon runs and its endpoint answers."""
        return self.pid_alive and self.answering

    def stale_reason(self, record: Record) -> str:
        """Why the record is stale (call only when not running)."""
        if not self.pid_alive:
            return f"pid {record.pid} is gone"
        return f"pid {record.pid} runs but {record.endpoint} does not answer"


@dataclass(frozen=True)
class Attach:
    """A preflight's answer: attach to ``record`` (``why_not`` is None), or do not and say why
    in one line (a private account then starts as when none runs)."""

    record: Record | None
    why_not: str | None = None


def attach_decision(record: Record | None, health: Health | None, account_id: str) -> Attach:
    """Whether a run of the record's environment for ``account_id`` attaches to it.

    Same environment name (the record's file says so) and the same account id; the
    environments file may differ (an operator rehearses from a scratch clone with its own
    copy). A stale record or another account: no, with the reason.
    """
    if record is None:
        return Attach(None)
    if health is None or not health.running:
        reason = health.stale_reason(record) if health else "not probed"
        return Attach(
            None,
            f"ohpen: not attaching to the embedded account recorded for {record.environment} "
            f"({reason}; `ohpen emulator status` clears the record); starting a private one",
        )
    if record.account_id != account_id:
        return Attach(
            None,
            f"ohpen: not attaching to the running embedded account at {record.where()}: it "
            f"serves account {record.account_id}, environment {record.environment} here is "
            f"account {account_id}; starting a private one",
        )
    return Attach(record)


def started_now() -> datetime:
    """The ``started_at`` of a record written now."""
    return datetime.now(UTC).replace(microsecond=0)


# Probes: the only parts that look at the machine.


def pid_alive(pid: int, command: str | None = DAEMON_MODULE) -> bool:
    """The pid is a live (not zombie) process of this user whose command line holds
    ``command`` (None: any); where ``/proc`` is missing, only that the pid exists."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or another user's: not ours
        return False
    if not Path("/proc/self").exists():
        return True
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"]):
        return False  # exited; only its parent (here perhaps an init that never reaps) waits
    return command is None or command.encode() in cmdline


def claim(env_name: str, pid: int, base: Path | None = None) -> int | None:
    """Claim starting ``env_name``'s account for process ``pid`` (one start at a time): None
    when claimed, else the pid of the live process holding the claim. A claim whose holder
    is gone is taken over."""
    path = claim_path(env_name, base)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = claimant(env_name, base)
            if holder is not None:
                return holder
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as out:
            out.write(f"{pid}\n")
        return None
    raise RecordError(f"{path}: cannot claim it (another start keeps taking it)")


def claimant(env_name: str, base: Path | None = None) -> int | None:
    """The live process holding ``env_name``'s start claim, if any."""
    try:
        text = claim_path(env_name, base).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    holder = int(text) if text.isdigit() else 0
    return holder if holder > 1 and pid_alive(holder, command=None) else None


def release(env_name: str, pid: int, base: Path | None = None) -> None:
    """Give up ``pid``'s start claim (never another process's)."""
    path = claim_path(env_name, base)
    try:
        if path.read_text().strip() == str(pid):
            path.unlink()
    except OSError:
        pass


def answering(endpoint: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """moto's server answers a GET of its configuration at ``endpoint`` with JSON."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint}{PROBE_PATH}", timeout=timeout) as response:
            return isinstance(json.loads(response.read()), dict)
    except (OSError, ValueError):
        return False


def probe(record: Record) -> Health:
    """Is the record's daemon alive, and does its endpoint answer."""
    alive = pid_alive(record.pid)
    return Health(pid_alive=alive, answering=alive and answering(record.endpoint))
