"""Cache handling around plugin execution (R49–R56).

A note kept from the Go controller, because it explains the heartbeat: the reservation is only extended when the
action is reconciled, so its heartbeat is the requeue duration, and the cache service expires a reservation after
three missed heartbeats. Raising the requeue duration above the service's maximum heartbeat × 3 lets ownership lapse
between reconciles (R51).

Go: ``executor/pkg/controller/taskaction_cache.go``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

from pyrsistent import pvector
from returns.result import Failure, Result, Success

from taskaction_core.effects import (
    AcquireReservation,
    CacheKey,
    CacheMetadata,
    FinalEffect,
    Ignore,
    Log,
    LogLevel,
    LookupCache,
    PutCache,
    ReleaseReservation,
    WriteCachedOutputs,
)
from taskaction_core.fastinit import constructor, fast_init
from taskaction_core.gofmt import go_quote
from taskaction_core.idl import decode_task_template
from taskaction_core.observations import CatalogErrorKind, Observations
from taskaction_core.output_path import input_path, input_prefix, outputs_uri
from taskaction_core.phase_info import ExternalResource, PhaseInfo, ReasonInfo, TaskInfo, phase_info_success
from taskaction_core.phases import CacheStatus, PluginPhase, is_success
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.context import task_execution_id
from taskaction_core.records import TaskAction
from taskaction_core.template import TaskTemplate

MSG_MISSING_IDENTIFIER = "discoverable task is missing identifier"
CACHE_RESOURCE_ID = "cache"


@fast_init
@dataclass(frozen=True, slots=True)
class CacheConfig:
    """R49: the catalog key, the reservation owner and whether executions are serialized."""

    key: CacheKey
    owner_id: str
    serializable: bool


def cache_reservation_owner_id(task_action: TaskAction) -> str:
    """R50: ``<namespace>/<name>``; the separator is present even for an empty namespace."""
    return _owner_id(task_action.metadata.namespace, task_action.metadata.name)


def _owner_id(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def build_task_cache_config(task_action: TaskAction) -> Result[CacheConfig | None, str]:
    """R49: the cache configuration, None when caching is off, or the reason it cannot be built.

    Caching is enabled by ``metadata.discoverable`` alone; ``spec.cacheKey`` is only the key's version (Q24).
    Memoized on the fields it reads, since every round of every pass needs it.
    Go: ``buildTaskCacheConfig``.
    """
    meta, spec = task_action.metadata, task_action.spec
    return cache_config(spec.task_template, spec.cache_key, spec.input_uri, meta.namespace, meta.name)


@lru_cache(maxsize=4096)
def cache_config(
    template_bytes: bytes, cache_key: str, input_uri: str, namespace: str, name: str
) -> Result[CacheConfig | None, str]:
    """:func:`build_task_cache_config` on the fields it reads (memoized)."""
    decoded = decode_task_template(template_bytes)
    if isinstance(decoded, Failure):
        return Failure(decoded.failure().message)
    template: TaskTemplate = decoded.unwrap()
    metadata = template.metadata
    if metadata is None or not metadata.discoverable:
        return Success(None)
    if template.id is None:
        return Failure(MSG_MISSING_IDENTIFIER)
    key = CacheKey(
        identifier=template.id,
        cache_version=cache_key,
        cache_ignore_input_vars=tuple(metadata.cache_ignore_input_vars),
        interface=template.interface,
        input_path=input_path(input_prefix(input_uri)),
    )
    return Success(CacheConfig(key, _owner_id(namespace, name), metadata.cache_serializable))


def cache_task_info(status: CacheStatus, reason: str, now: datetime) -> TaskInfo:
    """R53: one ``cache`` external resource and one additional reason, both at ``now``."""
    return TaskInfo(
        occurred_at=now,
        external_resources=pvector([ExternalResource(CACHE_RESOURCE_ID, status)]),
        additional_reasons=pvector([ReasonInfo(reason, now)]),
    )


@fast_init
@dataclass(frozen=True, slots=True)
class PreExecution:
    """The outcome of R52: run the plugin (``info`` None), or short-circuit on ``info``; or an error."""

    info: PhaseInfo | None = None
    error: str | None = None
    effects: tuple[FinalEffect, ...] = ()

    @property
    def short_circuited(self) -> bool:
        return self.info is not None


PROCEED = PreExecution()


def evaluate_cache_before_execution(
    task_action: TaskAction,
    config: Result[CacheConfig | None, str],
    observations: Observations,
    policy: Policy,
    resource_live: bool,
    output_prefix: str,
) -> PreExecution | LookupCache | WriteCachedOutputs | AcquireReservation:
    """R52: decide from the catalog whether to run the plugin, short-circuit on a hit, or wait for the owner.

    ``resource_live`` is Go's ``alreadyRunning`` (R34); with D7 it covers every phase in which the plugin resource
    may already exist, so a hit never completes an action under a live resource.
    Go: ``evaluateCacheBeforeExecution``.
    """
    if type(config) is Failure:
        return PreExecution(error=config.failure())
    cache = config.unwrap()
    if cache is None or not policy.catalog_enabled:
        return PROCEED
    effects: tuple[FinalEffect, ...] = ()
    if not resource_live:
        looked_up = _lookup(cache, observations, policy, output_prefix)
        if not isinstance(looked_up, tuple):
            return looked_up
        effects = looked_up
    if not cache.serializable:
        return PreExecution(effects=effects) if effects else PROCEED
    return _reserve(task_action, cache, observations, policy, resource_live, effects)


def _lookup(
    cache: CacheConfig, observations: Observations, policy: Policy, output_prefix: str
) -> PreExecution | LookupCache | WriteCachedOutputs | tuple[FinalEffect, ...]:
    """R52 step 2. A tuple means "go on to the reservation step" with these log effects."""
    outcome = observations.cache_lookup
    if outcome is None:
        return LookupCache(cache.key)
    if isinstance(outcome, Success):
        return _serve_hit(outcome.unwrap().outputs, observations, output_prefix)
    failure = outcome.failure()
    if failure.kind is CatalogErrorKind.NOT_FOUND:
        return ()
    log = Log(LogLevel.WARNING, f"cache lookup failed, continuing with task execution: {failure.message}")
    if policy.fixes(Deviation.D8_LOOKUP_ERROR_KEEPS_SERIALIZATION):
        return (log,)
    return PreExecution(effects=(log,))


def _serve_hit(outputs: bytes, observations: Observations, output_prefix: str) -> PreExecution | WriteCachedOutputs:
    written = observations.cached_outputs_write
    if written is None:
        return WriteCachedOutputs(outputs_uri(output_prefix), outputs)
    if isinstance(written, Failure):
        return PreExecution(error=f"persisting cached outputs: {written.failure().message}")
    now = observations.now
    return PreExecution(info=phase_info_success(now, cache_task_info(CacheStatus.CACHE_HIT, "cache hit", now)))


def _reserve(
    task_action: TaskAction,
    cache: CacheConfig,
    observations: Observations,
    policy: Policy,
    resource_live: bool,
    effects: tuple[FinalEffect, ...],
) -> PreExecution | AcquireReservation:
    """R52 step 3: take or extend the reservation; another owner means WaitingForCache."""
    outcome = observations.reservation
    if outcome is None:
        return AcquireReservation(cache.key, cache.owner_id, policy.requeue_after)
    if isinstance(outcome, Failure):
        return PreExecution(error=f"acquiring cache reservation: {outcome.failure().message}", effects=effects)
    owner = outcome.unwrap().owner_id
    if owner == cache.owner_id:
        return PreExecution(effects=effects)
    if resource_live and policy.fixes(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE):
        note = f"reservation held by {go_quote(owner)} while our resource is live; observing it instead of waiting"
        return PreExecution(effects=(*effects, Log(LogLevel.WARNING, note)))
    now = observations.now
    info = PhaseInfo(
        PluginPhase.WAITING_FOR_CACHE,
        task_action.status.plugin_phase_version,
        cache_task_info(CacheStatus.CACHE_MISS, "waiting for serialized cache owner", now),
        None,
        f"waiting for cache to be populated by reservation owner {go_quote(owner)}",
    )
    return PreExecution(info=info, effects=effects)


@fast_init
@dataclass(frozen=True, slots=True)
class PostExecution:
    """The outcome of R54: the (possibly amended) PhaseInfo and the effects to perform, or an error."""

    info: PhaseInfo
    effects: tuple[FinalEffect, ...] = ()
    error: str | None = None


def finalize_cache_after_execution(
    task_action: TaskAction,
    config: Result[CacheConfig | None, str],
    info: PhaseInfo,
    short_circuited: bool,
    observations: Observations,
    policy: Policy,
    output_prefix: str,
) -> PostExecution | PutCache:
    """R54: on success put the outputs to the cache and record the outcome; release a serialized reservation
    once the attempt is over. Go: ``finalizeCacheAfterExecution``.
    """
    post = post_execution(task_action, config, info, short_circuited, observations, policy, output_prefix)
    return PostExecution(info) if post is None else post


def post_execution(
    task_action: TaskAction,
    config: Result[CacheConfig | None, str],
    info: PhaseInfo,
    short_circuited: bool,
    observations: Observations,
    policy: Policy,
    output_prefix: str,
) -> PostExecution | PutCache | None:
    """:func:`finalize_cache_after_execution`, with None for "``info`` as it is, no effects": the answer of every
    round that neither ends an attempt nor short-circuits, so the hot path builds no record for it."""
    if type(config) is Failure:
        return PostExecution(info, error=config.failure())
    cache = config.unwrap()
    if cache is None or not policy.catalog_enabled:
        return None
    if short_circuited:
        return _after_short_circuit(cache, info, policy)
    if is_success(info.phase):
        return _populate(task_action, cache, info, observations, policy, output_prefix)
    if cache.serializable and info.phase in _FAILED_OR_ABORTED:
        return PostExecution(info, (release_cache_reservation(cache),))
    return None


_FAILED_OR_ABORTED: Final = frozenset(
    {PluginPhase.PERMANENT_FAILURE, PluginPhase.RETRYABLE_FAILURE, PluginPhase.ABORTED}
)
"""Go ``IsFailure() || IsAborted()`` (R16): the attempt is over without outputs, so the reservation goes (R54)."""


def _after_short_circuit(cache: CacheConfig, info: PhaseInfo, policy: Policy) -> PostExecution:
    """R54 step 2: nothing to put after a short circuit. With D7 a cache hit still releases a serializable
    reservation: an earlier pass of this attempt may have taken it before its Handle or status write failed, and Go
    then leaks it until it lapses. Releasing one we do not hold is a no-op (R96)."""
    if is_success(info.phase) and cache.serializable and policy.fixes(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE):
        return PostExecution(info, (release_cache_reservation(cache),))
    return PostExecution(info)


def _populate(
    task_action: TaskAction,
    cache: CacheConfig,
    info: PhaseInfo,
    observations: Observations,
    policy: Policy,
    output_prefix: str,
) -> PostExecution | PutCache:
    outcome = observations.cache_put
    if outcome is None:
        metadata = cache_metadata_for_upload(task_action, cache, observations.now)
        return write_task_outputs_to_cache(cache, output_prefix, metadata)
    effects: tuple[FinalEffect, ...] = ()
    status = _CACHE_POPULATED
    if type(outcome) is Failure:
        failure = outcome.failure()
        already = failure.kind is CatalogErrorKind.ALREADY_EXISTS
        if not (already and policy.fixes(Deviation.D9_EXPLICIT_CATALOG_OUTCOMES)):
            status = CacheStatus.CACHE_PUT_FAILURE
            effects = (Log(LogLevel.ERROR, f"failed to write task outputs to cache: {failure.message}"),)
    task_info = info.info
    if task_info is not None:
        resources = task_info.external_resources.append(_CACHE_RESOURCES[status])
        task_info = _task_info(
            task_info.occurred_at,
            task_info.logs,
            task_info.log_context,
            task_info.reported_at,
            resources,
            task_info.additional_reasons,
        )
        info = _phase_info(info.phase, info.version, task_info, info.err, info.reason, info.cleanup_on_failure)
    if cache.serializable:
        effects = (*effects, release_cache_reservation(cache))
    return _post_execution(info, effects)


_CACHE_POPULATED: Final = CacheStatus.CACHE_POPULATED
# Built on every successful cached attempt, without ``type.__call__`` (fastinit.constructor, docs/design.md §7).
_post_execution: Final = constructor(PostExecution)
_task_info: Final = constructor(TaskInfo)
_phase_info: Final = constructor(PhaseInfo)
"""Read once: an ``Enum.MEMBER`` lookup costs about 1,000 instructions on CPython 3.11 (docs/design.md §7)."""

_CACHE_RESOURCES: Final = {
    status: ExternalResource(CACHE_RESOURCE_ID, status)
    for status in (CacheStatus.CACHE_POPULATED, CacheStatus.CACHE_PUT_FAILURE)
}
"""R54: the two ``cache`` resources a put can report, built once (records are immutable, so they are shared)."""


def cache_metadata_for_upload(task_action: TaskAction, cache: CacheConfig, now: datetime) -> CacheMetadata:
    """R55: the task execution id with the template id as task id, and the creation time.

    Go: ``cacheMetadataForUpload``.
    """
    return CacheMetadata(task_execution_id(task_action, cache.key.identifier), now)


def write_task_outputs_to_cache(cache: CacheConfig, output_prefix: str, metadata: CacheMetadata) -> PutCache:
    """R55: put ``<outputPrefix>/outputs.pb`` under the key. Go: ``writeTaskOutputsToCache``."""
    return PutCache(cache.key, outputs_uri(output_prefix), metadata)


def release_cache_reservation(cache: CacheConfig) -> ReleaseReservation:
    """R56: release the reservation we own; errors are only logged. Go: ``releaseCacheReservation``.

    Callers pass only serializable configs (the other cases are Go no-ops).
    """
    return ReleaseReservation(cache.key, cache.owner_id, Ignore("releasing the cache reservation failed"))
