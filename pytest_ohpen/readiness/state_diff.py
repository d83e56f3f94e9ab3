"""What a rollback would change, resource by resource: the current Terraform state against
the target state version (pure: two state documents in, the difference out).

A rollback makes the stack what the target state describes, so a managed resource instance
only in the target is one the rollback would bring back (``added``), one only in the current
state is one it would remove (``removed``), and one in both whose attributes differ is
``changed``, with the names of the top-level attributes that differ. Values are shown only
for plain values (strings, numbers, booleans, null) of attributes that do not look
sensitive: never for a name like ``password`` or ``secret_string``, never for what Terraform
itself marks sensitive (``sensitive_attributes``), never for nested blocks (which may hold
either). Data sources are read, not changed, and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.records.redact import SENSITIVE_NAME

VALUE_LIMIT = 120
"""A shown value longer than this (as JSON) is cut, with "…" at the end."""
ABSENT = "(absent)"
SENSITIVE = "sensitive"
NESTED = "nested value"


class StateDiffError(ValueError):
    """A state document is not one the difference can be taken of; one line saying why."""


@dataclass(frozen=True)
class AttributeChange:
    """One top-level attribute that differs; ``current``/``target`` are None when hidden."""

    name: str
    current: str | None
    target: str | None
    hidden: str | None = None
    """Why the values are not shown ("sensitive", "nested value"); None when shown."""


@dataclass(frozen=True)
class ResourceChange:
    """A resource instance in both states whose attributes differ."""

    address: str
    attributes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class StateDiff:
    """current → target, by resource instance address (each list sorted)."""

    added: tuple[str, ...]
    """Only in the target: the rollback would create them again."""
    removed: tuple[str, ...]
    """Only in the current state: the rollback would destroy them."""
    changed: tuple[ResourceChange, ...]

    @property
    def empty(self) -> bool:
        """No managed resource differs (outputs may still)."""
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class _Instance:
    attributes: Mapping[str, Any]
    sensitive: frozenset[str]


def diff_states(current: Any, target: Any) -> StateDiff:
    """The resource-level difference from the ``current`` state document to ``target``
    (both parsed Terraform state JSON, format 4); StateDiffError when either is not one."""
    now = _instances(current, "current state")
    then = _instances(target, "target state")
    changed = []
    for address in sorted(now.keys() & then.keys()):
        attributes = _attribute_changes(now[address], then[address])
        if attributes:
            changed.append(ResourceChange(address, attributes))
    return StateDiff(
        added=tuple(sorted(then.keys() - now.keys())),
        removed=tuple(sorted(now.keys() - then.keys())),
        changed=tuple(changed),
    )


def _instances(state: Any, what: str) -> dict[str, _Instance]:
    if not isinstance(state, Mapping):
        raise StateDiffError(f"{what}: not a JSON object")
    resources = state.get("resources", [])
    if not isinstance(resources, list):
        raise StateDiffError(f"{what}: 'resources' is not a list")
    found: dict[str, _Instance] = {}
    for number, resource in enumerate(resources):
        if not isinstance(resource, Mapping):
            raise StateDiffError(f"{what}: resources[{number}] is not an object")
        if resource.get("mode", "managed") != "managed":
            continue
        base = _resource_address(resource, f"{what}: resources[{number}]")
        instances = resource.get("instances", [])
        if not isinstance(instances, list):
            raise StateDiffError(f"{what}: {base}: 'instances' is not a list")
        for instance in instances:
            if not isinstance(instance, Mapping):
                raise StateDiffError(f"{what}: {base}: an instance is not an object")
            found[_instance_address(base, instance)] = _instance(instance, f"{what}: {base}")
    return found


def _resource_address(resource: Mapping[str, Any], where: str) -> str:
    type_, name, module = resource.get("type"), resource.get("name"), resource.get("module")
    if not isinstance(type_, str) or not isinstance(name, str) or not type_ or not name:
        raise StateDiffError(f"{where}: 'type' and 'name' must be non-empty strings")
    if module is not None and not isinstance(module, str):
        raise StateDiffError(f"{where}: 'module' is not a string")
    return f"{module}.{type_}.{name}" if module else f"{type_}.{name}"


def _instance_address(base: str, instance: Mapping[str, Any]) -> str:
    key = instance.get("index_key")
    address = base if key is None else f"{base}[{json.dumps(key)}]"
    deposed = instance.get("deposed")
    return f"{address} (deposed object {deposed})" if isinstance(deposed, str) else address


def _instance(instance: Mapping[str, Any], where: str) -> _Instance:
    attributes = instance.get("attributes", {})
    if not isinstance(attributes, Mapping):
        raise StateDiffError(f"{where}: 'attributes' is not an object")
    return _Instance(attributes, _sensitive_names(instance.get("sensitive_attributes")))


def _sensitive_names(paths: Any) -> frozenset[str]:
    """The top-level attributes Terraform marks sensitive: each path's first step."""
    names = set()
    for path in paths if isinstance(paths, list) else []:
        first = path[0] if isinstance(path, list) and path else None
        if isinstance(first, Mapping) and isinstance(first.get("value"), str):
            names.add(first["value"])
    return frozenset(names)


def _attribute_changes(now: _Instance, then: _Instance) -> tuple[AttributeChange, ...]:
    missing = object()
    found = []
    for name in sorted(now.attributes.keys() | then.attributes.keys()):
        current = now.attributes.get(name, missing)
        target = then.attributes.get(name, missing)
        if current == target:
            continue
        hidden = _hidden(name, now.sensitive | then.sensitive, current, target)
        if hidden:
            found.append(AttributeChange(name, None, None, hidden))
        else:
            found.append(
                AttributeChange(
                    name,
                    ABSENT if current is missing else _shown(current),
                    ABSENT if target is missing else _shown(target),
                )
            )
    return tuple(found)


def is_sensitive(name: str, marked: frozenset[str] = frozenset()) -> bool:
    """Whether an attribute's value must never be shown: Terraform marks it sensitive, or
    its name looks like a credential's (password, secret, token, private key, ...)."""
    return name in marked or SENSITIVE_NAME.search(name) is not None


def _hidden(name: str, marked: frozenset[str], *values: Any) -> str | None:
    if is_sensitive(name, marked):
        return SENSITIVE
    if any(isinstance(value, (Mapping, list)) for value in values):
        return NESTED
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"
