"""Fault injection shared by every fake: scripted failures, lost acknowledgements, latency, and a call log.

Theory of operation. A fake owns one :class:`Faults` object, created with the names of its port methods. At the
start of each port method it calls :meth:`Faults.enter`, which counts the call, sleeps if the method is slowed, and
returns a failure to inject (or None). When a failure is returned, the fake returns it as the port's typed failure
(``Failure(error)``) and changes nothing. After a method's effect has happened, the fake calls :meth:`Faults.after`:
a failure queued with ``applied=True`` is returned *then*, so the write is durable but the caller sees a failure,
which is how a lost acknowledgement (a timeout after the server committed) looks to the caller. Faults with
``applied=True`` wait for the next call that actually performs its effect; a call that fails for a genuine reason
(NOT_FOUND, a precondition) leaves them queued.

Per method, queued failures fire in the order they were queued; a ``fail_forever`` failure, once reached, fires on
every call until :meth:`Faults.clear`. Unknown method names raise ``ValueError``: a typo in a test must not silently
inject nothing.

Everything is guarded by one lock, and sleeping happens outside it, so slow calls on several threads overlap.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from threading import Lock
from typing import Generic, TypeVar

from taskaction_core.interpreter.ports import StoreError, StoreErrorKind

E = TypeVar("E")

CONFLICT_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again"
"""The API server's text for a failed resourceVersion precondition (R66)."""


@dataclass(slots=True)
class _Rule(Generic[E]):
    error: E
    remaining: int | None
    """Calls still to fail; None means forever."""


class Faults(Generic[E]):
    """Scripted failures and latency for the methods of one fake. ``E`` is the port's failure type."""

    def __init__(self, methods: Iterable[str]) -> None:
        self._methods = frozenset(methods)
        self._lock = Lock()
        self._before: dict[str, deque[_Rule[E]]] = {}
        self._after: dict[str, deque[_Rule[E]]] = {}
        self._delay: dict[str, float] = {}
        self._calls: Counter[str] = Counter()

    @property
    def methods(self) -> frozenset[str]:
        return self._methods

    # -- scripting -----------------------------------------------------------------------------------------------

    def fail_next(self, method: str, error: E, *, applied: bool = False) -> None:
        """The next call of ``method`` fails with ``error`` (after performing its effect when ``applied``)."""
        self.fail_times(method, 1, error, applied=applied)

    def fail_times(self, method: str, times: int, error: E, *, applied: bool = False) -> None:
        """The next ``times`` calls of ``method`` fail with ``error``."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        self._queue(method, _Rule(error, times), applied)

    def fail_forever(self, method: str, error: E, *, applied: bool = False) -> None:
        """Every call of ``method`` fails with ``error`` until :meth:`clear`."""
        self._queue(method, _Rule(error, None), applied)

    def slow(self, method: str, seconds: float) -> None:
        """Every call of ``method`` first sleeps ``seconds`` (0 removes the delay)."""
        self._check(method)
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
        with self._lock:
            self._delay[method] = seconds

    def clear(self, method: str | None = None) -> None:
        """Remove queued failures and delays of ``method`` (all methods when None). The call log is kept."""
        if method is not None:
            self._check(method)
        with self._lock:
            for table in (self._before, self._after, self._delay):
                if method is None:
                    table.clear()
                else:
                    table.pop(method, None)

    # -- diagnostics -----------------------------------------------------------------------------------------------

    def calls(self, method: str) -> int:
        """How many times ``method`` was called, failed calls included."""
        self._check(method)
        with self._lock:
            return self._calls[method]

    def call_counts(self) -> dict[str, int]:
        """Calls per method, for every method called at least once."""
        with self._lock:
            return dict(self._calls)

    def pending(self, method: str) -> int:
        """Queued failures of ``method`` not yet fired (a forever failure counts as one)."""
        self._check(method)
        with self._lock:
            return len(self._before.get(method, ())) + len(self._after.get(method, ()))

    # -- used by fakes ---------------------------------------------------------------------------------------------

    def enter(self, method: str) -> E | None:
        """Count a call of ``method``, apply its delay, and return the failure to inject before any effect."""
        self._check(method)
        with self._lock:
            self._calls[method] += 1
            delay = self._delay.get(method, 0.0)
            error = self._pop(self._before, method)
        if delay:
            time.sleep(delay)
        return error

    def after(self, method: str) -> E | None:
        """The failure to report once ``method``'s effect has happened (a lost acknowledgement), if any."""
        self._check(method)
        with self._lock:
            return self._pop(self._after, method)

    # -- internals -------------------------------------------------------------------------------------------------

    def _queue(self, method: str, rule: _Rule[E], applied: bool) -> None:
        self._check(method)
        table = self._after if applied else self._before
        with self._lock:
            table.setdefault(method, deque()).append(rule)

    @staticmethod
    def _pop(table: dict[str, deque[_Rule[E]]], method: str) -> E | None:
        rules = table.get(method)
        if not rules:
            return None
        rule = rules[0]
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining == 0:
                rules.popleft()
        return rule.error

    def _check(self, method: str) -> None:
        if method not in self._methods:
            raise ValueError(f"unknown method {method!r}; this fake has {sorted(self._methods)}")


class StoreFaults(Faults[StoreError]):
    """:class:`Faults` for the TaskAction store, with shorthands for the API server's usual failures."""

    def conflict_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail with a resourceVersion CONFLICT (R66 retries these)."""
        self.fail_times(method, times, StoreError(StoreErrorKind.CONFLICT, CONFLICT_MESSAGE))

    def unavailable_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail as if the API server were unreachable."""
        self.fail_times(method, times, StoreError(StoreErrorKind.UNAVAILABLE, "the server is currently unavailable"))
