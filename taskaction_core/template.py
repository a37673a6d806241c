"""The facts the reconciler needs from ``spec.taskTemplate`` and ``spec.conditionSpec``, as plain records.

:mod:`taskaction_core.idl` decodes the flyteidl2 bytes into these records; everything else in the core works on the
records only. Parts the core never looks inside (the typed interface, container, resources) are kept as the
serialized protobuf bytes of that sub-message so they can be passed through to ports unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pyrsistent import pvector
from pyrsistent.typing import PVector

from taskaction_core.fastinit import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Identifier:
    """``core.Identifier`` (resource type as its enum number)."""

    resource_type: int = 0
    project: str = ""
    domain: str = ""
    name: str = ""
    version: str = ""
    org: str = ""


_NO_STRINGS: PVector[str] = pvector()


@fast_init
@dataclass(frozen=True, slots=True)
class TaskMetadata:
    """The caching, retry and timeout facts of ``core.TaskMetadata`` (R49, R107)."""

    discoverable: bool = False
    discovery_version: str = ""
    cache_serializable: bool = False
    cache_ignore_input_vars: PVector[str] = _NO_STRINGS
    retries: int | None = None
    """``retries.retries``; None when the retry strategy is absent (R107: max attempts 1)."""
    timeout: timedelta | None = None
    interruptible: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """``core.TaskTemplate`` as the core sees it.

    ``interface``, ``container`` and ``security_context`` are the serialized sub-messages (empty when absent);
    ``has_secrets`` and ``service_account`` are the two security facts the execution context needs (R106, R107).
    """

    id: Identifier | None = None
    type: str = ""
    metadata: TaskMetadata | None = None
    interface: bytes = b""
    container: bytes = b""
    security_context: bytes = b""
    has_secrets: bool = False
    service_account: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """``workflow.ConditionAction`` as the condition path sees it (R80): only the timeout matters."""

    name: str = ""
    prompt: str = ""
    timeout: timedelta | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class DecodeError:
    """Bytes that are not the expected protobuf message. ``message`` is the parser's explanation."""

    message: str
