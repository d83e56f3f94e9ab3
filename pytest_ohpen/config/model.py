"""A file table declared once, as a frozen dataclass whose fields say how their key is checked.

Each field made with :func:`key` (a value) or :func:`table` (a nested ``[a.b]`` table)
is a key of the file. From that one declaration follow the valid keys, each key's
check, which keys are required (a field without a default) and the typed object a
table builds to; a key the file leaves out takes the dataclass's own default, so a
default is written in exactly one place. Pure: no I/O; problems are ConfigError lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform, overload

from pytest_ohpen.config.schema import Check
from pytest_ohpen.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
V = TypeVar("V")

_KEY = "pytest_ohpen.key"


@dataclass(frozen=True)
class Key:
    """How one key of the file is checked and turned into its field's value."""

    check: Check | None = None
    """What is wrong with a value (None: fine); None for a nested table."""
    convert: Callable[[Any], Any] | None = None
    """The file's value to the field's type (a list to a tuple, an int to a float)."""
    table: type[DataclassInstance] | None = None
    """The dataclass a nested ``[a.b]`` table builds to."""


@overload
def key(check: Check, *, default: V, convert: Callable[[Any], Any] | None = None) -> V: ...
@overload
def key(
    check: Check, *, default_factory: Callable[[], V], convert: Callable[[Any], Any] | None = None
) -> V: ...
@overload
def key(check: Check, *, convert: Callable[[Any], Any] | None = None) -> Any: ...
def key(
    check: Check,
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A key of the file: its check, and its default (none given: the key is required)."""
    return _field(Key(check=check, convert=convert), default, default_factory)


@overload
def table(cls: type[DataclassInstance], *, default: V) -> V: ...
@overload
def table(cls: type[DataclassInstance], *, default_factory: Callable[[], V]) -> V: ...
def table(
    cls: type[DataclassInstance], *, default: Any = MISSING, default_factory: Any = MISSING
) -> Any:
    """A nested ``[a.b]`` table of the file, built to ``cls``; left out, the field's default."""
    return _field(Key(table=cls), default, default_factory)


def _field(spec: Key, default: Any, default_factory: Any) -> Any:
    metadata = {_KEY: spec}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass_transform(frozen_default=True, field_specifiers=(key, table))
def model(cls: type[V]) -> type[V]:
    """A frozen dataclass whose :func:`key`/:func:`table` fields type checkers understand."""
    return dataclass(frozen=True)(cls)


def keys(cls: type[DataclassInstance]) -> Iterator[tuple[Field[Any], Key]]:
    """The fields of ``cls`` that are keys of the file, in declaration order."""
    for each in fields(cls):
        spec = each.metadata.get(_KEY)
        if isinstance(spec, Key):
            yield each, spec


def required(item: Field[Any]) -> bool:
    """A key is required exactly when its field has no default."""
    return item.default is MISSING and item.default_factory is MISSING


def valid_keys(cls: type[DataclassInstance]) -> str:
    """The keys a table of ``cls`` accepts, sorted, for the "valid keys:" hint."""
    return ", ".join(sorted(item.name for item, _ in keys(cls)))


def validate(
    path: Path, name: str, values: Mapping[str, Any], cls: type[DataclassInstance]
) -> None:
    """Refuse the first unknown key or bad value of table ``[name]``, in file order."""
    declared = {item.name: spec for item, spec in keys(cls)}
    for each, value in values.items():
        if each not in declared:
            raise ConfigError(
                f"{path}: [{name}] unknown key {each!r}; valid keys: {valid_keys(cls)}"
            )
        spec = declared[each]
        if spec.table is not None:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{name}] {each}: must be a table ([{name}.{each}])")
            validate(path, f"{name}.{each}", value, spec.table)
            continue
        problem = spec.check(value) if spec.check else None
        if problem:
            raise ConfigError(f"{path}: [{name}] {each}: {problem}")


def require(path: Path, name: str, values: Mapping[str, Any], cls: type[DataclassInstance]) -> None:
    """Refuse merged values that lack a required key: the environment's own, then its tables'."""
    for item, _ in keys(cls):
        if required(item) and item.name not in values:
            raise ConfigError(
                f"{path}: [{name}] {item.name}: missing; every environment needs {item.name}"
            )
    for item, spec in keys(cls):
        if spec.table is None or item.name not in values:
            continue
        for inner, _ in keys(spec.table):
            if required(inner) and inner.name not in values[item.name]:
                raise ConfigError(
                    f"{path}: [{name}.{item.name}] {inner.name}: missing; "
                    f"[{item.name}] needs {inner.name}"
                )


def build(cls: type[T], values: Mapping[str, Any], **given: Any) -> T:
    """``cls`` from validated values; a key left out takes the field's declared default."""
    arguments = dict(given)
    for item, spec in keys(cls):
        if item.name not in values:
            continue
        value = values[item.name]
        if spec.table is not None:
            arguments[item.name] = build(spec.table, value)
        else:
            arguments[item.name] = spec.convert(value) if spec.convert else value
    return cls(**arguments)
