"""The catalog's own string key, derived from a :class:`~taskaction_core.effects.CacheKey` as R97 describes.

Shape: ``<idHash>-<inSig>-<outSig>-<inputsHash>-<cacheVersion>``, where

- ``idHash`` hashes the template identifier *without its version*, so task versions share entries (Q24);
- ``inSig``/``outSig`` hash the interface's input and output variable maps (8 characters each);
- ``inputsHash`` hashes the input literal map read from ``key.input_path``, after dropping
  ``cache_ignore_input_vars`` and replacing every literal that carries a precomputed ``hash`` by a hash-only
  literal (recursively inside collections and maps). Inputs are read only if the interface declares inputs;
- ``cacheVersion`` is ``spec.cacheKey`` verbatim (possibly empty, leaving a trailing ``-``).

The hash is SHA-256 over deterministic protobuf encodings, not Go's JSON ObjectHash, so keys are stable for one
Python deployment but not byte-compatible with a Go cache service. Byte compatibility with Flyte's Go hashing is
deliberately not a goal (R97: it matters only when a Python executor shares one cache service with Go executors).
Every catalog, the in-memory fake and each real adapter, derives its keys here, so they agree with each other and an
entry written by one process is found by another.

The inputs file may hold a ``core.LiteralMap`` or a ``task.Inputs``: both encode their first field as
(name = 1, literal = 2) pairs, so parsing either as ``task.Inputs`` yields the same named literals.

Protobuf messages are ``Any`` to mypy (flyteidl2 ships no ``py.typed``); they do not leave this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final

from flyteidl2.core import interface_pb2, literals_pb2
from flyteidl2.task import common_pb2
from returns.result import Failure, Result, Success

from taskaction_core.effects import CacheKey
from taskaction_core.gofmt import go_quote
from taskaction_core.interpreter.ports import DataStore
from taskaction_core.observations import CatalogErrorKind, CatalogFailure
from taskaction_core.template import Identifier

__all__ = ["derive_catalog_key", "identifier_text"]

_RESOURCE_TYPES: Final = ("UNSPECIFIED", "TASK", "WORKFLOW", "LAUNCH_PLAN", "DATASET")


def derive_catalog_key(key: CacheKey, data_store: DataStore) -> Result[str, CatalogFailure]:
    """The catalog's string key for ``key``; an unparsable interface or unreadable inputs are OTHER failures."""
    interface: Any = interface_pb2.TypedInterface()
    if (problem := _parse(interface, key.interface)) is not None:
        return Failure(CatalogFailure(CatalogErrorKind.OTHER, f"failed to parse the task interface: {problem}"))
    inputs_hash = _inputs_hash(key, data_store) if len(interface.inputs.variables) else Success(_digest(b""))
    return inputs_hash.map(
        lambda hashed: "-".join(
            (
                base64.standard_b64encode(_identifier_digest(key.identifier)).decode(),
                _url64(_digest(_encode(interface.inputs)))[:8],
                _url64(_digest(_encode(interface.outputs)))[:8],
                _url64(hashed),
                key.cache_version,
            )
        )
    )


def _inputs_hash(key: CacheKey, data_store: DataStore) -> Result[bytes, CatalogFailure]:
    read = data_store.read(key.input_path)
    if not isinstance(read, Success):
        message = f"failed to read inputs from {key.input_path}: {read.failure().message}"
        return Failure(CatalogFailure(CatalogErrorKind.OTHER, message))
    inputs: Any = common_pb2.Inputs()
    if (problem := _parse(inputs, read.unwrap())) is not None:
        message = f"failed to parse inputs at {key.input_path}: {problem}"
        return Failure(CatalogFailure(CatalogErrorKind.OTHER, message))
    ignored = set(key.cache_ignore_input_vars)
    named: dict[str, bytes] = {}
    for entry in inputs.literals:
        name = str(entry.name)
        if name not in ignored:
            named[name] = _encode(_hash_only(entry.value))
    digest = hashlib.sha256()
    for name in sorted(named):
        for part in (name.encode(), named[name]):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return Success(digest.digest())


def _parse(message: Any, data: bytes) -> str | None:
    """Parse ``data`` into ``message``; the parser's complaint, if any.

    Every exception from the parse call alone is a decode failure: the bytes come from the outside world, and
    neither protobuf backend documents the full set of exceptions malformed input can raise.
    """
    try:
        message.ParseFromString(data)
    except Exception as error:
        return str(error) or type(error).__name__
    return None


def _hash_only(literal: Any) -> Any:
    """A copy of ``literal`` where every literal carrying a precomputed hash is reduced to that hash (R97)."""
    copy: Any = literals_pb2.Literal()
    copy.CopyFrom(literal)
    _reduce(copy)
    return copy


def _reduce(literal: Any) -> None:
    if literal.hash:
        precomputed = str(literal.hash)
        literal.Clear()
        literal.hash = precomputed
        return
    if literal.HasField("collection"):
        for element in literal.collection.literals:
            _reduce(element)
    elif literal.HasField("map"):
        for name in literal.map.literals:
            _reduce(literal.map.literals[name])


def _identifier_digest(identifier: Identifier) -> bytes:
    """The identifier without its version (R97)."""
    fields = [identifier.resource_type, identifier.project, identifier.domain, identifier.name, identifier.org]
    return _digest(json.dumps(fields).encode())


def _encode(message: Any) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _url64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def identifier_text(identifier: Identifier) -> str:
    """The identifier as Go's ``%v`` of a ``core.Identifier`` prints it: compact text format, zero fields omitted.

    R95 quotes it in Put's ``output file does not exist for <id>``.
    """
    parts: list[str] = []
    if identifier.resource_type:
        known = 0 <= identifier.resource_type < len(_RESOURCE_TYPES)
        kind = _RESOURCE_TYPES[identifier.resource_type] if known else str(identifier.resource_type)
        parts.append(f"resource_type:{kind}")
    fields = (
        ("project", identifier.project),
        ("domain", identifier.domain),
        ("name", identifier.name),
        ("version", identifier.version),
        ("org", identifier.org),
    )
    parts.extend(f"{name}:{go_quote(value)}" for name, value in fields if value)
    return " ".join(parts)
