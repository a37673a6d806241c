"""Kubernetes API server semantics shared by the real TaskAction stores (R24, R31, R66, R67, R91, R118).

Pure functions over records: what an ``update`` writes, when a resourceVersion precondition fails, how a label merge
patch applies, and the continue-token format of paged lists. The store adapters (SQLite today, PostgreSQL later)
differ in how they persist and lock; they must not differ in these rules, which ``tests/contract/test_store.py``
pins for every adapter and for the in-memory fake. Error texts read like the API server's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from taskaction_core.interpreter.ports import StoreError, StoreErrorKind
from taskaction_core.records import TaskAction

__all__ = [
    "CONFLICT_MESSAGE",
    "RESOURCE",
    "Key",
    "already_exists",
    "apply_labels",
    "apply_update",
    "check_precondition",
    "decode_continue_token",
    "encode_continue_token",
    "not_found",
]

RESOURCE: Final = "taskactions.flyte.org"
CONFLICT_MESSAGE: Final = "the object has been modified; please apply your changes to the latest version and try again"
"""The API server's text for a failed resourceVersion precondition (R66)."""

Key = tuple[str, str]
"""(namespace, name)."""


def not_found(name: str) -> StoreError:
    return StoreError(StoreErrorKind.NOT_FOUND, f'{RESOURCE} "{name}" not found')


def already_exists(name: str) -> StoreError:
    return StoreError(StoreErrorKind.ALREADY_EXISTS, f'{RESOURCE} "{name}" already exists')


def check_precondition(found: TaskAction | StoreError, wanted: TaskAction) -> TaskAction | StoreError:
    """The stored object if ``wanted`` carries its resourceVersion, else the error to return (R66)."""
    if isinstance(found, StoreError):
        return found
    meta = wanted.metadata
    if not meta.resource_version:
        return StoreError(StoreErrorKind.INVALID, "metadata.resourceVersion: must be specified for an update")
    if meta.resource_version != found.metadata.resource_version:
        message = f'Operation cannot be fulfilled on {RESOURCE} "{meta.name}": {CONFLICT_MESSAGE}'
        return StoreError(StoreErrorKind.CONFLICT, message)
    return found


def apply_update(found: TaskAction, wanted: TaskAction) -> TaskAction | StoreError:
    """``update``: labels, annotations, finalizers and spec from ``wanted``; the generation moves with the spec.

    An object being deleted accepts no new finalizer (the API server's rule); its deletionTimestamp stays.
    """
    meta, requested = found.metadata, wanted.metadata
    added = [f for f in requested.finalizers if f not in meta.finalizers]
    if meta.deletion_timestamp is not None and added:
        message = f"Forbidden: no new finalizers can be added if the object is being deleted, found {added}"
        return StoreError(StoreErrorKind.INVALID, message)
    generation = meta.generation + (1 if wanted.spec != found.spec else 0)
    updated_meta = replace(
        meta,
        labels=requested.labels,
        annotations=requested.annotations,
        finalizers=requested.finalizers,
        generation=generation,
    )
    return replace(found, metadata=updated_meta, spec=wanted.spec)


def apply_labels(found: TaskAction, labels: Mapping[str, str | None]) -> TaskAction:
    """JSON merge patch of ``metadata.labels``: a None value deletes the key (R67)."""
    merged = found.metadata.labels
    for label, value in labels.items():
        merged = merged.discard(label) if value is None else merged.set(label, value)
    return replace(found, metadata=replace(found.metadata, labels=merged))


_START: Final[Key] = ("", "")


def encode_continue_token(after: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def decode_continue_token(token: str) -> Key | None:
    """The key a continue token resumes after; ``("", "")`` for no token; None when the token is not ours."""
    if not token:
        return _START
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(part, str) for part in decoded):
        return (decoded[0], decoded[1])
    return None
