"""Observations: the level-based snapshot of the world one ``reconcile`` round decides on (design.md §4).

The interpreter builds :class:`Observations` with the current time and the plugin resolution, then fills in the
outcome of each question the core asks (``None`` means "not asked yet"). Outcomes are ``returns`` ``Result``
values: a success record, or a typed failure record that carries the error text the spec's messages quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from returns.result import Result

from taskaction_core.fastinit import fast_init
from taskaction_core.phase_info import Transition


class CatalogErrorKind(Enum):
    """Explicit catalog outcomes (D9, R98): NotFound and AlreadyExists are not errors to be guessed from text."""

    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    OTHER = "other"


@fast_init
@dataclass(frozen=True, slots=True)
class CatalogFailure:
    """A catalog call that did not succeed."""

    kind: CatalogErrorKind
    message: str


@fast_init
@dataclass(frozen=True, slots=True)
class PortFailure:
    """Any other port call that failed; ``message`` is the error text."""

    message: str


@fast_init
@dataclass(frozen=True, slots=True)
class PluginResolved:
    """R100: the plugin registered for ``spec.taskType`` (or the default one)."""

    plugin_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class CacheHit:
    """``Catalog.Get`` found an entry; ``outputs`` is its serialized output literal map (R52)."""

    outputs: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class Reservation:
    """``GetOrExtendReservation`` answered; the caller owns it iff ``owner_id`` is its own id (R94)."""

    owner_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class PluginStateWrite:
    """The plugin called ``Put`` (or ``Reset``: empty bytes, version 0) during Handle (R101)."""

    state: bytes
    version: int


@fast_init
@dataclass(frozen=True, slots=True)
class PluginHandled:
    """``Plugin.Handle`` returned a transition; ``state_write`` is the last state write, if any (R43)."""

    transition: Transition
    state_write: PluginStateWrite | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class PluginFailure:
    """``Plugin.Handle`` returned an error.

    ``message`` is the full error text (Go ``err.Error()``); ``codes`` are the Flyte error codes found along its
    cause chain, outermost first (R58), so the core can recognise non-retryable codes.
    """

    message: str
    codes: tuple[str, ...]


CacheLookupOutcome = Result[CacheHit, CatalogFailure]
WriteOutcome = Result[None, PortFailure]
ReservationOutcome = Result[Reservation, PortFailure]
HandleOutcome = Result[PluginHandled, PluginFailure]
CachePutOutcome = Result[None, CatalogFailure]
PluginResolution = Result[PluginResolved, PortFailure]


@fast_init
@dataclass(frozen=True, slots=True)
class Observations:
    """What one round knows: the time (one reading per pass, Q33), the plugin resolution and question outcomes.

    ``now`` must be timezone-aware; its zone is the "process-local" zone Go uses for ``stateJson`` (R42), while
    labels and conditions are rendered in UTC.
    """

    now: datetime
    plugin: PluginResolution
    cache_lookup: CacheLookupOutcome | None = None
    cached_outputs_write: WriteOutcome | None = None
    reservation: ReservationOutcome | None = None
    handle: HandleOutcome | None = None
    cache_put: CachePutOutcome | None = None
