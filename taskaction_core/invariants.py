"""The library's declared laws: what every decision of ``reconcile`` satisfies, written once.

Each law is a pure function ``law(before, observations, decision, policy) -> list[str]`` that returns the ways the
decision breaks it (empty when it holds). ``before`` is the object the pass read, ``observations`` the final
observations of the pass and ``decision`` its :class:`~taskaction_core.decision.Decision`; ``policy`` is needed
because some laws depend on it (the system-failure ceiling, D1, D10, the R64/D11 change predicate).

The laws read ``observations`` as the record of what the pass asked: a question kind is answered there if and only
if the core asked it during the pass. That is how the pass driver (``taskaction_core.testing.strategies``) and the
interpreter build them; observations pre-filled by hand would make the "asked nothing" laws report violations.

:func:`violations` runs them all. The property suite checks them on every generated pass, and a stateful model
checks them after every step, so a new law added to :data:`LAWS` is enforced everywhere at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Final

from pyrsistent import pvector

from taskaction_core.action_event import ActionId
from taskaction_core.decision import Decision, Done, RequeueAfter
from taskaction_core.effects import (
    AbortPlugin,
    AddFinalizer,
    FinalEffect,
    FinalizePlugin,
    Log,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    RemoveFinalizer,
    StatusScope,
)
from taskaction_core.naming import observed_attempt
from taskaction_core.observations import Observations
from taskaction_core.phases import ConditionStatus, ConditionType
from taskaction_core.policy import Deviation, Policy, max_system_failures
from taskaction_core.reconcile.status import status_changed
from taskaction_core.records import (
    ACTION_TYPE_CONDITION,
    FINALIZER,
    MAX_CONDITION_MESSAGE,
    TaskAction,
    TaskActionStatus,
    is_terminal,
)

Law = Callable[[TaskAction, Observations, Decision, Policy], list[str]]

REASON_PATTERN: Final = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
"""R6: the API server's validation of ``conditions[].reason``."""
CONDITION_TYPES: Final = frozenset(t.value for t in ConditionType)
CONDITION_STATUSES: Final = frozenset(s.value for s in ConditionStatus)
_TERMINAL_TYPES: Final = frozenset({ConditionType.SUCCEEDED.value, ConditionType.FAILED.value})
DELETION_EFFECTS: Final = (AbortPlugin, FinalizePlugin, ReleaseReservation, RecordActionEvent, Log, RecordWarning)
"""R85–R91: everything the deletion arm may do before removing the finalizer."""


# --------------------------------------------------------------------------------------------------------------------
# Helpers


def asked_kinds(observations: Observations) -> list[str]:
    """The question kinds answered in ``observations``, i.e. asked during the pass."""
    answers = {
        "LookupCache": observations.cache_lookup,
        "WriteCachedOutputs": observations.cached_outputs_write,
        "AcquireReservation": observations.reservation,
        "InvokePlugin": observations.handle,
        "PutCache": observations.cache_put,
    }
    return [kind for kind, outcome in answers.items() if outcome is not None]


def _persisted(decision: Decision) -> Iterator[tuple[int, PersistStatus]]:
    return ((i, e) for i, e in enumerate(decision.effects) if isinstance(e, PersistStatus))


def _statuses(decision: Decision) -> Iterator[tuple[str, TaskActionStatus]]:
    """The decided status and every persisted one, each with a label for messages."""
    yield "decided status", decision.task_action.status
    for index, effect in _persisted(decision):
        yield f"PersistStatus at {index}", effect.status


def _events(decision: Decision) -> Iterator[tuple[int, RecordActionEvent]]:
    return ((i, e) for i, e in enumerate(decision.effects) if isinstance(e, RecordActionEvent))


def _indices(decision: Decision, kind: type[FinalEffect] | tuple[type[FinalEffect], ...]) -> list[int]:
    return [i for i, e in enumerate(decision.effects) if isinstance(e, kind)]


def store_after(before: TaskAction, effects: tuple[FinalEffect, ...]) -> TaskAction:
    """The object the store holds after every effect in ``effects`` succeeded, computed from the effects alone.

    PersistStatus replaces the whole status, or only conditions/phaseHistory/errorState (R83); the finalizer
    Updates append or remove (R31, R91); PatchLabels merges (R67). Other effects do not touch the object.
    """
    stored = before
    for effect in effects:
        meta = stored.metadata
        if isinstance(effect, PersistStatus):
            stored = replace(stored, status=_persist(stored.status, effect))
        elif isinstance(effect, AddFinalizer) and effect.finalizer not in meta.finalizers:
            stored = replace(stored, metadata=replace(meta, finalizers=meta.finalizers.append(effect.finalizer)))
        elif isinstance(effect, RemoveFinalizer):
            remaining = pvector(f for f in meta.finalizers if f != effect.finalizer)
            stored = replace(stored, metadata=replace(meta, finalizers=remaining))
        elif isinstance(effect, PatchLabels):
            stored = replace(stored, metadata=replace(meta, labels=meta.labels.update(effect.labels)))
    return stored


def _persist(current: TaskActionStatus, effect: PersistStatus) -> TaskActionStatus:
    if effect.scope is StatusScope.WHOLE:
        return effect.status
    written = effect.status
    return replace(
        current, conditions=written.conditions, phase_history=written.phase_history, error_state=written.error_state
    )


# --------------------------------------------------------------------------------------------------------------------
# Ordering and delivery


def event_before_status(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R65: every ActionEvent is recorded before the status write that describes it."""
    writes = _indices(decision, PersistStatus)
    if not writes:
        return []
    return [
        f"RecordActionEvent at {i} after PersistStatus at {writes[0]}"
        for i in _indices(decision, RecordActionEvent)
        if i > writes[0]
    ]


def labels_after_status(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R47, R61, R84: the GC labels are patched after the status is written, and only on a terminal object (R67)."""
    found: list[str] = []
    writes = _indices(decision, PersistStatus)
    for index in _indices(decision, PatchLabels):
        found.extend(f"PatchLabels at {index} before PersistStatus at {w}" for w in writes if w > index)
        if not is_terminal(decision.task_action.status.conditions):
            found.append(f"PatchLabels at {index} on a non-terminal object")
    return found


def one_event_per_key(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R114: the run service keeps only the first event per key, so a decision never sends two with one key."""
    seen: set[tuple[str, str, str, str, int, int, int]] = set()
    found: list[str] = []
    for index, effect in _events(decision):
        key = effect.event.dedup_key
        if key in seen:
            found.append(f"RecordActionEvent at {index} repeats dedup key {key}")
        seen.add(key)
    return found


def events_identify_action(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R68, R74: an event names this action (org never set) and an attempt ≥ 1."""
    spec = before.spec
    expected = ActionId(spec.project, spec.domain, spec.run_name, spec.action_name)
    found: list[str] = []
    for index, effect in _events(decision):
        if effect.event.id != expected:
            found.append(f"RecordActionEvent at {index} has id {effect.event.id}, expected {expected}")
        if effect.event.attempt < 1:
            found.append(f"RecordActionEvent at {index} has attempt {effect.event.attempt} < 1")
    return found


def requeue_positive(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R48, R82: a requeue is always after a positive delay (0 would be a hot loop)."""
    result = decision.result
    if isinstance(result, RequeueAfter) and result.after <= timedelta(0):
        return [f"RequeueAfter({result.after}) is not positive"]
    return []


# --------------------------------------------------------------------------------------------------------------------
# Status content


def written_conditions_valid(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R6, D10: every condition the decision writes is one the API server accepts and the controller may write.

    Known type and status, a reason matching :data:`REASON_PATTERN`, a message within the limit (with D10), and
    Succeeded/Failed only ever True. Conditions carried over unchanged from ``before`` are not judged.
    """
    found: list[str] = []
    old = set(before.status.conditions)
    for where, status in _statuses(decision):
        for c in status.conditions:
            if c in old:
                continue
            if c.type not in CONDITION_TYPES or c.status not in CONDITION_STATUSES:
                found.append(f"{where}: condition {c.type!r}={c.status!r} outside the vocabulary")
            if not REASON_PATTERN.match(c.reason):
                found.append(f"{where}: condition {c.type!r} reason {c.reason!r} fails the API pattern")
            if policy.fixes(Deviation.D10_TRUNCATE_CONDITION_MESSAGES) and len(c.message) > MAX_CONDITION_MESSAGE:
                found.append(f"{where}: condition {c.type!r} message of {len(c.message)} characters")
            if c.type in _TERMINAL_TYPES and c.status != ConditionStatus.TRUE:
                found.append(f"{where}: condition {c.type!r} written with status {c.status!r}")
    return found


def history_append_only(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R9: phase history only grows at the end; the old history is a prefix of every new one."""
    old = before.status.phase_history
    return [
        f"{where}: phase history does not extend the previous one"
        for where, status in _statuses(decision)
        if status.phase_history[: len(old)] != old
    ]


def attempts_monotone(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R44, R45: the attempt number never goes down."""
    old = before.status.attempts
    return [
        f"{where}: attempts {status.attempts} < {old}" for where, status in _statuses(decision) if status.attempts < old
    ]


def system_failures_bounded(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R57, R60, D6: from a counter within the ceiling, a pass reaches at most ceiling + 1, and only a terminal
    status may hold a counter above the ceiling (the (ceiling+1)-th failure is the permanent one)."""
    ceiling = max_system_failures(policy)
    if not 0 <= before.status.system_failures <= ceiling:
        return []
    found: list[str] = []
    for where, status in _statuses(decision):
        if status.system_failures > ceiling + 1:
            found.append(f"{where}: systemFailures {status.system_failures} > ceiling {ceiling} + 1")
        elif status.system_failures > ceiling and not is_terminal(status.conditions):
            found.append(f"{where}: systemFailures {status.system_failures} above ceiling {ceiling}, not terminal")
    return found


def system_failures_per_attempt(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """D6 (#8066): with per-attempt counting, the system-failure counter never goes down within one attempt; only an
    in-place restart (a new attempt) resets it, so fail → relaunch → Running → fail cannot cycle forever."""
    if not policy.fixes(Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES):
        return []
    attempt, failures = observed_attempt(before.status.attempts), before.status.system_failures
    return [
        f"{where}: systemFailures {status.system_failures} < {failures} within attempt {attempt}"
        for where, status in _statuses(decision)
        if observed_attempt(status.attempts) == attempt and status.system_failures < failures
    ]


def new_attempt_starts_clean(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R44, R62, D6: an in-place restart starts the next attempt from scratch: no plugin state (so the plugin
    launches a new resource, R105) and no system failures carried over from the failed attempt."""
    attempt = observed_attempt(before.status.attempts)
    return [
        f"{where}: attempt {status.attempts} starts with plugin state {status.plugin_state!r} "
        f"v{status.plugin_state_version} and {status.system_failures} system failures"
        for where, status in _statuses(decision)
        if observed_attempt(status.attempts) > attempt
        and (status.plugin_state or status.plugin_state_version or status.system_failures)
    ]


def decided_object_is_stored(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """decision.py: ``task_action`` is what a successful write of every effect leaves in the store.

    At most one status write per pass; metadata and spec equal what the effects produce; the status equal up to
    what R64 (or D11) does not compare, i.e. what the controller deliberately leaves unpersisted (stateJson, Q13).
    """
    found: list[str] = []
    writes = _indices(decision, PersistStatus)
    if len(writes) > 1:
        found.append(f"{len(writes)} PersistStatus effects in one decision")
    stored = store_after(before, decision.effects)
    decided = decision.task_action
    if stored.metadata != decided.metadata:
        found.append(f"metadata after the effects {stored.metadata} differs from the decided {decided.metadata}")
    if decided.spec != before.spec:
        found.append("the decision changed the spec")
    if status_changed(stored.status, decided.status, policy):
        found.append("the decided status differs from what the effects persist")
    return found


# --------------------------------------------------------------------------------------------------------------------
# Paths


def terminal_absorbing(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R27: a terminal, non-deleted action only gets its GC labels: no question, no other effect, same status, DONE."""
    if before.metadata.deletion_timestamp is not None or not is_terminal(before.status.conditions):
        return []
    found = [f"terminal action asked {kind}" for kind in asked_kinds(observations)]
    found.extend(f"terminal action got {type(e).__name__}" for e in decision.effects if not isinstance(e, PatchLabels))
    if decision.task_action.status != before.status:
        found.append("terminal action's status changed")
    if not isinstance(decision.result, Done):
        found.append(f"terminal action's result is {decision.result}, not Done")
    return found


def condition_effects(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R78, R83: a live condition asks nothing and only writes its own status fields (selectively) and labels:
    no plugin, cache, event or finalizer effect, no pluginPhase, attempts, stateJson or plugin state."""
    if before.metadata.deletion_timestamp is not None or before.spec.action_type != ACTION_TYPE_CONDITION:
        return []
    found = [f"condition asked {kind}" for kind in asked_kinds(observations)]
    for effect in decision.effects:
        selective = isinstance(effect, PersistStatus) and effect.scope is StatusScope.CONDITION_FIELDS
        if not (selective or isinstance(effect, PatchLabels)):
            found.append(f"condition got {effect}")
    old, new = before.status, decision.task_action.status
    kept = replace(new, conditions=old.conditions, phase_history=old.phase_history, error_state=old.error_state)
    if kept != old:
        found.append("condition changed status fields outside conditions, phaseHistory and errorState")
    return found


def deletion_arm(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """R26, R85–R91, D1: a deleted action is never handled (no question at all), its status is never written,
    Abort precedes Finalize, the finalizer removal is the last effect, and (D1) a terminal one gets no event."""
    if before.metadata.deletion_timestamp is None:
        return []
    found = [f"deleted action asked {kind}" for kind in asked_kinds(observations)]
    effects = decision.effects
    if FINALIZER not in before.metadata.finalizers and effects:
        found.append(f"deleted action without finalizer got effects {effects}")
    if effects and not isinstance(effects[-1], RemoveFinalizer):
        found.append(f"deletion arm does not end with RemoveFinalizer: {effects[-1]}")
    found.extend(f"deletion arm got {e}" for e in effects[:-1] if not isinstance(e, DELETION_EFFECTS))
    aborts, finalizes = _indices(decision, AbortPlugin), _indices(decision, FinalizePlugin)
    if aborts and finalizes and min(finalizes) < min(aborts):
        found.append("FinalizePlugin before AbortPlugin")
    if decision.task_action.status != before.status:
        found.append("deletion arm changed the status")
    terminal = is_terminal(before.status.conditions)
    if (
        terminal
        and policy.fixes(Deviation.D1_TERMINAL_DELETION_NO_ABORT_EVENT)
        and _indices(decision, RecordActionEvent)
    ):
        found.append("D1: deleting a terminal action recorded an ActionEvent")
    if not isinstance(decision.result, Done):
        found.append(f"deletion arm result {decision.result}, not Done")
    return found


def finalizer_added_alone(
    before: TaskAction, observations: Observations, decision: Decision, policy: Policy
) -> list[str]:
    """R13, R31: only the task path adds the finalizer, only when it is missing, alone, and the pass stops (DONE)."""
    if not _indices(decision, AddFinalizer):
        return []
    found: list[str] = []
    if before.spec.action_type == ACTION_TYPE_CONDITION or before.metadata.deletion_timestamp is not None:
        found.append("AddFinalizer outside the task path")
    if FINALIZER in before.metadata.finalizers:
        found.append("AddFinalizer although the finalizer is present")
    if len(decision.effects) != 1 or asked_kinds(observations) or not isinstance(decision.result, Done):
        found.append("AddFinalizer is not the only thing the pass does")
    return found


LAWS: Final[tuple[Law, ...]] = (
    event_before_status,
    labels_after_status,
    one_event_per_key,
    events_identify_action,
    requeue_positive,
    written_conditions_valid,
    history_append_only,
    attempts_monotone,
    system_failures_bounded,
    system_failures_per_attempt,
    new_attempt_starts_clean,
    decided_object_is_stored,
    terminal_absorbing,
    condition_effects,
    deletion_arm,
    finalizer_added_alone,
)
"""Every law, in the order :func:`violations` reports them."""


def violations(before: TaskAction, observations: Observations, decision: Decision, policy: Policy) -> list[str]:
    """Every violation of every law in :data:`LAWS`, each prefixed with the law's name."""
    return [f"{law.__name__}: {violation}" for law in LAWS for violation in law(before, observations, decision, policy)]
