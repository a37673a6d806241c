"""The decoded-object cache of the SQLite store: a stored JSON document is decoded once, not on every read.

Theory of operation. Decoding a stored document (:func:`~taskaction_core.adapters.serialization.from_json`) costs
more than the SQL that reads it, and every pass reads its object again right after the previous pass wrote it.
:class:`DocumentCache` keeps, per (namespace, name), the last document text seen and the
:class:`~taskaction_core.records.TaskAction` it decodes to. A read still fetches the row's current
document from the file, and the cached object is used only when that text is *equal* to the cached text; otherwise
the row is decoded again and replaces the entry. Because decoding is a pure function of the text, a hit returns
exactly what decoding would, whoever wrote the row:

- a write by another thread, store handle or process leaves a new document (with its new resourceVersion, which the
  document carries), so the next read misses and decodes it;
- a row edited behind the store's back, even under the same resourceVersion, has a different text and misses too;
- a deleted row is never looked up (the read finds no row), and the store drops the entry when it deletes.

The store's writes use an entry without reading the row (:meth:`DocumentCache.last_seen`): they compute their change
from the cached object and guard the ``UPDATE`` on the cached text, so the same rule holds, checked by SQLite.

The store also puts each object it writes under the text it wrote (the round trip ``from_json(to_json(x)) == x`` is
pinned by ``tests/adapters/test_serialization.py``), so the pass after a write finds its object without decoding.
Entries carry the object's resourceVersion: a slow reader that decoded an older document does not replace the entry
of a newer one. Objects are immutable records, so one decoded object is safely shared by every thread.

The put happens inside the write's transaction, so a write that is then rolled back (a unit of work whose commit
fails, a crash) may leave its text cached. That cannot serve a wrong object, since a hit still needs the stored text
to be equal; it only costs decoding: the stored, older document is decoded on each read and not cached until the
key is written again.

Bounded: at most ``size`` entries, least recently used evicted first; ``size`` 0 disables caching. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final, NamedTuple

from taskaction_core.records import TaskAction

__all__ = ["CachedDocument", "DocumentCache"]

Key = tuple[str, str]


class CachedDocument(NamedTuple):
    """One entry: the object's resourceVersion as a number, the document text and the object it decodes to."""

    revision: int
    document: str
    task_action: TaskAction


class DocumentCache:
    """(namespace, name) → the last document seen and its decoded object (see the module docstring)."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache size must not be negative, got {size}")
        self._size: Final = size
        self._entries: OrderedDict[Key, CachedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, document: str) -> TaskAction | None:
        """The decoded object when ``document`` is the text cached for ``key``, else None (decode it, then put)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.document != document:
                return None
            self._entries.move_to_end(key)
            return entry.task_action

    def last_seen(self, key: Key) -> CachedDocument | None:
        """The entry for ``key`` whatever the row holds now, for a write that guards on its text (see the store's
        ``_apply``): the caller must check that the row still holds ``document`` before trusting ``task_action``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Key, document: str, task_action: TaskAction) -> None:
        """Remember that ``document`` decodes to ``task_action``, unless a newer resourceVersion is cached."""
        if not self._size:
            return
        revision = _revision(task_action)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.revision > revision:
                return
            self._entries[key] = CachedDocument(revision, document, task_action)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def discard(self, key: Key) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _revision(task_action: TaskAction) -> int:
    """The object's resourceVersion as a number; -1 when it is not one (such an entry never shadows another)."""
    text = task_action.metadata.resource_version
    return int(text) if text.isdecimal() else -1
