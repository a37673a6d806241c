"""System-error accounting and permanent failure (R36, R38, R39, R57–R63) with D3, D4, D5, D6, as a rule table.

Exit paths: X15 (non-retryable code), X16 (over the ceiling), X17 (under the ceiling), X19 (SYSTEM retryable phase).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from pyrsistent import pmap, pvector

from taskaction_core.decision import Decision, Done
from taskaction_core.effects import (
    AbortPlugin,
    FinalEffect,
    Ignore,
    Log,
    LogLevel,
    PersistStatus,
    RecordWarning,
    ReleaseReservation,
    StatusScope,
)
from taskaction_core.observations import PluginStateWrite
from taskaction_core.phase_info import ExecutionError, PhaseInfo, TaskInfo, phase_info_waiting_for_cache
from taskaction_core.phases import ActionPhase, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.failures import (
    Cleanup,
    SystemErrorText,
    is_system_retryable_failure,
    non_retryable_code,
    record_system_error,
    system_error_from_phase_info,
)
from taskaction_core.records import (
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    ErrorState,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.testing.builders import T0, handle_failed, handled, retryable, running
from tests.core.task_helpers import (
    AFTER_RD,
    DEFAULT,
    GO,
    OWNER,
    T1,
    Script,
    a_task,
    cache_key,
    cond,
    context_of,
    drive,
    event,
    hist,
    not_found,
    persisted,
    progressing,
    recorded,
    reserved_by,
    state_json,
    terminal_labels,
    without,
)

RUNNING_AT_T0 = TaskActionStatus(
    state_json=state_json("PhaseRunning"),
    plugin_phase="PhaseRunning",
    attempts=1,
    conditions=pvector([progressing("Executing")]),
    phase_history=pvector([hist("Executing")]),
)
ERR = "rpc error: connection refused"
WARNING = RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {ERR}')
LOG = Log(LogLevel.ERROR, f"plugin system error: {ERR}")
BEST_EFFORT = Ignore("best-effort system failure count")
LABELS = pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-00"})


def at_failures(count: int, status: TaskActionStatus = RUNNING_AT_T0, **template: object) -> TaskAction:
    return a_task(status=replace(status, system_failures=count), **template)


def permanent_status(
    base: TaskActionStatus, code: str, kind: str, message: str, at: datetime = T1, **fields: object
) -> TaskActionStatus:
    """R61: PermanentFailure conditions, errorState and history; pluginPhase set, version 0; nothing else touched."""
    return replace(
        base,
        plugin_phase="PhasePermanentFailure",
        plugin_phase_version=0,
        conditions=pvector(
            [
                progressing("PermanentFailure", message, status="False", at=at),
                cond("Failed", "True", "PermanentFailure", message, at),
            ]
        ),
        phase_history=base.phase_history.append(hist("PermanentFailure", message, at)),
        error_state=ErrorState(code, kind, message),
        **fields,  # type: ignore[arg-type]
    )


def ceiling_message(count: int, error: str = ERR) -> str:
    return f'plugin "test-plugin" failed with system error {count} times: {error}'


# --- R57 under the ceiling (X17), D4 -----------------------------------------------------------------------------


def test_handle_error_under_ceiling_R36_R57_X17_counts_and_persists_durably_d4() -> None:
    """R36/R57/X17 with D4: Log, Warning ``Plugin "<id>" system error: <err>``, systemFailures+1 persisted with
    conflict retry (a failed write fails the pass), AFTER(rd). No event, no phase change."""
    task_action = at_failures(0)
    decision = drive(task_action, Script(handle=handle_failed(ERR), now=T1))
    status = replace(RUNNING_AT_T0, system_failures=1)
    assert decision == Decision(replace(task_action, status=status), (LOG, WARNING, persisted(status)), AFTER_RD)


def test_handle_error_under_ceiling_go_R57_Q5_writes_best_effort_and_ignores_errors() -> None:
    """R57 step 5/Q5 (D4 off): one write against the read version, no conflict retry, error ignored."""
    task_action = at_failures(1)
    decision = drive(
        task_action, Script(handle=handle_failed(ERR), now=T1), without(Deviation.D4_DURABLE_SYSTEM_FAILURE_COUNT)
    )
    status = replace(RUNNING_AT_T0, system_failures=2)
    assert decision.effects == (LOG, WARNING, PersistStatus(status, StatusScope.WHOLE, False, "1", BEST_EFFORT))
    assert decision.result == AFTER_RD


def test_handle_error_R36_plugin_id_is_go_quoted_in_the_warning() -> None:
    """R57: the plugin id is Go-quoted."""
    decision = drive(at_failures(0), Script(handle=handle_failed("x"), plugin_id='odd"id'))
    assert decision.effects[1] == RecordWarning(
        "FailedPluginHandle", "HandlingPlugin", 'Plugin "odd\\"id" system error: x'
    )


def test_handle_error_R36_discards_nothing_else_from_the_status() -> None:
    """R36: only the counter changes; phase, attempts (still 0 on a fresh object) and history stay."""
    task_action = a_task()
    decision = drive(task_action, Script(handle=handle_failed(ERR)))
    assert decision.task_action.status == TaskActionStatus(system_failures=1)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_handle_error_R60_default_ceiling_allows_three(count: int) -> None:
    """R60: with the default 3, the 1st–3rd consecutive failures are counted, not terminal."""
    decision = drive(at_failures(count), Script(handle=handle_failed(ERR), now=T1))
    assert decision.task_action.status.system_failures == count + 1
    assert decision.result == AFTER_RD


# --- R57 over the ceiling (X16), R61, D3 --------------------------------------------------------------------------


def test_handle_error_over_ceiling_R57_R61_X16_d3_aborts_then_fails_permanently() -> None:
    """R57 step 4/R61/X16: the 4th failure: Log, Warning, (D3) Abort, FAILED event before the status, labels, DONE.
    MaxSystemFailuresExceeded, kind SYSTEM; counter 4 persisted; attempts, cacheStatus, stateJson untouched."""
    task_action = at_failures(3)
    decision = drive(task_action, Script(handle=handle_failed(ERR), now=T1))
    message = ceiling_message(4)
    status = permanent_status(RUNNING_AT_T0, "MaxSystemFailuresExceeded", "SYSTEM", message, system_failures=4)
    abort = AbortPlugin("test-plugin", context_of(task_action), Ignore("abort at permanent failure failed"))
    failed = event(ActionPhase.FAILED, updated=T1, reported=T1, error=(message, ErrorKind.SYSTEM))
    assert decision == Decision(
        replace(task_action, status=status, metadata=replace(task_action.metadata, labels=LABELS)),
        (LOG, WARNING, abort, recorded(failed), persisted(status), terminal_labels(T1)),
        Done(),
    )
    assert status.state_json == RUNNING_AT_T0.state_json


def test_handle_error_over_ceiling_go_R61_Q4_no_abort_no_release() -> None:
    """R61/Q4 (D3 off): nothing is aborted or released, even for a serializable cache task holding a reservation."""
    task_action = at_failures(3, cacheable=True, serializable=True)
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=handle_failed(ERR), now=T1)
    decision = drive(task_action, script, without(Deviation.D3_CLEANUP_AT_SYSTEM_CEILING))
    message = ceiling_message(4)
    status = permanent_status(RUNNING_AT_T0, "MaxSystemFailuresExceeded", "SYSTEM", message, system_failures=4)
    failed = event(ActionPhase.FAILED, updated=T1, reported=T1, error=(message, ErrorKind.SYSTEM))
    assert decision.effects == (LOG, WARNING, recorded(failed), persisted(status), terminal_labels(T1))


def test_handle_error_over_ceiling_d3_R61_releases_a_serializable_reservation_after_abort() -> None:
    """D3: Abort then ReleaseReservation, both before the event and the status."""
    task_action = at_failures(3, status=TaskActionStatus(), cacheable=True, serializable=True)
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=handle_failed(ERR))
    decision = drive(task_action, script)
    assert decision.effects[2:4] == (
        AbortPlugin("test-plugin", context_of(task_action), Ignore("abort at permanent failure failed")),
        ReleaseReservation(cache_key(task_action), OWNER, Ignore("releasing the cache reservation failed")),
    )
    assert [type(effect).__name__ for effect in decision.effects[4:]] == [
        "RecordActionEvent",
        "PersistStatus",
        "PatchLabels",
    ]


def test_handle_error_over_ceiling_d3_R56_no_release_without_a_catalog() -> None:
    """D3 with R56: when no catalog is configured there is no reservation to release, even for a serializable
    template; only the Abort is added (found by the docs review: the interpreter has no catalog to call)."""
    task_action = at_failures(3, status=TaskActionStatus(), cacheable=True, serializable=True)
    decision = drive(task_action, Script(handle=handle_failed(ERR)), Policy(catalog_enabled=False))
    assert not any(isinstance(effect, ReleaseReservation) for effect in decision.effects)
    assert any(isinstance(effect, AbortPlugin) for effect in decision.effects)


def test_handle_error_over_ceiling_R61_Q4_fresh_object_keeps_attempts_zero_event_says_one() -> None:
    """R61/Q4: attempts stays 0 in status; the event still reports attempt 1 (R74)."""
    task_action = a_task(status=TaskActionStatus(system_failures=3))
    decision = drive(task_action, Script(handle=handle_failed(ERR)))
    assert decision.task_action.status.attempts == 0
    effect = decision.effects[3]
    assert effect == recorded(event(ActionPhase.FAILED, error=(ceiling_message(4), ErrorKind.SYSTEM)))


@pytest.mark.parametrize(
    ("configured", "first_terminal"),
    [(0, 4), (1, 2), (2, 3), (3, 4), (5, 6)],
    ids=["zero-means-three", "one", "two", "three", "five"],
)
def test_ceiling_R60_Q16_is_reached_on_failure_max_plus_one(configured: int, first_terminal: int) -> None:
    """R60/Q16: fail on the (max+1)-th consecutive failure; 0 means the default 3 (no fail-fast)."""
    policy = Policy(max_system_failures=configured)
    task_action = a_task()
    for failure in range(1, first_terminal + 1):
        decision = drive(task_action, Script(handle=handle_failed(ERR)), policy)
        task_action = decision.task_action
        terminal = task_action.status.plugin_phase == "PhasePermanentFailure"
        assert terminal == (failure == first_terminal), failure
    assert task_action.status.system_failures == first_terminal
    assert task_action.status.error_state == ErrorState(
        "MaxSystemFailuresExceeded", "SYSTEM", ceiling_message(first_terminal)
    )


# --- R58 non-retryable codes (X15) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("BadTaskSpecification",), "BadTaskSpecification"),
        (("MetadataTooLarge",), "MetadataTooLarge"),
        (("DownstreamSystemError", "RuntimeFailure", "MetadataTooLarge"), "MetadataTooLarge"),
        (("MetadataTooLarge", "BadTaskSpecification"), "BadTaskSpecification"),
    ],
    ids=["bad-spec", "too-large", "deep-in-chain", "checked-in-R58-order"],
)
def test_non_retryable_code_R58_X15_fails_permanently_as_user_error(codes: tuple[str, ...], expected: str) -> None:
    """R57 step 1/R58/X15: a non-retryable code anywhere in the chain → PermanentFailure kind USER, code = that code,
    message = the full error text; no Warning, no Log, no increment (even at 2 failures); D3 abort; DONE."""
    text = f"[{codes[0]}] outer, caused by: inner"
    task_action = at_failures(2)
    decision = drive(task_action, Script(handle=handle_failed(text, *codes), now=T1))
    status = permanent_status(RUNNING_AT_T0, expected, "USER", text, system_failures=2)
    abort = AbortPlugin("test-plugin", context_of(task_action), Ignore("abort at permanent failure failed"))
    failed = event(ActionPhase.FAILED, updated=T1, reported=T1, error=(text, ErrorKind.USER))
    assert decision.effects == (abort, recorded(failed), persisted(status), terminal_labels(T1))
    assert decision.result == Done()


def test_non_retryable_code_go_R58_X15_no_cleanup() -> None:
    """X15 (D3 off): event, status, labels only."""
    decision = drive(at_failures(0), Script(handle=handle_failed("bad", "BadTaskSpecification"), now=T1), GO)
    assert [type(effect).__name__ for effect in decision.effects] == [
        "RecordActionEvent",
        "PersistStatus",
        "PatchLabels",
    ]


def test_other_codes_R59_are_counted_like_any_system_error() -> None:
    """R59: codes outside R58 (e.g. RuntimeFailure) are ordinary system failures."""
    decision = drive(at_failures(0), Script(handle=handle_failed(ERR, "RuntimeFailure", "BackOffError"), now=T1))
    assert decision.effects == (LOG, WARNING, persisted(replace(RUNNING_AT_T0, system_failures=1)))


@pytest.mark.parametrize(
    ("codes", "expected"),
    [((), None), (("X",), None), (("MetadataTooLarge", "BadTaskSpecification"), "BadTaskSpecification")],
)
def test_non_retryable_code_R58_unit(codes: tuple[str, ...], expected: str | None) -> None:
    assert non_retryable_code(SystemErrorText("m", codes)) == expected


# --- R38/R62/R63 SYSTEM retryable phase (X19) ---------------------------------------------------------------------


def test_system_retryable_phase_R38_R62_X19_aborts_clears_state_then_counts() -> None:
    """R38/R62/X19: Abort (Ignore), plugin state cleared, then R57 with ``[code] message``; phase unchanged."""
    state = replace(RUNNING_AT_T0, plugin_state=b"gob", plugin_state_version=3)
    task_action = a_task(status=state)
    decision = drive(task_action, Script(handle=retryable("PodEvicted", "node drained", ErrorKind.SYSTEM), now=T1))
    status = replace(RUNNING_AT_T0, system_failures=1)
    abort = AbortPlugin(
        "test-plugin", context_of(task_action), Ignore("aborting the plugin resource before a system retry failed")
    )
    text = "[PodEvicted] node drained"
    assert decision == Decision(
        replace(task_action, status=status),
        (
            abort,
            Log(LogLevel.ERROR, f"plugin system error: {text}"),
            RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {text}'),
            persisted(status),
        ),
        AFTER_RD,
    )


def test_system_retryable_phase_R38_R54_reservation_is_released_before_the_abort() -> None:
    """R38 note: post-processing (R54 step 4) already released the serializable reservation, so Release precedes
    Abort; the attempt count is unchanged (Q25)."""
    task_action = a_task(cacheable=True, serializable=True)
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=retryable("E", "m", ErrorKind.SYSTEM))
    decision = drive(task_action, script)
    key = cache_key(task_action)
    assert decision.effects[:2] == (
        ReleaseReservation(key, OWNER, Ignore("releasing the cache reservation failed")),
        AbortPlugin(
            "test-plugin", context_of(task_action), Ignore("aborting the plugin resource before a system retry failed")
        ),
    )
    assert decision.task_action.status.attempts == 0


def test_system_retryable_phase_R38_discards_a_plugin_state_write() -> None:
    """R62: whatever the plugin wrote during this Handle, the state is cleared."""
    err = ExecutionError("E", "m", ErrorKind.SYSTEM)
    info = PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), err)
    decision = drive(a_task(status=RUNNING_AT_T0), Script(handle=handled(info, PluginStateWrite(b"new", 9))))
    assert (decision.task_action.status.plugin_state, decision.task_action.status.plugin_state_version) == (b"", 0)


def test_system_retryable_phase_Q15_non_retryable_code_is_still_counted() -> None:
    """Q15: a phase-reported BadTaskSpecification is flattened to text and uses the system budget."""
    decision = drive(at_failures(0), Script(handle=retryable("BadTaskSpecification", "bad", ErrorKind.SYSTEM), now=T1))
    assert decision.task_action.status.system_failures == 1
    assert decision.result == AFTER_RD


def test_system_retryable_phase_at_ceiling_R38_X16_d3_aborts_once_and_releases_once() -> None:
    """X19 → X16 with D3: the reset Abort and the post-processing Release are the only cleanup (no duplicates)."""
    task_action = at_failures(3, status=TaskActionStatus(), cacheable=True, serializable=True)
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=retryable("E", "m", ErrorKind.SYSTEM))
    decision = drive(task_action, script)
    names = [type(effect).__name__ for effect in decision.effects]
    assert names == [
        "ReleaseReservation",
        "AbortPlugin",
        "Log",
        "RecordWarning",
        "RecordActionEvent",
        "PersistStatus",
        "PatchLabels",
    ]
    assert decision.task_action.status.error_state == ErrorState(
        "MaxSystemFailuresExceeded", "SYSTEM", ceiling_message(4, "[E] m")
    )
    assert decision.task_action.status.plugin_state == b""


def test_system_retryable_phase_without_error_R63_text() -> None:
    """R63: no error → ``system retryable failure`` (unit: a SYSTEM kind always carries an error in the pipeline)."""
    info = PhaseInfo(PluginPhase.RETRYABLE_FAILURE)
    assert system_error_from_phase_info(info) == SystemErrorText("system retryable failure")
    assert not is_system_retryable_failure(info)


@pytest.mark.parametrize(
    ("kind", "expected"), [(ErrorKind.SYSTEM, True), (ErrorKind.USER, False), (ErrorKind.UNKNOWN, False)]
)
def test_is_system_retryable_failure_R63(kind: ErrorKind, expected: bool) -> None:
    err = ExecutionError("c", "m", kind)
    assert is_system_retryable_failure(PhaseInfo(PluginPhase.RETRYABLE_FAILURE, err=err)) is expected
    assert not is_system_retryable_failure(PhaseInfo(PluginPhase.PERMANENT_FAILURE, err=err))


def test_record_system_error_R57_step5_no_change_writes_nothing() -> None:
    """R57 step 5: the write happens only if the status changed (unit; in the pipeline the counter always moves)."""
    original = at_failures(1)
    working = at_failures(0)
    cleanup = Cleanup("test-plugin", None, None)
    decision = record_system_error(original, working, SystemErrorText("x"), cleanup, T0, DEFAULT)
    assert decision == Decision(
        original,
        (
            Log(LogLevel.ERROR, "plugin system error: x"),
            RecordWarning("FailedPluginHandle", "HandlingPlugin", 'Plugin "test-plugin" system error: x'),
        ),
        AFTER_RD,
    )


# --- R39 reset vs D6 per-attempt counting -------------------------------------------------------------------------


def test_counter_reset_go_R39_on_a_normal_pass() -> None:
    """R39 (D6 off): any pass that gets past Handle resets systemFailures to 0, and that change is persisted."""
    task_action = at_failures(2)
    decision = drive(
        task_action, Script(handle=running(now=T1), now=T1), without(Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES)
    )
    status = replace(RUNNING_AT_T0, state_json=state_json("PhaseRunning", T1))
    assert decision.effects == (recorded(event(ActionPhase.RUNNING, reported=T1)), persisted(status))


def test_counter_reset_go_R39_also_on_cache_short_circuit() -> None:
    """R39: including a WaitingForCache short-circuit."""
    task_action = at_failures(2, status=TaskActionStatus(), cacheable=True, serializable=True)
    script = Script(lookup=not_found(), reservation=reserved_by("default/other"))
    decision = drive(task_action, script, GO)
    assert decision.task_action.status.system_failures == 0
    assert decision.task_action.status.plugin_phase == "PhaseWaitingForCache"


def test_counter_kept_d6_on_a_running_pass() -> None:
    """D6: the counter survives Running passes; with nothing else changed nothing is written."""
    task_action = at_failures(2)
    decision = drive(task_action, Script(handle=running(now=T1), now=T1))
    assert decision == Decision(task_action, (), AFTER_RD)


def test_counter_reset_d6_on_in_place_restart() -> None:
    """D6: a new attempt (R40 restart) starts with a fresh system-failure budget."""
    task_action = at_failures(2, retries=1)
    decision = drive(task_action, Script(handle=retryable(), now=T1))
    assert decision.task_action.status.system_failures == 0
    assert decision.task_action.status.attempts == 2


def fail_relaunch_cycle(policy: Policy, cycles: int) -> TaskAction:
    """fail (Handle error) → relaunch → Running → fail …, the #8066 livelock."""
    task_action = a_task(status=RUNNING_AT_T0)
    for _ in range(cycles):
        task_action = drive(task_action, Script(handle=handle_failed(ERR), now=T1), policy).task_action
        if task_action.status.plugin_phase == "PhasePermanentFailure":
            return task_action
        task_action = drive(task_action, Script(handle=running(now=T1), now=T1), policy).task_action
    return task_action


def test_livelock_go_R39_fail_relaunch_cycle_never_ends() -> None:
    """R39/#8066 (D6 off): the counter never passes 1, so the cycle never becomes terminal."""
    task_action = fail_relaunch_cycle(without(Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES), cycles=20)
    assert task_action.status.plugin_phase == "PhaseRunning"
    assert task_action.status.system_failures == 0


def test_livelock_fixed_d6_fail_relaunch_cycle_reaches_permanent_failure() -> None:
    """D6: the 4th failure of the attempt is terminal, Running passes in between notwithstanding."""
    task_action = fail_relaunch_cycle(DEFAULT, cycles=20)
    assert task_action.status.plugin_phase == "PhasePermanentFailure"
    assert task_action.status.system_failures == 4
    assert task_action.status.error_state == ErrorState("MaxSystemFailuresExceeded", "SYSTEM", ceiling_message(4))


def test_counter_reset_go_R39_on_waiting_for_cache_from_plugin() -> None:
    """R39: any non-failing report resets in Go, whatever the phase."""
    info = phase_info_waiting_for_cache(T1, 0, None)
    decision = drive(at_failures(3), Script(handle=handled(info), now=T1), GO)
    assert decision.task_action.status.system_failures == 0


# --- D5 endless failures are counted ---------------------------------------------------------------------------------


def endless_effects(text: str) -> tuple[FinalEffect, ...]:
    return (
        Log(LogLevel.ERROR, f"plugin system error: {text}"),
        RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {text}'),
    )


def test_endless_failure_d5_template_without_id_counts_to_permanent_failure() -> None:
    """D5 (Q6): ``discoverable task is missing identifier`` is a system failure; the 4th is terminal, D3 aborts."""
    task_action = at_failures(3, cacheable=True, with_id=False)
    decision = drive(task_action, Script(now=T1))
    text = "discoverable task is missing identifier"
    message = ceiling_message(4, text)
    status = permanent_status(RUNNING_AT_T0, "MaxSystemFailuresExceeded", "SYSTEM", message, system_failures=4)
    abort = AbortPlugin("test-plugin", context_of(task_action), Ignore("abort at permanent failure failed"))
    failed = event(ActionPhase.FAILED, updated=T1, reported=T1, error=(message, ErrorKind.SYSTEM))
    assert decision.effects == (*endless_effects(text), abort, recorded(failed), persisted(status), terminal_labels(T1))
    assert decision.result == Done()


def test_endless_failure_go_template_without_id_loops() -> None:
    """Q6 (D5 off): Log and AFTER(rd), nothing else, forever."""
    task_action = at_failures(3, cacheable=True, with_id=False)
    decision = drive(task_action, Script(now=T1), GO)
    assert decision == Decision(
        task_action, (Log(LogLevel.ERROR, "discoverable task is missing identifier"),), AFTER_RD
    )


def test_context_error_at_ceiling_d3_d5_releases_but_cannot_abort() -> None:
    """D3 + D5: with no buildable context there is nothing to Abort with; a serializable reservation is released."""
    task_action = at_failures(3, cacheable=True, serializable=True, run_output_base=":foo")
    decision = drive(task_action, Script(now=T1))
    assert not any(isinstance(effect, AbortPlugin) for effect in decision.effects)
    assert decision.effects[2] == ReleaseReservation(
        cache_key(task_action), OWNER, Ignore("releasing the cache reservation failed")
    )
    assert decision.task_action.status.plugin_phase == "PhasePermanentFailure"
