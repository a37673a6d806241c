"""An in-memory TaskAction store with the Kubernetes API semantics the reconciler relies on (R24, R29, R66, R118).

Modelled on the API server for a CRD with a status subresource:

- a store-wide ``resourceVersion`` counter, bumped by every effective write, with one watch event per write;
- ``update`` writes metadata (labels, annotations, finalizers) and spec, ``update_status`` writes status, each
  ignoring the other half of the object and each guarded by a resourceVersion precondition; ``patch_labels`` is a
  merge patch without precondition;
- ``create`` drops the status (a status subresource cannot be set on create);
- a write that changes nothing is a no-op (no new resourceVersion, no event), as the API server does;
- deleting an object with finalizers only sets ``deletionTimestamp`` (and bumps the generation); removing the last
  finalizer afterwards deletes it;
- lists are ordered by (namespace, name) and paginated with an opaque continue token. Unlike the API server, a
  continued list reads the current state rather than a snapshot, so objects created meanwhile may appear.
"""

from __future__ import annotations

import queue
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from threading import Lock
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.adapters import apiserver
from taskaction_core.interpreter.ports import (
    Clock,
    Page,
    StoreError,
    StoreErrorKind,
    WatchEvent,
    WatchEventType,
)
from taskaction_core.records import TaskAction, TaskActionStatus
from taskaction_core.testing.faults import StoreFaults

STORE_METHODS: Final = ("get", "list", "create", "update", "update_status", "patch_labels", "delete")

Key = tuple[str, str]


class InMemoryWatch:
    """A :class:`~taskaction_core.interpreter.ports.Watch` backed by an unbounded thread-safe queue."""

    def __init__(self, on_close: Callable[[InMemoryWatch], None]) -> None:
        self._queue: queue.Queue[WatchEvent | None] = queue.Queue()
        self._on_close = on_close
        self._closed = False

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        if self._closed:
            return None
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self._queue.put(None)  # wake any other waiter too
        return event

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(self)
        self._queue.put(None)

    def push(self, event: WatchEvent) -> None:
        if not self._closed:
            self._queue.put(event)


class InMemoryTaskActionStore:
    """The in-memory :class:`~taskaction_core.interpreter.ports.TaskActionStore`. Thread-safe.

    ``faults`` scripts failures per method (see :mod:`taskaction_core.testing.faults`). :meth:`objects` and
    :attr:`resource_version` read the state for assertions without counting as calls.
    """

    def __init__(self, clock: Clock) -> None:
        self.faults = StoreFaults(STORE_METHODS)
        self._clock = clock
        self._lock = Lock()
        self._objects: dict[Key, TaskAction] = {}
        self._watches: list[InMemoryWatch] = []
        self._revision = 0
        self._uids = 0

    # -- port ------------------------------------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> Result[TaskAction, StoreError]:
        if error := self.faults.enter("get"):
            return Failure(error)
        with self._lock:
            found = self._find((namespace, name))
        return Success(found) if isinstance(found, TaskAction) else Failure(found)

    def list(
        self,
        namespace: str | None,
        label_selector: Mapping[str, str | None],
        limit: int = 0,
        continue_token: str = "",
    ) -> Result[Page, StoreError]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        if error := self.faults.enter("list"):
            return Failure(error)
        after = apiserver.decode_continue_token(continue_token)
        if after is None:
            return Failure(StoreError(StoreErrorKind.INVALID, f"invalid continue token {continue_token!r}"))
        with self._lock:
            keys = sorted(k for k, ta in self._objects.items() if _selected(ta, namespace, label_selector))
            items = [self._objects[k] for k in keys if k > after]
        if limit and len(items) > limit:
            last = items[limit - 1].metadata
            return Success(Page(tuple(items[:limit]), apiserver.encode_continue_token((last.namespace, last.name))))
        return Success(Page(tuple(items)))

    def create(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        if error := self.faults.enter("create"):
            return Failure(error)
        meta = task_action.metadata
        if not meta.name or not meta.namespace:
            return Failure(StoreError(StoreErrorKind.INVALID, "metadata.name and metadata.namespace are required"))
        if meta.resource_version:
            message = "resourceVersion should not be set on objects to be created"
            return Failure(StoreError(StoreErrorKind.INVALID, message))
        with self._lock:
            key = (meta.namespace, meta.name)
            if key in self._objects:
                return Failure(apiserver.already_exists(meta.name))
            self._uids += 1
            created = TaskAction(
                metadata=replace(
                    meta,
                    uid=str(uuid.UUID(int=self._uids)),
                    creation_timestamp=self._clock.now(),
                    deletion_timestamp=None,
                    generation=1,
                ),
                spec=task_action.spec,
                status=TaskActionStatus(),
            )
            stored = self._commit(created, WatchEventType.ADDED)
        return self._acknowledge("create", stored)

    def update(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        if error := self.faults.enter("update"):
            return Failure(error)
        with self._lock:
            found = self._precondition(task_action)
            if not isinstance(found, TaskAction):
                return Failure(found)
            candidate = apiserver.apply_update(found, task_action)
            if isinstance(candidate, StoreError):
                return Failure(candidate)
            if candidate == found:
                stored = found
            elif found.metadata.deletion_timestamp is not None and not task_action.metadata.finalizers:
                stored = self._commit(candidate, WatchEventType.DELETED)
            else:
                stored = self._commit(candidate, WatchEventType.MODIFIED)
        return self._acknowledge("update", stored)

    def update_status(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        if error := self.faults.enter("update_status"):
            return Failure(error)
        with self._lock:
            found = self._precondition(task_action)
            if not isinstance(found, TaskAction):
                return Failure(found)
            candidate = replace(found, status=task_action.status)
            stored = found if candidate == found else self._commit(candidate, WatchEventType.MODIFIED)
        return self._acknowledge("update_status", stored)

    def patch_labels(
        self, namespace: str, name: str, labels: Mapping[str, str | None]
    ) -> Result[TaskAction, StoreError]:
        if error := self.faults.enter("patch_labels"):
            return Failure(error)
        with self._lock:
            current = self._find((namespace, name))
            if not isinstance(current, TaskAction):
                return Failure(current)
            candidate = apiserver.apply_labels(current, labels)
            stored = current if candidate == current else self._commit(candidate, WatchEventType.MODIFIED)
        return self._acknowledge("patch_labels", stored)

    def delete(self, namespace: str, name: str) -> Result[None, StoreError]:
        if error := self.faults.enter("delete"):
            return Failure(error)
        with self._lock:
            current = self._find((namespace, name))
            if not isinstance(current, TaskAction):
                return Failure(current)
            meta = current.metadata
            if not meta.finalizers:
                self._commit(current, WatchEventType.DELETED)
            elif meta.deletion_timestamp is None:
                marked = replace(meta, deletion_timestamp=self._clock.now(), generation=meta.generation + 1)
                self._commit(replace(current, metadata=marked), WatchEventType.MODIFIED)
        if error := self.faults.after("delete"):
            return Failure(error)
        return Success(None)

    def watch(self) -> InMemoryWatch:
        created = InMemoryWatch(self._forget)
        with self._lock:
            self._watches.append(created)
        return created

    # -- diagnostics -----------------------------------------------------------------------------------------------

    def objects(self) -> tuple[TaskAction, ...]:
        """Every stored object, ordered by (namespace, name). Not a port call: no faults, no call count."""
        with self._lock:
            return tuple(self._objects[k] for k in sorted(self._objects))

    @property
    def resource_version(self) -> str:
        """The store's current resourceVersion ("0" before the first write)."""
        with self._lock:
            return str(self._revision)

    # -- internals (called with the lock held unless noted) ----------------------------------------------------------

    def _find(self, key: Key) -> TaskAction | StoreError:
        found = self._objects.get(key)
        if found is None:
            return apiserver.not_found(key[1])
        return found

    def _precondition(self, task_action: TaskAction) -> TaskAction | StoreError:
        """The stored object if ``task_action`` carries its resourceVersion, else the error to return."""
        meta = task_action.metadata
        return apiserver.check_precondition(self._find((meta.namespace, meta.name)), task_action)

    def _commit(self, task_action: TaskAction, event_type: WatchEventType) -> TaskAction:
        """Write (or remove, for DELETED) under a new resourceVersion and tell every watch."""
        self._revision += 1
        revision = str(self._revision)
        meta = replace(task_action.metadata, resource_version=revision)
        stored = replace(task_action, metadata=meta)
        key = (meta.namespace, meta.name)
        if event_type is WatchEventType.DELETED:
            del self._objects[key]
        else:
            self._objects[key] = stored
        event = WatchEvent(event_type, meta.namespace, meta.name, revision)
        for watch in self._watches:
            watch.push(event)
        return stored

    def _acknowledge(self, method: str, stored: TaskAction) -> Result[TaskAction, StoreError]:
        """Report the write's outcome; a queued ``applied`` fault turns it into a lost acknowledgement. No lock."""
        if error := self.faults.after(method):
            return Failure(error)
        return Success(stored)

    def _forget(self, watch: InMemoryWatch) -> None:
        """Called without the lock by :meth:`InMemoryWatch.close`."""
        with self._lock:
            self._watches = [w for w in self._watches if w is not watch]


def _selected(task_action: TaskAction, namespace: str | None, selector: Mapping[str, str | None]) -> bool:
    """Namespace filter plus label selector: equality for a value, existence for None (R118)."""
    meta = task_action.metadata
    if namespace is not None and meta.namespace != namespace:
        return False
    for label, value in selector.items():
        if label not in meta.labels or (value is not None and meta.labels[label] != value):
            return False
    return True
