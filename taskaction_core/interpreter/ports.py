"""The ports: what the interpreter needs from the outside world, as ``typing.Protocol`` classes (design.md §7).

Theory of operation. The pure core decides; the interpreter performs its effects against these ports and feeds the
outcomes back as observations. Every port call that can fail for reasons outside the program returns a ``returns``
``Result``: a success value, or a typed failure record that carries the error text the spec's messages quote. The
one exception is :class:`Plugin`, whose contract (Go ``pluginmachinery/core.Plugin``, R99) is to *raise*: plugins are
user code, and a Python plugin reports failure the Python way, with :class:`PluginError` chained through
``__cause__`` so the interpreter can read the Flyte error codes along the chain (R58).

An adapter may still raise unexpectedly (a bug, a driver exception); the interpreter guards every call. Fakes in
:mod:`taskaction_core.testing` never raise except for programmer errors (a naive datetime, a negative count).

Adapters: in-memory fakes with fault injection (:mod:`taskaction_core.testing`), an embedded default (SQLite and
local files) and a scale-out one (PostgreSQL). One contract suite per port (``tests/contract``) runs against all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from threading import Lock
from typing import TYPE_CHECKING, Final, Protocol

from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.gofmt import go_quote
from taskaction_core.observations import CacheHit, CatalogFailure, PortFailure, Reservation
from taskaction_core.phase_info import Transition
from taskaction_core.records import TaskAction

if TYPE_CHECKING:
    from taskaction_core.interpreter.plugin_context import PluginContext


__all__ = [
    "DEFAULT_GRACE_MULTIPLIER",
    "DEFAULT_MAX_HEARTBEAT",
    "MIN_GENERATED_NAME_MAX_LENGTH",
    "Catalog",
    "CatalogLimits",
    "CatalogReservation",
    "Clock",
    "DataError",
    "DataErrorKind",
    "DataStore",
    "EventSink",
    "Page",
    "Plugin",
    "PluginError",
    "PluginProperties",
    "PluginRegistry",
    "Recorder",
    "StoreError",
    "StoreErrorKind",
    "TaskActionStore",
    "Watch",
    "WatchEvent",
    "WatchEventType",
    "error_codes",
]

# --------------------------------------------------------------------------------------------------------------------
# Clock


class Clock(Protocol):
    """The one source of "now" outside the core (the core receives it as ``Observations.now``)."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


# --------------------------------------------------------------------------------------------------------------------
# TaskAction store


class StoreErrorKind(Enum):
    """The Kubernetes API status reasons the reconciler distinguishes (R24, R66, R118)."""

    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"
    """A resourceVersion precondition failed; only these are retried by R66."""
    ALREADY_EXISTS = "AlreadyExists"
    INVALID = "Invalid"
    UNAVAILABLE = "ServiceUnavailable"


@dataclass(frozen=True, slots=True)
class StoreError:
    """A TaskAction store call that did not succeed; ``message`` reads like the API server's."""

    kind: StoreErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list call. ``continue_token`` is empty on the last page (R118 pages through it)."""

    items: tuple[TaskAction, ...]
    continue_token: str = ""


class WatchEventType(Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One write seen by a watch (R29: every write triggers a follow-up reconcile of that key)."""

    type: WatchEventType
    namespace: str
    name: str
    resource_version: str


class Watch(Protocol):
    """A thread-safe stream of :class:`WatchEvent`, one per write made after the watch was opened, in write order."""

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event; None when ``timeout`` seconds pass first or the watch is closed."""
        ...

    def close(self) -> None:
        """Stop receiving events. Idempotent; a blocked :meth:`get` returns None."""
        ...


class TaskActionStore(Protocol):
    """TaskAction objects with Kubernetes API semantics (R24, R29, R31, R65–R67, R91, R118).

    ``resourceVersion`` is a store-wide, monotonically increasing integer rendered as a string; every effective write
    bumps it and produces exactly one watch event. A write that changes nothing (a no-op update or patch) is not a
    write, as with the API server: no new resourceVersion, no event.
    """

    def get(self, namespace: str, name: str) -> Result[TaskAction, StoreError]:
        """The object, or NOT_FOUND (R24)."""
        ...

    def list(
        self,
        namespace: str | None,
        label_selector: Mapping[str, str | None],
        limit: int = 0,
        continue_token: str = "",
    ) -> Result[Page, StoreError]:
        """Objects in ``namespace`` (None: all namespaces) matching every selector entry, ordered by (namespace, name).

        A selector value of None means "the label exists" (R118's ``flyte.org/completed-time``). ``limit`` 0 means
        no limit. An unknown ``continue_token`` is INVALID.
        """
        ...

    def create(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        """Store a new object: the server assigns uid, creationTimestamp, generation 1 and a resourceVersion.

        The status is dropped (a CRD with a status subresource cannot set status on create) and a deletionTimestamp
        is ignored. ALREADY_EXISTS when the name is taken; INVALID when a resourceVersion is given or the name is empty.
        """
        ...

    def update(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        """Replace labels, annotations, finalizers and spec (R31, R91); the status in the argument is ignored.

        Precondition: ``metadata.resource_version`` equals the stored one, else CONFLICT (empty: INVALID). The
        generation is bumped only when the spec changes. Adding a finalizer to an object being deleted is INVALID.
        Removing the last finalizer of an object with a deletionTimestamp deletes it; the returned object is then
        its last state.
        """
        ...

    def update_status(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        """Replace the status subresource only (R65, R66); metadata and spec in the argument are ignored.

        Same resourceVersion precondition as :meth:`update`.
        """
        ...

    def patch_labels(
        self, namespace: str, name: str, labels: Mapping[str, str | None]
    ) -> Result[TaskAction, StoreError]:
        """JSON merge patch of ``metadata.labels``; a None value deletes the key. No precondition: no CONFLICT (R67)."""
        ...

    def delete(self, namespace: str, name: str) -> Result[None, StoreError]:
        """Delete: while finalizers remain only a deletionTimestamp is set (R26, R85–R91); else the object goes.

        NOT_FOUND when absent (R118 counts it as ``already_gone``).
        """
        ...

    def watch(self) -> Watch:
        """Open a watch over every write from now on."""
        ...


# --------------------------------------------------------------------------------------------------------------------
# Data store


class DataErrorKind(Enum):
    NOT_FOUND = "not_found"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DataError:
    """A data store call that did not succeed. NOT_FOUND is told apart because R95 and R102 act on it."""

    kind: DataErrorKind
    message: str


class DataStore(Protocol):
    """Blob storage for inputs, ``outputs.pb`` and ``error.pb`` (R55, R103, R104). Go: ``flytestdlib/storage``."""

    def read(self, uri: str) -> Result[bytes, DataError]:
        """The blob's bytes, or NOT_FOUND."""
        ...

    def write(self, uri: str, data: bytes) -> Result[None, DataError]:
        """Create or overwrite the blob."""
        ...

    def exists(self, uri: str) -> Result[bool, DataError]:
        """Whether the blob exists; a failure means the answer is unknown."""
        ...

    def delete(self, uri: str) -> Result[None, DataError]:
        """Remove the blob. Deleting an absent blob succeeds (idempotent, like an object-store delete)."""
        ...


# --------------------------------------------------------------------------------------------------------------------
# Catalog

DEFAULT_MAX_HEARTBEAT: Final = timedelta(seconds=10)
"""R94, R110: the cache service's maximum reservation heartbeat."""
DEFAULT_GRACE_MULTIPLIER: Final = 3
"""R94, R110: a reservation expires ``heartbeat × grace multiplier`` after it was taken or extended."""


@dataclass(frozen=True, slots=True)
class CatalogLimits:
    """The cache service's server-side settings (R93, R94, R110). Every catalog adapter takes them."""

    max_cache_age: timedelta = timedelta(0)
    """Entries last updated longer ago than this are a miss; 0 means entries never expire (R93)."""
    max_heartbeat: timedelta = DEFAULT_MAX_HEARTBEAT
    grace_multiplier: int = DEFAULT_GRACE_MULTIPLIER

    def effective_heartbeat(self, requested: timedelta) -> timedelta:
        """R94: the requested heartbeat when ``0 < requested < max_heartbeat``, else ``max_heartbeat``."""
        if timedelta(0) < requested < self.max_heartbeat:
            return requested
        return self.max_heartbeat


@dataclass(frozen=True, slots=True)
class CatalogReservation:
    """A reservation as the cache service reports it (cacheservice ``Reservation``, R92).

    The reconciler reads only ``owner_id`` (:meth:`to_observation`); the other fields are for diagnostics and tests.
    """

    owner_id: str
    heartbeat_interval: timedelta
    expires_at: datetime

    def to_observation(self) -> Reservation:
        return Reservation(owner_id=self.owner_id)


class Catalog(Protocol):
    """The cache service (R92–R98) with explicit NOT_FOUND and ALREADY_EXISTS outcomes (D9, Q10).

    Entries and reservations are keyed by the adapter's own string built from the :class:`CacheKey` structure (R97):
    the identifier without its version, the interface, the inputs (read from ``key.input_path``, with
    ``cache_ignore_input_vars`` dropped) and the cache version.
    """

    def get(self, key: CacheKey) -> Result[CacheHit, CatalogFailure]:
        """The cached outputs, or NOT_FOUND on a miss and when the entry is older than ``max_cache_age`` (R93)."""
        ...

    def put(self, key: CacheKey, output_uri: str, metadata: CacheMetadata) -> Result[None, CatalogFailure]:
        """Cache the bytes of the outputs file ``output_uri`` (``<output_prefix>/outputs.pb``) (R55, R95).

        NOT_FOUND ``output file does not exist for <id>`` when that file is missing; ALREADY_EXISTS when an entry is
        present. Never overwrites.
        """
        ...

    def get_or_extend_reservation(
        self, key: CacheKey, owner_id: str, heartbeat: timedelta
    ) -> Result[CatalogReservation, CatalogFailure]:
        """Take or extend the serialization reservation (R94).

        The caller becomes (or stays) owner when there is no reservation, it has expired, or it is the caller's;
        expiry is ``now + effective_heartbeat × grace_multiplier``. Otherwise the unexpired holder is returned
        unchanged: the caller owns the reservation iff the returned ``owner_id`` is its own. An empty key or owner
        is an OTHER failure starting with ``invalid argument``.
        """
        ...

    def release_reservation(self, key: CacheKey, owner_id: str) -> Result[None, CatalogFailure]:
        """Delete the reservation if ``owner_id`` holds it (R96). Absent, or held by another, is a successful no-op."""
        ...


# --------------------------------------------------------------------------------------------------------------------
# Event sink and recorder


class EventSink(Protocol):
    """Where ActionEvents go (R77, R111–R115): the run service behind the events proxy."""

    def record(self, events: Sequence[ActionEvent]) -> Result[None, PortFailure]:
        """Record one batch with one fate: all events become durable, or the call fails (R113, R114).

        The first event stored per ``event.dedup_key`` wins; later ones are dropped silently whatever their content
        (R114, Q11). An empty batch succeeds.
        """
        ...


class Recorder(Protocol):
    """Kubernetes Warning events on a TaskAction (R120–R123). Fire and forget: failures are not reported."""

    def warn(self, namespace: str, name: str, reason: str, action: str, note: str) -> None: ...


# --------------------------------------------------------------------------------------------------------------------
# Plugins

MIN_GENERATED_NAME_MAX_LENGTH: Final = 8
"""R99: ``GeneratedNameMaxLength`` must be at least 8 when set (the encoded fallback name is 8 characters, R105)."""


@dataclass(frozen=True, slots=True)
class PluginProperties:
    """Go ``PluginProperties`` (R99). ``DisableNodeLevelCaching`` is not consulted by this reconciler, so absent."""

    generated_name_max_length: int | None = None


class PluginError(Exception):
    """A plugin failure with an optional Flyte error code (Go ``errors.Errorf(code, ...)``, R58, R59).

    Chain causes with ``raise PluginError(msg, code) from cause``; :func:`error_codes` reads the codes outermost
    first, which is what ``IsCausedBy`` walks in Go.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def error_codes(error: BaseException) -> tuple[str, ...]:
    """The :class:`PluginError` codes along ``error``'s ``__cause__`` chain, outermost first (R58).

    Exceptions without a code are walked through but contribute nothing; a cycle in the chain ends the walk.
    """
    codes: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PluginError) and current.code:
            codes.append(current.code)
        current = current.__cause__
    return tuple(codes)


class Plugin(Protocol):
    """A task plugin (Go ``pluginmachinery/core.Plugin``, R99). All three calls must be idempotent.

    ``handle`` is non-blocking and called on every round (R36); ``abort`` is called on in-place restart, system reset
    and deletion (R40, R62, R88); ``finalize`` only on deletion (R88). Failures are raised, preferably as
    :class:`PluginError`. Plugin state is read and written through ``ctx.state`` (R101), never returned.
    """

    @property
    def id(self) -> str: ...

    @property
    def properties(self) -> PluginProperties: ...

    def handle(self, ctx: PluginContext) -> Transition: ...

    def abort(self, ctx: PluginContext) -> None: ...

    def finalize(self, ctx: PluginContext) -> None: ...


class PluginRegistry:
    """Task type → plugin routing (R100). Thread-safe; registration normally happens once at start-up.

    ``register`` follows R100 (1)/(2): a later registration for a task type overwrites the earlier one; ``default=True``
    makes the plugin the default only if none is set yet, unless ``override_default=True`` (Go's k8s plugin entries
    marked default). :meth:`route` is R100 (3), ``default-for-task-types``.
    """

    def __init__(self) -> None:
        self._by_task_type: dict[str, Plugin] = {}
        self._by_id: dict[str, Plugin] = {}
        self._default: Plugin | None = None
        self._lock = Lock()

    def register(
        self, plugin: Plugin, task_types: Sequence[str], default: bool = False, override_default: bool = False
    ) -> None:
        """Register ``plugin`` for ``task_types``. An invalid ``generated_name_max_length`` raises ``ValueError``
        (Go fails plugin loading, R99)."""
        max_length = plugin.properties.generated_name_max_length
        if max_length is not None and max_length < MIN_GENERATED_NAME_MAX_LENGTH:
            raise ValueError(
                f"plugin {plugin.id!r}: generated_name_max_length must be >= {MIN_GENERATED_NAME_MAX_LENGTH},"
                f" got {max_length}"
            )
        with self._lock:
            self._by_id[plugin.id] = plugin
            for task_type in task_types:
                self._by_task_type[task_type] = plugin
            if default and (self._default is None or override_default):
                self._default = plugin

    def route(self, task_type: str, plugin_id: str) -> Result[None, PortFailure]:
        """R100 (3): send ``task_type`` to the registered plugin ``plugin_id``; an unknown id changes nothing."""
        with self._lock:
            plugin = self._by_id.get(plugin_id)
            if plugin is None:
                message = f"no plugin with id {go_quote(plugin_id)} for task type {go_quote(task_type)}"
                return Failure(PortFailure(message))
            self._by_task_type[task_type] = plugin
            return Success(None)

    def resolve(self, task_type: str) -> Result[Plugin, PortFailure]:
        """R100 ``ResolvePlugin``: the exact match, else the default plugin, else PluginNotFound's message."""
        with self._lock:
            plugin = self._by_task_type.get(task_type, self._default)
        if plugin is None:
            return Failure(
                PortFailure(f"no plugin registered for task type {go_quote(task_type)} and no default plugin available")
            )
        return Success(plugin)

    def by_id(self, plugin_id: str) -> Result[Plugin, PortFailure]:
        """The registered plugin with ``plugin_id``: effects name plugins by id (``InvokePlugin.plugin_id``)."""
        with self._lock:
            plugin = self._by_id.get(plugin_id)
        if plugin is None:
            return Failure(PortFailure(f"no plugin with id {go_quote(plugin_id)}"))
        return Success(plugin)
