"""Cache handling around plugin execution (R49–R56) with D5, D7, D8, D9, as a rule table; exit paths X14 and X18.

The round protocol (design.md §4) is asserted question by question: what is asked, in which order, and what the
pass decides once every answer is in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.context import TaskExecutionId
from taskaction_core.decision import Decision
from taskaction_core.effects import (
    AbortPlugin,
    AcquireReservation,
    CacheMetadata,
    FinalEffect,
    Ignore,
    InvokePlugin,
    Log,
    LogLevel,
    LookupCache,
    PatchLabels,
    PersistStatus,
    PutCache,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    WriteCachedOutputs,
)
from taskaction_core.observations import CatalogErrorKind
from taskaction_core.phase_info import (
    ExternalResource,
    PhaseInfo,
    ReasonInfo,
    TaskInfo,
    phase_info_aborted,
    phase_info_failure,
    phase_info_running,
    phase_info_success,
)
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.cache import (
    CacheConfig,
    PostExecution,
    PreExecution,
    build_task_cache_config,
    cache_reservation_owner_id,
    cache_task_info,
    finalize_cache_after_execution,
)
from taskaction_core.records import (
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.testing.builders import T0, handled, observations_at, retryable, running, succeeded
from tests.core.task_helpers import (
    AFTER_RD,
    CACHED_OUTPUTS,
    DEFAULT,
    GO,
    OTHER_OWNER,
    OWNER,
    PUT_OK,
    RD,
    T1,
    TEMPLATE_ID,
    WRITE_OK,
    Script,
    a_task,
    cache_key,
    cond,
    context_of,
    drive,
    drive_with_questions,
    event,
    hist,
    hit,
    lookup_error,
    not_found,
    output_prefix,
    outputs_at,
    persisted,
    progressing,
    put_failed,
    question_of,
    recorded,
    reservation_error,
    reserved_by,
    state_json,
    terminal_labels,
    without,
    write_failed,
)

LABELS = pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-00"})
RELEASE_WHY = Ignore("releasing the cache reservation failed")


def cacheable(**options: object) -> TaskAction:
    return a_task(cacheable=True, **options)


def serializable(**options: object) -> TaskAction:
    return a_task(cacheable=True, serializable=True, **options)


def release(task_action: TaskAction) -> ReleaseReservation:
    """R56: release under our own owner id; errors only logged."""
    return ReleaseReservation(cache_key(task_action), OWNER, RELEASE_WHY)


def put_question(task_action: TaskAction, attempt: int = 1) -> PutCache:
    """R55: Put of ``<prefix>/outputs.pb`` with the template id as the task id and now as creation time."""
    execution = TaskExecutionId("p", "d", "run1", "a0", max(attempt - 1, 0), TEMPLATE_ID)
    return PutCache(cache_key(task_action), outputs_at(attempt), CacheMetadata(execution, T0))


def with_labels(task_action: TaskAction) -> TaskAction:
    return replace(task_action, metadata=replace(task_action.metadata, labels=LABELS))


def success_status(cache_status: CacheStatus) -> TaskActionStatus:
    return TaskActionStatus(
        state_json=state_json("PhaseSuccess"),
        plugin_phase="PhaseSuccess",
        attempts=1,
        cache_status=int(cache_status),
        conditions=pvector(
            [
                progressing("Completed", "TaskAction has completed", status="False"),
                cond("Succeeded", "True", "Completed", "TaskAction completed successfully"),
            ]
        ),
        phase_history=pvector([hist("Completed", "TaskAction completed successfully")]),
    )


# --- R49 configuration, R50 owner ---------------------------------------------------------------------------------


def config_of(task_action: TaskAction) -> CacheConfig:
    config = build_task_cache_config(task_action).unwrap()
    assert config is not None
    return config


def test_config_R49_key_and_owner_for_a_serializable_template() -> None:
    """R49/R50: key (template id, spec.cacheKey as version, ignored inputs, interface, input path), owner, flag."""
    task_action = serializable(ignore_inputs=("x",))
    config = build_task_cache_config(task_action)
    assert config == Success(CacheConfig(cache_key(task_action), OWNER, True))
    assert config_of(task_action).key.cache_ignore_input_vars == ("x",)


def test_config_R49_Q24_empty_cache_key_is_an_empty_version() -> None:
    """Q24: spec.cacheKey is only the version and may be empty; discovery_version is ignored."""
    assert config_of(cacheable(cache_key="")).key.cache_version == ""


@pytest.mark.parametrize("template", [{}, {"with_metadata": False}], ids=["not-discoverable", "no-metadata"])
def test_config_R49_caching_off_asks_no_catalog_question(template: dict[str, object]) -> None:
    """R49/R52 step 1: not discoverable or no metadata → no catalog question, Handle directly, no Put."""
    task_action = a_task(**template)
    questions, _ = drive_with_questions(task_action, Script(handle=succeeded()))
    assert questions == [InvokePlugin("test-plugin", context_of(task_action))]


def test_config_R52_catalog_disabled_skips_lookup_and_put() -> None:
    """R52 step 1: no catalog client configured → normal execution, Success without Put (cacheStatus DISABLED)."""
    task_action = serializable()
    questions, decision = drive_with_questions(task_action, Script(handle=succeeded()), Policy(catalog_enabled=False))
    assert questions == [InvokePlugin("test-plugin", context_of(task_action))]
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_DISABLED


def test_owner_id_R50_keeps_the_separator_with_an_empty_namespace() -> None:
    """R50: ``<namespace>/<name>``, ``/name`` when the namespace is empty."""
    assert cache_reservation_owner_id(a_task()) == "default/ta"
    assert cache_reservation_owner_id(a_task(namespace="")) == "/ta"
    assert config_of(cacheable(namespace="")).owner_id == "/ta"


# --- round protocol ----------------------------------------------------------------------------------------------


def test_rounds_cacheable_miss_R52_R55_lookup_handle_put() -> None:
    """R52/R36/R55: LookupCache(key) → NotFound → InvokePlugin → Success → PutCache → decision."""
    task_action = cacheable()
    questions, _ = drive_with_questions(task_action, Script(lookup=not_found(), handle=succeeded(), put=PUT_OK))
    assert questions == [
        LookupCache(cache_key(task_action)),
        InvokePlugin("test-plugin", context_of(task_action)),
        put_question(task_action),
    ]


def test_rounds_serializable_miss_R52_R51_lookup_reserve_handle_put() -> None:
    """R52 step 3/R51: the reservation comes after the lookup, with our owner id and heartbeat = rd."""
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=succeeded(), put=PUT_OK)
    questions, _ = drive_with_questions(task_action, script)
    assert questions == [
        LookupCache(cache_key(task_action)),
        AcquireReservation(cache_key(task_action), OWNER, RD),
        InvokePlugin("test-plugin", context_of(task_action)),
        put_question(task_action),
    ]


def test_rounds_R51_heartbeat_follows_the_requeue_duration() -> None:
    policy = Policy(requeue_after=timedelta(seconds=25))
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=running())
    questions, _ = drive_with_questions(task_action, script, policy)
    assert questions[1] == AcquireReservation(cache_key(task_action), OWNER, timedelta(seconds=25))


def test_rounds_hit_R52_lookup_then_write_only() -> None:
    """R52 step 2: a hit asks to write the outputs to ``<prefix>/outputs.pb``; no plugin, reservation or Put."""
    task_action = serializable()
    questions, _ = drive_with_questions(task_action, Script(lookup=hit(), write=WRITE_OK))
    assert questions == [LookupCache(cache_key(task_action)), WriteCachedOutputs(outputs_at(1), CACHED_OUTPUTS)]


def test_rounds_running_not_serializable_R34_asks_only_the_plugin() -> None:
    """R34: alreadyRunning skips the lookup; not serializable → no reservation: one question."""
    task_action = cacheable(status=TaskActionStatus(plugin_phase="PhaseRunning", attempts=1))
    questions, _ = drive_with_questions(task_action, Script(handle=running()), GO)
    assert questions == [InvokePlugin("test-plugin", context_of(task_action))]


def test_rounds_are_bounded_and_each_question_is_asked_once() -> None:
    """design.md §4: every script of answers reaches a decision within the bound, never asking a question twice."""
    handles = [running(), succeeded(), retryable(), retryable("E", "m", ErrorKind.SYSTEM)]
    lookups = [not_found(), lookup_error(), hit()]
    reservations = [reserved_by(OWNER), reserved_by(OTHER_OWNER), reservation_error()]
    for policy in (DEFAULT, GO):
        for lookup in lookups:
            for reservation in reservations:
                for handle in handles:
                    script = Script(lookup=lookup, write=WRITE_OK, reservation=reservation, handle=handle, put=PUT_OK)
                    questions, _ = drive_with_questions(serializable(retries=1), script, policy)
                    kinds = [type(question) for question in questions]
                    assert len(kinds) == len(set(kinds)) <= 4


# --- R52 step 2: lookup ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [cacheable, serializable], ids=["cacheable", "serializable"])
def test_hit_R52_R53_short_circuits_to_success_with_cache_task_info(factory: object) -> None:
    """R52/R53: hit → outputs written → Success with cacheTaskInfo(HIT, ``cache hit``): cacheStatus HIT, event
    SUCCEEDED with cache HIT and the ``cache hit`` cluster event; no Put (R54 step 2); labels; AFTER(rd).
    With D7 a serializable task also releases the reservation an earlier pass may have taken (a no-op otherwise,
    R96; found by the world machine); Go releases nothing here."""
    assert callable(factory)
    task_action = factory()
    decision = drive(task_action, Script(lookup=hit(), write=WRITE_OK))
    status = success_status(CacheStatus.CACHE_HIT)
    succeeded_event = event(
        ActionPhase.SUCCEEDED, cache_status=CacheStatus.CACHE_HIT, cluster_events=(("cache hit", T0),)
    )
    released: tuple[FinalEffect, ...] = ()
    if factory is serializable:
        released = (
            ReleaseReservation(cache_key(task_action), OWNER, Ignore("releasing the cache reservation failed")),
        )
    assert decision == Decision(
        with_labels(replace(task_action, status=status)),
        (*released, recorded(succeeded_event), persisted(status), terminal_labels()),
        AFTER_RD,
    )


def test_hit_R54_go_mode_releases_nothing_after_a_short_circuit() -> None:
    """R54 step 2 in Go: a hit skips post-processing entirely, so a reservation taken earlier is leaked (D7 off)."""
    decision = drive(
        serializable(), Script(lookup=hit(), write=WRITE_OK), without(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE)
    )
    assert not any(isinstance(effect, ReleaseReservation) for effect in decision.effects)


def test_cache_task_info_R53_shape() -> None:
    """R53: one ``cache`` external resource and one additional reason, both at now."""
    assert cache_task_info(CacheStatus.CACHE_MISS, "why", T1) == TaskInfo(
        occurred_at=T1,
        external_resources=pvector([ExternalResource("cache", CacheStatus.CACHE_MISS)]),
        additional_reasons=pvector([ReasonInfo("why", T1)]),
    )


def test_hit_write_failure_go_R52_X14_logs_and_requeues() -> None:
    """R52/X14 (D5 off): ``persisting cached outputs: <err>``, logged, AFTER(rd), no status."""
    task_action = cacheable()
    decision = drive(task_action, Script(lookup=hit(), write=write_failed("disk full")), GO)
    assert decision == Decision(task_action, (Log(LogLevel.ERROR, "persisting cached outputs: disk full"),), AFTER_RD)


def test_hit_write_failure_d5_R52_counts_as_system_failure() -> None:
    """D5: the same text is a system failure (Log, Warning, durable counter write)."""
    task_action = cacheable()
    decision = drive(task_action, Script(lookup=hit(), write=write_failed("disk full")))
    text = "persisting cached outputs: disk full"
    status = replace(task_action.status, system_failures=1)
    assert decision.effects == (
        Log(LogLevel.ERROR, f"plugin system error: {text}"),
        RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {text}'),
        persisted(status),
    )


def test_not_found_R52_cacheable_runs_the_plugin_and_logs_nothing() -> None:
    """R52 step 2/4: NotFound, not serializable → Handle; the decision has only the normal effects."""
    decision = drive(cacheable(), Script(lookup=not_found(), handle=running()))
    assert [type(effect) for effect in decision.effects] == [RecordActionEvent, PersistStatus]


LOOKUP_LOG = Log(LogLevel.WARNING, "cache lookup failed, continuing with task execution: catalog unavailable")


def test_lookup_error_go_R52_Q9_skips_the_reservation() -> None:
    """R52/Q9 (D8 off): log, then Handle without a reservation; post-processing still Puts and releases."""
    task_action = serializable()
    script = Script(lookup=lookup_error(), handle=succeeded(), put=PUT_OK)
    questions, decision = drive_with_questions(
        task_action, script, without(Deviation.D8_LOOKUP_ERROR_KEEPS_SERIALIZATION)
    )
    assert questions == [
        LookupCache(cache_key(task_action)),
        InvokePlugin("test-plugin", context_of(task_action)),
        put_question(task_action),
    ]
    assert decision.effects[:2] == (LOOKUP_LOG, release(task_action))


def test_lookup_error_d8_R52_still_reserves() -> None:
    """D8: a lookup error does not bypass serialization; the log is kept and the reservation step runs."""
    task_action = serializable()
    script = Script(lookup=lookup_error(), reservation=reserved_by(OTHER_OWNER))
    questions, decision = drive_with_questions(task_action, script)
    assert questions == [LookupCache(cache_key(task_action)), AcquireReservation(cache_key(task_action), OWNER, RD)]
    assert decision.effects[0] == LOOKUP_LOG
    assert decision.task_action.status.plugin_phase == "PhaseWaitingForCache"


def test_lookup_error_R52_not_serializable_runs_the_plugin_with_the_log() -> None:
    """R52: not serializable → no reservation either way; the log leads the effects."""
    decision = drive(cacheable(), Script(lookup=lookup_error(), handle=running()))
    assert decision.effects[0] == LOOKUP_LOG
    assert [type(effect) for effect in decision.effects[1:]] == [RecordActionEvent, PersistStatus]


# --- R52 step 3: reservation ---------------------------------------------------------------------------------------


def test_reservation_error_go_R52_X14_logs_and_requeues() -> None:
    """R52/X14 (D5 off): ``acquiring cache reservation: <err>``, logged, AFTER(rd), no plugin call."""
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reservation_error("deadline exceeded"))
    questions, decision = drive_with_questions(task_action, script, GO)
    assert len(questions) == 2
    assert decision == Decision(
        task_action, (Log(LogLevel.ERROR, "acquiring cache reservation: deadline exceeded"),), AFTER_RD
    )


def test_reservation_error_d5_R52_keeps_earlier_log_then_counts() -> None:
    """D5 + D8: the lookup log comes first, then the system-failure accounting of the reservation error."""
    task_action = serializable()
    decision = drive(task_action, Script(lookup=lookup_error(), reservation=reservation_error("deadline exceeded")))
    text = "acquiring cache reservation: deadline exceeded"
    assert decision.effects == (
        LOOKUP_LOG,
        Log(LogLevel.ERROR, f"plugin system error: {text}"),
        RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {text}'),
        persisted(replace(task_action.status, system_failures=1)),
    )


def test_reservation_owned_R52_runs_the_plugin() -> None:
    """R52 step 3: owner == us → Handle."""
    decision = drive(serializable(), Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=running()))
    assert decision.task_action.status.plugin_phase == "PhaseRunning"


def waiting_status(owner_quoted: str, version: int) -> TaskActionStatus:
    reason = f"waiting for cache to be populated by reservation owner {owner_quoted}"
    return TaskActionStatus(
        state_json=state_json("PhaseWaitingForCache"),
        plugin_phase="PhaseWaitingForCache",
        plugin_phase_version=version,
        attempts=1,
        cache_status=int(CacheStatus.CACHE_MISS),
        conditions=pvector([progressing("Queued", reason)]),
        phase_history=pvector([hist("Queued", reason)]),
    )


def test_reservation_other_owner_R52_waits_for_cache_with_persisted_version() -> None:
    """R52 step 3/R53: WaitingForCache, version = persisted pluginPhaseVersion, owner Go-quoted, cacheStatus MISS;
    event WAITING_FOR_RESOURCES with the reason then the additional reason; no release (short-circuited)."""
    task_action = serializable(status=TaskActionStatus(plugin_phase="PhaseNotReady", plugin_phase_version=3))
    decision = drive(task_action, Script(lookup=not_found(), reservation=reserved_by('ns/we"ird')))
    reason = 'waiting for cache to be populated by reservation owner "ns/we\\"ird"'
    status = waiting_status('"ns/we\\"ird"', 3)
    waiting = event(
        ActionPhase.WAITING_FOR_RESOURCES,
        version=3,
        cache_status=CacheStatus.CACHE_MISS,
        cluster_events=((reason, T0), ("waiting for serialized cache owner", T0)),
    )
    assert decision == Decision(replace(task_action, status=status), (recorded(waiting), persisted(status)), AFTER_RD)


def test_reservation_other_owner_R52_again_is_a_fixpoint() -> None:
    """R46 + R52: still waiting on the next pass → nothing written."""
    task_action = serializable()
    first = drive(task_action, Script(lookup=not_found(), reservation=reserved_by(OTHER_OWNER)))
    second = drive(first.task_action, Script(lookup=not_found(), reservation=reserved_by(OTHER_OWNER), now=T1))
    assert second == Decision(first.task_action, (), AFTER_RD)


def test_waiting_then_hit_R52_completes_from_the_cache() -> None:
    """R52: WaitingForCache is not a live phase, so the next pass looks up again and a hit completes it."""
    first = drive(serializable(), Script(lookup=not_found(), reservation=reserved_by(OTHER_OWNER)))
    second = drive(first.task_action, Script(lookup=hit(), write=WRITE_OK, now=T1))
    assert second.task_action.status.plugin_phase == "PhaseSuccess"
    assert second.task_action.status.cache_status == CacheStatus.CACHE_HIT


# --- R34 alreadyRunning and D7 ------------------------------------------------------------------------------------

LIVE = ["PhaseWaitingForResources", "PhaseQueued", "PhaseInitializing", "PhaseRunning"]


def test_already_running_go_R34_skips_lookup_and_Q8_flips_to_waiting() -> None:
    """R34/R52/Q8 (D7 off): persisted Running → no Get; another owner → WaitingForCache while the pod runs."""
    status = TaskActionStatus(plugin_phase="PhaseRunning", plugin_phase_version=2, attempts=1)
    task_action = serializable(status=status)
    questions, decision = drive_with_questions(task_action, Script(reservation=reserved_by(OTHER_OWNER)), GO)
    assert questions == [AcquireReservation(cache_key(task_action), OWNER, RD)]
    assert decision.task_action.status.plugin_phase == "PhaseWaitingForCache"
    assert decision.task_action.status.plugin_phase_version == 2


@pytest.mark.parametrize("phase", ["PhaseQueued", "PhaseInitializing", "PhaseWaitingForResources"])
def test_live_phase_go_Q8_still_looks_up_and_a_hit_completes_without_abort(phase: str) -> None:
    """Q8 (D7 off): only Running skips the Get; a hit in Queued/Initializing completes without aborting."""
    task_action = cacheable(status=TaskActionStatus(plugin_phase=phase, attempts=1))
    questions, decision = drive_with_questions(task_action, Script(lookup=hit(), write=WRITE_OK), GO)
    assert [type(question) for question in questions] == [LookupCache, WriteCachedOutputs]
    assert decision.task_action.status.plugin_phase == "PhaseSuccess"
    assert not any(isinstance(effect, AbortPlugin) for effect in decision.effects)


@pytest.mark.parametrize("phase", LIVE)
def test_live_phase_d7_skips_lookup(phase: str) -> None:
    """D7: every phase in which the resource may exist skips the Get, so a hit cannot complete over it."""
    task_action = cacheable(status=TaskActionStatus(plugin_phase=phase, attempts=1))
    questions, _ = drive_with_questions(task_action, Script(handle=running()))
    assert questions == [InvokePlugin("test-plugin", context_of(task_action))]


@pytest.mark.parametrize("phase", LIVE)
def test_live_phase_d7_other_owner_does_not_flip_to_waiting(phase: str) -> None:
    """D7: a lapsed reservation held by another owner while our resource is live → warn and keep observing."""
    task_action = serializable(status=TaskActionStatus(plugin_phase=phase, attempts=1))
    script = Script(reservation=reserved_by(OTHER_OWNER), handle=running())
    questions, decision = drive_with_questions(task_action, script)
    assert [type(question) for question in questions] == [AcquireReservation, InvokePlugin]
    note = f'reservation held by "{OTHER_OWNER}" while our resource is live; observing it instead of waiting'
    assert decision.effects[0] == Log(LogLevel.WARNING, note)
    assert decision.task_action.status.plugin_phase == "PhaseRunning"


@pytest.mark.parametrize("phase", ["", "PhaseNotReady", "PhaseWaitingForCache"])
def test_not_live_phase_d7_looks_up(phase: str) -> None:
    """D7: phases without a resource still consult the cache first."""
    task_action = cacheable(status=TaskActionStatus(plugin_phase=phase))
    questions, _ = drive_with_questions(task_action, Script(lookup=not_found(), handle=running()))
    assert type(questions[0]) is LookupCache


# --- R54/R55 post-execution ---------------------------------------------------------------------------------------


def test_success_R54_R55_puts_and_records_populated() -> None:
    """R54 step 3/R55: Success → Put → POPULATED appended to the TaskInfo: status and event cacheStatus POPULATED."""
    task_action = cacheable()
    decision = drive(task_action, Script(lookup=not_found(), handle=succeeded(), put=PUT_OK))
    status = success_status(CacheStatus.CACHE_POPULATED)
    assert decision == Decision(
        with_labels(replace(task_action, status=status)),
        (
            recorded(event(ActionPhase.SUCCEEDED, cache_status=CacheStatus.CACHE_POPULATED)),
            persisted(status),
            terminal_labels(),
        ),
        AFTER_RD,
    )


def test_success_serializable_R54_R56_releases_before_the_event() -> None:
    """R54/R56: the release follows the Put and precedes event, status and labels."""
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=succeeded(), put=PUT_OK)
    decision = drive(task_action, script)
    status = success_status(CacheStatus.CACHE_POPULATED)
    assert decision.effects == (
        release(task_action),
        recorded(event(ActionPhase.SUCCEEDED, cache_status=CacheStatus.CACHE_POPULATED)),
        persisted(status),
        terminal_labels(),
    )


def test_put_already_exists_d9_R54_is_populated_without_log() -> None:
    """D9: AlreadyExists is an explicit outcome and means POPULATED."""
    script = Script(lookup=not_found(), handle=succeeded(), put=put_failed(CatalogErrorKind.ALREADY_EXISTS, "exists"))
    decision = drive(cacheable(), script)
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_POPULATED
    assert [type(effect) for effect in decision.effects] == [RecordActionEvent, PersistStatus, PatchLabels]


def test_put_already_exists_go_R54_Q10_is_a_put_failure() -> None:
    """Q10 (D9 off): production Go never recognises AlreadyExists: log and PUT_FAILURE."""
    script = Script(lookup=not_found(), handle=succeeded(), put=put_failed(CatalogErrorKind.ALREADY_EXISTS, "exists"))
    decision = drive(cacheable(), script, without(Deviation.D9_EXPLICIT_CATALOG_OUTCOMES))
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_PUT_FAILURE
    assert decision.effects[0] == Log(LogLevel.ERROR, "failed to write task outputs to cache: exists")


@pytest.mark.parametrize("policy", [DEFAULT, GO], ids=["default", "go"])
def test_put_error_R54_is_a_put_failure_and_logged(policy: Policy) -> None:
    """R54 step 3: any other Put error → log, PUT_FAILURE in status and event; the task still succeeds."""
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=succeeded(), put=put_failed())
    decision = drive(task_action, script, policy)
    status = success_status(CacheStatus.CACHE_PUT_FAILURE)
    assert decision.effects == (
        Log(LogLevel.ERROR, "failed to write task outputs to cache: put rejected"),
        release(task_action),
        recorded(event(ActionPhase.SUCCEEDED, cache_status=CacheStatus.CACHE_PUT_FAILURE)),
        persisted(status),
        terminal_labels(),
    )


def test_put_R54_Q24_earlier_cache_status_in_task_info_wins() -> None:
    """Q24/R73: the plugin's own non-DISABLED cache status precedes the appended POPULATED entry."""
    resources = pvector([ExternalResource("pod", CacheStatus.CACHE_SKIPPED)])
    info = phase_info_success(T0, TaskInfo(occurred_at=T0, external_resources=resources))
    decision = drive(cacheable(), Script(lookup=not_found(), handle=handled(info), put=PUT_OK))
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_SKIPPED
    effect = decision.effects[0]
    assert isinstance(effect, RecordActionEvent)
    assert effect.event.cache_status == CacheStatus.CACHE_SKIPPED


def test_put_R54_without_task_info_appends_nothing() -> None:
    """R54 step 3: no TaskInfo (a zero-value PhaseInfo) → nothing to append: cacheStatus DISABLED."""
    info = PhaseInfo(PluginPhase.SUCCESS)
    decision = drive(cacheable(), Script(lookup=not_found(), handle=handled(info), put=PUT_OK))
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_DISABLED


@pytest.mark.parametrize(
    "info",
    [phase_info_failure(T0, "OOM", "oom", None), phase_info_aborted(T0, 0, "killed")],
    ids=["permanent-failure", "aborted"],
)
def test_failure_or_abort_serializable_R54_step4_releases(info: PhaseInfo) -> None:
    """R54 step 4: a permanent failure or abort of a serializable task releases, before event/status/labels."""
    task_action = serializable()
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=handled(info))
    questions, decision = drive_with_questions(task_action, script)
    assert not any(isinstance(question, PutCache) for question in questions)
    assert decision.effects[0] == release(task_action)
    assert [type(effect) for effect in decision.effects[1:]] == [RecordActionEvent, PersistStatus, PatchLabels]


def test_user_retryable_serializable_R54_R40_releases_then_restarts() -> None:
    """R54 step 4 then R40: Release, restart log, Abort, (D2) FAILED, QUEUED, status."""
    task_action = serializable(retries=1)
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=retryable())
    decision = drive(task_action, script)
    names = [type(effect).__name__ for effect in decision.effects]
    assert names == [
        "ReleaseReservation",
        "Log",
        "AbortPlugin",
        "RecordActionEvent",
        "RecordActionEvent",
        "PersistStatus",
    ]


def test_running_serializable_R54_keeps_the_reservation() -> None:
    """R54 step 5: a non-terminal phase neither Puts nor releases."""
    script = Script(lookup=not_found(), reservation=reserved_by(OWNER), handle=running())
    decision = drive(serializable(), script)
    assert not any(isinstance(effect, ReleaseReservation) for effect in decision.effects)


def test_failure_not_serializable_R56_releases_nothing() -> None:
    """R56: release only for serializable configs."""
    decision = drive(cacheable(), Script(lookup=not_found(), handle=handled(phase_info_failure(T0, "E", "m", None))))
    assert not any(isinstance(effect, ReleaseReservation) for effect in decision.effects)


def test_put_R54_repeats_until_success_is_persisted() -> None:
    """R54: Put runs on every pass that sees plugin Success until the status records it (here: same object)."""
    task_action = cacheable()
    for _ in range(2):
        questions, _ = drive_with_questions(task_action, Script(lookup=not_found(), handle=succeeded(), put=PUT_OK))
        assert questions[-1] == put_question(task_action)


def test_put_R55_uses_the_current_attempt_prefix_and_retry() -> None:
    """R55: attempt 2 puts ``.../2/outputs.pb`` with retry attempt 1 in the execution id."""
    status = TaskActionStatus(plugin_phase="PhaseQueued", attempts=2)
    task_action = cacheable(status=status)
    questions, _ = drive_with_questions(task_action, Script(handle=succeeded(), put=PUT_OK))
    assert questions[-1] == put_question(task_action, attempt=2)


# --- X14 / X18 errors of the cache steps ---------------------------------------------------------------------------


def test_unparsable_template_go_R49_X14_loops_even_without_catalog() -> None:
    """R49/R52 step 1/Q6/X14 (D5 off): unparsable template bytes → log, AFTER(rd), even with no catalog."""
    task_action = replace(a_task(), spec=replace(a_task().spec, task_template=b"\xff\xff"))
    message = "Error parsing message with type 'flyteidl2.core.TaskTemplate': Wire format was corrupt"
    for policy in (GO, Policy(catalog_enabled=False, deviations=GO.deviations)):
        decision = drive(task_action, Script(), policy)
        assert decision == Decision(task_action, (Log(LogLevel.ERROR, message),), AFTER_RD)


def test_unparsable_template_d5_R49_counts() -> None:
    """D5: the same error is a system failure."""
    task_action = replace(a_task(), spec=replace(a_task().spec, task_template=b"\xff\xff"))
    decision = drive(task_action, Script())
    assert decision.task_action.status.system_failures == 1
    assert isinstance(decision.effects[-1], PersistStatus)


def test_post_processing_error_R54_step1_X18_unit() -> None:
    """R54 step 1/X18: a config error is returned as the post-processing error (unit: in a pass the same config error
    already stops pre-evaluation, R52 step 1, so reconcile never reaches this exit)."""
    info = phase_info_running(T0, 0, None)
    outcome = finalize_cache_after_execution(
        a_task(), Failure("bad template"), info, False, observations_at(T0), DEFAULT, "s3://x"
    )
    assert outcome == PostExecution(info, error="bad template")


def test_pre_execution_R35_short_circuited_iff_it_carries_a_phase() -> None:
    """R35: a pre-evaluation outcome short-circuits exactly when it carries the PhaseInfo to use instead of Handle."""
    assert not PreExecution().short_circuited
    assert not PreExecution(error="x").short_circuited
    assert PreExecution(info=phase_info_success(T0, None)).short_circuited


def test_rounds_each_answer_gives_the_next_question_R52_R36_R55() -> None:
    """design.md §4, round by round for a serializable miss: each recorded outcome yields exactly the next question."""
    task_action = serializable()
    key = cache_key(task_action)
    observations = observations_at(T0)
    assert question_of(task_action, observations) == LookupCache(key)
    observations = replace(observations, cache_lookup=not_found())
    assert question_of(task_action, observations) == AcquireReservation(key, OWNER, RD)
    observations = replace(observations, reservation=reserved_by(OWNER))
    assert question_of(task_action, observations) == InvokePlugin("test-plugin", context_of(task_action))
    observations = replace(observations, handle=succeeded())
    assert question_of(task_action, observations) == put_question(task_action)
    observations = replace(observations, cache_put=PUT_OK)
    assert isinstance(reconcile(task_action, observations, DEFAULT), Decision)


def test_finalize_cache_after_execution_R54_public_answers_for_each_outcome() -> None:
    """R54 through the public function (the pass uses ``post_execution``, which answers None for "as it is"): a live
    phase keeps its PhaseInfo with no effects, a success without a put asks for the put of this attempt's outputs
    under the action's metadata, and a short-circuited success on a serializable cache only releases (D7)."""
    running_info, success_info = phase_info_running(T0, 0, None), phase_info_success(T0, None)
    task_action = serializable()
    config = build_task_cache_config(task_action)
    prefix = output_prefix()

    def finalize(info: PhaseInfo, short_circuited: bool) -> PostExecution | PutCache:
        return finalize_cache_after_execution(
            task_action, config, info, short_circuited, observations_at(T0), DEFAULT, prefix
        )

    spec = task_action.spec
    execution = TaskExecutionId(spec.project, spec.domain, spec.run_name, spec.action_name, 0, TEMPLATE_ID)
    assert finalize(running_info, False) == PostExecution(running_info)
    assert finalize(success_info, False) == PutCache(cache_key(task_action), outputs_at(), CacheMetadata(execution, T0))
    assert finalize(success_info, True) == PostExecution(success_info, (release(task_action),))
