"""Trivial secret and resource managers, passed through to plugins untouched by the reconciler (R107)."""

from __future__ import annotations

from collections.abc import Mapping
from threading import Lock
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.interpreter.plugin_context import AllocationStatus
from taskaction_core.observations import PortFailure
from taskaction_core.testing.faults import Faults

SECRET_MANAGER_METHODS: Final = ("get",)
RESOURCE_MANAGER_METHODS: Final = ("allocate", "release")


class DictSecretManager:
    """The fake :class:`~taskaction_core.interpreter.plugin_context.SecretManager`: values from a mapping."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self.faults: Faults[PortFailure] = Faults(SECRET_MANAGER_METHODS)
        self._secrets = dict(secrets or {})

    def get(self, key: str) -> Result[str, PortFailure]:
        if error := self.faults.enter("get"):
            return Failure(error)
        value = self._secrets.get(key)
        if value is None:
            return Failure(PortFailure(f"secret {key!r} not found"))
        return Success(value)


class QuotaResourceManager:
    """The fake :class:`~taskaction_core.interpreter.plugin_context.ResourceManager`: ``quota`` tokens per namespace."""

    def __init__(self, quota: int) -> None:
        if quota < 0:
            raise ValueError(f"quota must not be negative, got {quota}")
        self.faults: Faults[PortFailure] = Faults(RESOURCE_MANAGER_METHODS)
        self._quota = quota
        self._lock = Lock()
        self._held: dict[str, set[str]] = {}

    def allocate(self, namespace: str, token: str) -> Result[AllocationStatus, PortFailure]:
        if error := self.faults.enter("allocate"):
            return Failure(error)
        with self._lock:
            held = self._held.setdefault(namespace, set())
            if token not in held and len(held) >= self._quota:
                return Success(AllocationStatus.EXHAUSTED)
            held.add(token)
        return Success(AllocationStatus.GRANTED)

    def release(self, namespace: str, token: str) -> Result[None, PortFailure]:
        if error := self.faults.enter("release"):
            return Failure(error)
        with self._lock:
            self._held.get(namespace, set()).discard(token)
        return Success(None)

    def held(self, namespace: str) -> frozenset[str]:
        """Tokens currently allocated in ``namespace``."""
        with self._lock:
            return frozenset(self._held.get(namespace, ()))
