"""Build an account from a recorded Terraform state, without Terraform: every managed
resource of the state made by the provider's own ``make`` (the code an apply runs), in
dependency order. ``provision`` uses it so each embedded account costs seconds less than an
apply; a test proves the result is what the apply made (a plan after a replay is empty)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.emulator.provider.base import AwsResource, Clients

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients


class ReplayError(Exception):
    """The state names a resource type the embedded provider does not have."""


def ordered(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The state's managed resources, each after the resources it depends on."""
    managed = [r for r in resources if r.get("mode") == "managed"]
    by_address = {f"{r['type']}.{r['name']}": r for r in managed}
    done: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(address: str, path: tuple[str, ...]) -> None:
        if address in seen or address not in by_address or address in path:
            return
        resource = by_address[address]
        for instance in resource.get("instances", []):
            for dependency in instance.get("dependencies", []):
                visit(dependency, (*path, address))
        seen.add(address)
        done.append(resource)

    for address in by_address:
        visit(address, ())
    return done


def skipped(kind: type[AwsResource], attributes: dict[str, Any], skip: set[str]) -> bool:
    """Whether an instance is left out: it is named in ``skip``, or one of its own values
    names (or is the ARN or URL of) something left out."""
    if not skip:
        return False
    if attributes.get(kind.name_key) in skip or kind.omit_name(attributes) in skip:
        return True
    for value in attributes.values():
        if isinstance(value, str) and value:
            tail = value.replace("/", ":").rsplit(":", 1)[-1]
            if value in skip or tail in skip:
                return True
    return False


def replay_state(
    state: dict[str, Any], clients: AwsClients, *, skip: set[str], base_dir: Path
) -> dict[str, str]:
    """Make every managed resource ``state`` records (less ``skip``) in the account
    ``clients`` talk to; relative file paths are resolved in ``base_dir``.

    Returns what the account assigned anew (recorded value → new value: a subscription's
    ARN, a queue's URL, an object's version), so the recorded states can be made to name
    what exists (:func:`renamed`)."""
    from pytest_ohpen.emulator.provider.provider import BY_TYPE

    aws = Clients(clients.client, base_dir)
    assigned: dict[str, str] = {}
    for resource in ordered(list(state.get("resources", []))):
        kind = BY_TYPE.get(resource["type"])
        if kind is None:
            raise ReplayError(f"the embedded provider has no resource type {resource['type']}")
        for instance in resource.get("instances", []):
            attributes = dict(instance.get("attributes", {}))
            if skipped(kind, attributes, skip):
                continue
            made = kind(clients=aws).make(attributes)
            for key, old in attributes.items():
                new = made.get(key)
                if isinstance(old, str) and isinstance(new, str) and old and old != new:
                    assigned[old] = new
    return assigned


def renamed(body: bytes, assigned: dict[str, str]) -> bytes:
    """A recorded state document with every value the replay assigned anew replaced (as
    whole JSON strings, so only exact values change)."""
    import json

    text = body.decode()
    for old, new in assigned.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return text.encode()
