"""Effects: inert commands the core asks the interpreter to perform (design.md §4).

There are two kinds:

* **Questions** (:data:`Question`) are effects whose outcome the core needs before it can decide: look up the cache,
  write cached outputs, take the reservation, call the plugin, put to the cache. ``reconcile`` returns an
  :class:`Ask` for one of them; the interpreter performs it, records the outcome in the observations and calls
  ``reconcile`` again.
* **Final effects** (:data:`FinalEffect`) are performed in list order after the last round. Each carries its
  failure meaning (:data:`OnFailure`): ``Ignore`` (log and go on), ``Requeue`` (stop here and requeue after a delay)
  or ``FailPass`` (stop here and return an error: controller-runtime backs off). These reproduce the spec's exit
  paths X1–X24 exactly; the interpreter itself makes no domain decision.

Effects are plain comparable values with no callbacks, so tests assert on them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from pyrsistent.typing import PMap

from taskaction_core.action_event import ActionEvent
from taskaction_core.context import TaskExecutionContext, TaskExecutionId
from taskaction_core.fastinit import fast_init
from taskaction_core.records import TaskActionStatus
from taskaction_core.template import Identifier

# --------------------------------------------------------------------------------------------------------------------
# Failure meanings


@fast_init
@dataclass(frozen=True, slots=True)
class Ignore:
    """A failure is logged with ``why`` and the remaining effects still run."""

    why: str


@fast_init
@dataclass(frozen=True, slots=True)
class Requeue:
    """A failure stops the remaining effects; the pass ends with ``AFTER(after)``."""

    after: timedelta


@fast_init
@dataclass(frozen=True, slots=True)
class FailPass:
    """A failure stops the remaining effects; the pass ends with ``FAIL(err)`` (per-key backoff)."""


FAIL_PASS: Final = FailPass()
"""The one :class:`FailPass` the core hands out (it has no fields, so every instance is equal)."""


@fast_init
@dataclass(frozen=True, slots=True)
class FailureWarning:
    """A Kubernetes Warning event to emit when the effect fails; the note is ``note_prefix + <error text>``."""

    reason: str
    action: str
    note_prefix: str


OnFailure = Ignore | Requeue | FailPass

# --------------------------------------------------------------------------------------------------------------------
# Shared values


@fast_init
@dataclass(frozen=True, slots=True)
class CacheKey:
    """The reconciler-side catalog key (R49, R97). The catalog adapter turns it into its own string key.

    ``interface`` is the serialized ``core.TypedInterface``; ``input_path`` is where the inputs literal map is read
    from when the adapter hashes inputs.
    """

    identifier: Identifier
    cache_version: str
    cache_ignore_input_vars: tuple[str, ...]
    interface: bytes
    input_path: str


@fast_init
@dataclass(frozen=True, slots=True)
class CacheMetadata:
    """Metadata sent with a cache Put (R55)."""

    task_execution_id: TaskExecutionId
    created_at: datetime


class StatusScope(Enum):
    """Which part of the freshly read status a status write replaces (R65, R83)."""

    WHOLE = "whole"
    """Task path: the entire status is replaced by the working copy (Q14)."""
    CONDITION_FIELDS = "condition_fields"
    """Condition path: only conditions, phaseHistory and errorState, so a concurrent Signal is kept (R83)."""


# --------------------------------------------------------------------------------------------------------------------
# Questions


@fast_init
@dataclass(frozen=True, slots=True)
class LookupCache:
    """``Catalog.Get(key)`` (R52 step 2). Outcome: :class:`~taskaction_core.observations.CacheHit` or a failure."""

    key: CacheKey


@fast_init
@dataclass(frozen=True, slots=True)
class WriteCachedOutputs:
    """Write a cache hit's outputs to ``output_uri`` (R52 step 2)."""

    output_uri: str
    outputs: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class AcquireReservation:
    """``Catalog.GetOrExtendReservation(key, owner_id, heartbeat)`` (R52 step 3, R94)."""

    key: CacheKey
    owner_id: str
    heartbeat: timedelta


@fast_init
@dataclass(frozen=True, slots=True)
class InvokePlugin:
    """``Plugin.Handle(context)`` (R36). Any plugin-state write is reported back, not applied by the interpreter."""

    plugin_id: str
    context: TaskExecutionContext


@fast_init
@dataclass(frozen=True, slots=True)
class PutCache:
    """``Catalog.Put(key, outputs at output_uri, metadata)`` (R55)."""

    key: CacheKey
    output_uri: str
    metadata: CacheMetadata


Question = LookupCache | WriteCachedOutputs | AcquireReservation | InvokePlugin | PutCache

# --------------------------------------------------------------------------------------------------------------------
# Final effects


@fast_init
@dataclass(frozen=True, slots=True)
class AbortPlugin:
    """``Plugin.Abort(context)`` (R40 in-place restart, R62 system reset, R88 deletion)."""

    plugin_id: str
    context: TaskExecutionContext
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class FinalizePlugin:
    """``Plugin.Finalize(context)`` (R88, deletion only)."""

    plugin_id: str
    context: TaskExecutionContext
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class ReleaseReservation:
    """``Catalog.ReleaseReservation(key, owner_id)`` (R56). NotFound counts as success (R96)."""

    key: CacheKey
    owner_id: str
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class RecordActionEvent:
    """Record one ActionEvent and wait until it is durable (R77). Always ordered before the status it describes."""

    event: ActionEvent
    on_failure: OnFailure
    warning: FailureWarning | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class PersistStatus:
    """Write the status subresource.

    With ``retry_conflicts`` the interpreter re-reads the object and re-applies ``status`` (restricted to ``scope``)
    up to 5 times on a version conflict (R66); without it, one write against ``resource_version`` (the stale
    object, as Go's best-effort writes do).
    """

    status: TaskActionStatus
    scope: StatusScope
    retry_conflicts: bool
    resource_version: str
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class AddFinalizer:
    """Append ``finalizer`` to ``metadata.finalizers`` with an Update against ``resource_version`` (R31)."""

    finalizer: str
    resource_version: str
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class RemoveFinalizer:
    """Remove ``finalizer`` with an Update against ``resource_version`` (R91)."""

    finalizer: str
    resource_version: str
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class PatchLabels:
    """JSON merge patch of ``metadata.labels`` with no resourceVersion precondition (R67)."""

    labels: PMap[str, str]
    on_failure: OnFailure


@fast_init
@dataclass(frozen=True, slots=True)
class RecordWarning:
    """A Kubernetes Warning event on the object (R120–R123). Failures are ignored, as the Go recorder does."""

    reason: str
    action: str
    note: str


class LogLevel(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@fast_init
@dataclass(frozen=True, slots=True)
class Log:
    """A log line the interpreter writes; the core itself never logs."""

    level: LogLevel
    message: str


FinalEffect = (
    AbortPlugin
    | FinalizePlugin
    | ReleaseReservation
    | RecordActionEvent
    | PersistStatus
    | AddFinalizer
    | RemoveFinalizer
    | PatchLabels
    | RecordWarning
    | Log
)
Effect = Question | FinalEffect
