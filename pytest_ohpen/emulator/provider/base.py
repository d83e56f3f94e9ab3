"""What every embedded resource shares: the AWS clients, the loopback-only rule, injected
failures, and the translation of AWS errors into Terraform diagnostics."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tf.iface import (
    CreateContext,
    DeleteContext,
    ImportContext,
    ReadContext,
    Resource,
    UpdateContext,
    UpgradeContext,
)
from tf.schema import Attribute, Schema
from tf.types import String

State = dict[str, Any]
FAIL_VARIABLE = "OHPEN_EMBEDDED_PROVIDER_FAIL"
"""``TYPE`` or ``TYPE:NAME``, comma-separated: those resources' create, update and delete fail
(to rehearse recovery from a failed apply)."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ProviderError(Exception):
    """A change the provider could not make; its text becomes Terraform's error line."""


class Clients:
    """boto3 clients for the embedded account (one per service), and where relative file
    paths in a configuration are resolved (Terraform's working directory)."""

    def __init__(self, make: Callable[[str], Any], base_dir: Path | None = None) -> None:
        self._make = make
        self._clients: dict[str, Any] = {}
        self.base_dir = base_dir or Path.cwd()

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make(service)
        return self._clients[service]

    def read_bytes(self, path: str) -> bytes:
        """A file the configuration names (``filename``, ``source``)."""
        target = Path(path)
        return (target if target.is_absolute() else self.base_dir / target).read_bytes()


def loopback_endpoint(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """``AWS_ENDPOINT_URL`` when it is a loopback URL; else ProviderError (never real AWS)."""
    environ = os.environ if environ is None else environ
    url = environ.get("AWS_ENDPOINT_URL", "")
    host = urlsplit(url).hostname if url else None
    if host not in LOOPBACK:
        raise ProviderError(
            "the embedded provider only talks to the embedded account: AWS_ENDPOINT_URL must be "
            f"a loopback URL (got {url or 'nothing'})"
        )
    return url


def environment_clients() -> Clients:
    """Clients from the environment Terraform runs the provider with."""
    import boto3

    url = loopback_endpoint()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        if os.environ.get(name) == "":  # blanked by the caller: "not set", not a name
            del os.environ[name]
    session = boto3.session.Session()
    make: Any = session.client
    return Clients(lambda service: make(service, endpoint_url=url))


def injected_failure(type_name: str, name: str, environ: dict[str, str] | None = None) -> bool:
    """Whether ``FAIL_VARIABLE`` names this resource (by type, or type and name)."""
    value = (os.environ if environ is None else environ).get(FAIL_VARIABLE, "")
    wanted = {item.strip() for item in value.split(",") if item.strip()}
    return type_name in wanted or f"{type_name}:{name}" in wanted


def aws_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    return str((response or {}).get("Error", {}).get("Code", "")) if response else ""


def same_json(live: Any, recorded: Any) -> Any:
    """``recorded`` (the string Terraform knows) when it means the same JSON as ``live``,
    else ``live`` as compact JSON: a reformatted document is no drift, a changed one is."""
    document = json.loads(live) if isinstance(live, str) else live
    if isinstance(recorded, str):
        try:
            if json.loads(recorded) == document:
                return recorded
        except ValueError:
            pass
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def attr(name: str, kind: Any = None, **flags: Any) -> Attribute:
    """A schema attribute (String unless told)."""
    return Attribute(name, kind if kind is not None else String(), **flags)


class AwsResource(Resource):
    """One resource type. Subclasses set ``type_name``, ``attributes``, ``blocks`` and
    ``name_key`` and implement ``make``, ``look``, ``remove`` (and ``change`` when some
    attribute can change in place)."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]
    name_key: ClassVar[str]
    """The attribute naming the resource (what ``--emulator-omit`` and the fault name)."""

    def __init__(self, provider: Any = None, clients: Clients | None = None) -> None:
        self.provider = provider
        self._clients = clients

    @property
    def aws(self) -> Clients:
        if self._clients is None:
            self._clients = environment_clients()
        return self._clients

    @classmethod
    def omit_name(cls, attributes: State) -> str:
        """The name ``--emulator-omit`` gives this resource (its ``name_key`` unless told)."""
        return str(attributes.get(cls.name_key) or "")

    @classmethod
    def get_name(cls) -> str:
        return cls.type_name.removeprefix("aws_")

    @classmethod
    def get_schema(cls) -> Schema:
        return cls.schema

    # The boto3 side, used by Terraform and by replay alike.
    def make(self, planned: State) -> State:
        raise NotImplementedError

    def look(self, current: State) -> State | None:
        raise NotImplementedError

    def change(self, current: State, planned: State) -> State:
        """Default: what cannot change in place is made again (moto lacks some updates)."""
        self.remove(current)
        return self.make(planned)

    def remove(self, current: State) -> None:
        raise NotImplementedError

    # The framework side.
    def create(self, ctx: CreateContext, planned: State) -> State | None:
        return self._guarded(ctx, planned, lambda: self.make(planned), None)

    def read(self, ctx: ReadContext, current: State) -> State | None:
        try:
            return self.look(current)
        except Exception as error:  # any failure is Terraform's error, never a traceback
            ctx.diagnostics.add_error(f"{self.type_name}: reading failed: {error}")
            return current

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        return self._guarded(ctx, planned, lambda: self.change(current, planned), current)

    def delete(self, ctx: DeleteContext, current: State) -> State | None:
        def act() -> State | None:
            self.remove(current)
            return None

        return self._guarded(ctx, current, act, current)

    def import_(self, ctx: ImportContext, id: str) -> State | None:
        found = self.look({self.name_key: id, "id": id})
        if found is None:
            ctx.diagnostics.add_error(f"{self.type_name}: {id} does not exist; nothing to import")
        return found

    def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State | None:
        return old  # one schema version so far: nothing to upgrade

    def _guarded(
        self, ctx: Any, state: State, act: Callable[[], State | None], fallback: State | None
    ) -> State | None:
        """``act``, unless a failure is injected; on any failure an error diagnostic and
        ``fallback`` (what still exists: nothing for a create, the old state otherwise)."""
        name = str(state.get(self.name_key, ""))
        if injected_failure(self.type_name, name):
            ctx.diagnostics.add_error(
                f"{self.type_name} {name}: injected failure ({FAIL_VARIABLE})",
                f"{FAIL_VARIABLE} names this resource, so the embedded provider fails it.",
            )
            return fallback
        try:
            return act()
        except Exception as error:
            ctx.diagnostics.add_error(f"{self.type_name} {name}: {error}")
            return fallback
