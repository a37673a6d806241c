"""Hypothesis strategies for every record of ``taskaction_core``, and a driver that answers the core's questions.

    from hypothesis import given, strategies as st
    from taskaction_core.testing import strategies as tas      # importing registers the type strategies

    @given(st.from_type(TaskAction), st.from_type(Observations), st.from_type(Policy))
    def test_mine(ta, obs, policy): ...

**Importing this module registers** strategies with ``st.register_type_strategy`` for
:class:`~taskaction_core.records.TaskAction`, :class:`~taskaction_core.observations.Observations` and
:class:`~taskaction_core.policy.Policy`, so ``st.from_type`` draws the full mix described below.

Three families of TaskAction:

* :func:`valid_task_actions` / :func:`valid_condition_actions`: what the actions service creates (template bytes
  are real ``flyteidl2`` messages, built like :func:`~taskaction_core.testing.builders.a_template_bytes`), with a
  well-formed status: known phase names, counters within their budgets, controller-vocabulary conditions;
* :func:`malformed_task_actions`: garbage template/condition bytes, ``runOutputBase`` values Go cannot parse
  (``":x"``, ``"s3://b/%zz"``, control characters), missing required fields, unknown persisted plugin phase names,
  negative and huge counters and versions, arbitrary condition types/reasons/statuses, extreme (but aware) times;
* :func:`task_actions`: all of the above (what ``st.from_type(TaskAction)`` draws).

Every datetime is timezone-aware: UTC or a fixed offset (naive datetimes are outside the records' contract).

The driver (:func:`run_pass`, :func:`trace_pass`) plays one reconcile pass the way the interpreter does
(design.md §4): it answers each :class:`~taskaction_core.decision.Ask` from a :class:`World` (one answer per
question kind) and asserts that the core takes at most :data:`MAX_ROUNDS` rounds, asks only
:data:`~taskaction_core.effects.Question` values and never asks again what it already knows.
:func:`apply` is what the store holds afterwards if every effect succeeds.

Speed. Values come from small tables (names, texts, output bases, prebuilt template bytes) so most fields cost one
choice, and every factory is memoized, so a composite never builds (and Hypothesis never re-validates) a strategy
while drawing. A full TaskAction costs a few milliseconds on a 2-core CI machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal, ParamSpec, TypeVar, assert_never, get_args

from hypothesis import strategies as st
from pyrsistent import pmap, pvector
from pyrsistent.typing import PMap, PVector
from returns.result import Failure, Success

from taskaction_core.decision import Decision
from taskaction_core.effects import (
    AcquireReservation,
    InvokePlugin,
    LookupCache,
    PutCache,
    Question,
    WriteCachedOutputs,
)
from taskaction_core.naming import max_attempts as template_max_attempts
from taskaction_core.observations import (
    CacheHit,
    CacheLookupOutcome,
    CachePutOutcome,
    CatalogErrorKind,
    CatalogFailure,
    HandleOutcome,
    Observations,
    PluginFailure,
    PluginHandled,
    PluginResolution,
    PluginResolved,
    PluginStateWrite,
    PortFailure,
    Reservation,
    ReservationOutcome,
    WriteOutcome,
)
from taskaction_core.phase_info import (
    ExecutionError,
    ExternalResource,
    PhaseInfo,
    ReasonInfo,
    TaskInfo,
    TaskLog,
    Transition,
    TransitionType,
)
from taskaction_core.phases import CacheStatus, ConditionStatus, ConditionType, ErrorKind, PluginPhase, Reason
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import (
    ACTION_TYPE_CONDITION,
    ACTION_TYPE_TASK,
    FINALIZER,
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    MAX_CONDITION_MESSAGE,
    TERMINATED,
    Condition,
    ErrorState,
    ObjectMeta,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)
from taskaction_core.testing.builders import T0, a_condition_spec_bytes, a_template_bytes

_P = ParamSpec("_P")
_T = TypeVar("_T")

MAX_ROUNDS: Final = 8
"""The most ``reconcile`` calls one pass may take (design.md §4: exceeding the bound is a bug)."""
QUESTION_TYPES: Final = get_args(Question)


def _memo(factory: Callable[_P, _T]) -> Callable[_P, _T]:
    """Return the same strategy object for the same arguments: Hypothesis validates a strategy once per object."""
    made: dict[tuple[object, ...], _T] = {}

    def memoized(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        key = (*args, *sorted(kwargs.items()))
        if key not in made:
            made[key] = factory(*args, **kwargs)
        return made[key]

    memoized.__doc__, memoized.__name__ = factory.__doc__, factory.__name__
    return memoized


# --------------------------------------------------------------------------------------------------------------------
# Primitives

OFFSETS: Final = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
)
"""Fixed offsets datetimes are drawn in; ``now``'s offset is Go's local zone of ``stateJson`` (R42, Q33)."""
OFFSET_SECONDS: Final = (0, 1, -1, 2, 59, 3600, 3601, -3600, -3601, 86400, -86400, 2592000, -2592000, -2592001)
"""Offsets from :data:`T0` in seconds, around the condition timeouts of :data:`CONDITION_TIMEOUTS` (R80, R81)."""
OFFSET_FRACTIONS: Final = (0.0, 0.5, 0.499999, 0.75)
"""Sub-second parts: the half-second rounding of R81 and the truncation of R11/R42."""


def _near_t0(seconds: int, fraction: float, zone: timezone) -> datetime:
    return (T0 + timedelta(seconds=seconds + fraction)).astimezone(zone)


NEAR_T0: Final = tuple(
    _near_t0(seconds, fraction, zone) for seconds in OFFSET_SECONDS for fraction in OFFSET_FRACTIONS for zone in OFFSETS
)
"""Every combination of :data:`OFFSET_SECONDS`, :data:`OFFSET_FRACTIONS` and :data:`OFFSETS`; T0 in UTC first."""


@_memo
def aware_datetimes(*, extreme: bool = False) -> st.SearchStrategy[datetime]:
    """Aware datetimes in UTC or one of :data:`OFFSETS`: near :data:`T0` (within 30 days, on the boundaries the
    rules care about), or with ``extreme`` anywhere in ``datetime``'s range, its ends included."""
    near = st.sampled_from(NEAR_T0)
    if not extreme:
        return near
    zones = st.sampled_from(OFFSETS)
    edges = st.builds(
        lambda edge, zone: edge.replace(tzinfo=zone), st.sampled_from([datetime.min, datetime.max]), zones
    )
    return st.one_of(near, edges, st.datetimes(timezones=zones))


@_memo
def optional_datetimes(*, extreme: bool = False) -> st.SearchStrategy[datetime | None]:
    """None or :func:`aware_datetimes`."""
    return st.none() | aware_datetimes(extreme=extreme)


LONG_MESSAGE: Final = "m" * (MAX_CONDITION_MESSAGE + 7)
"""A message over the API limit of condition messages (D10, Q12)."""
PLAIN_TEXTS: Final = ("", "boom", "task submitted to K8s", "OOMKilled: container exceeded memory", "a b")
NASTY_TEXTS: Final = (
    " ",
    '"quoted" \\ back',
    "\x00",
    "\x7f",
    "\ud800",
    "\u2028<&>",
    "ünïcødé 名前",
    "%zz",
    LONG_MESSAGE,
)
"""Strings that have broken string handling before: NUL, DEL, a lone surrogate, JSON/HTML escapes, overlong."""
NAMES: Final = ("ta", "a0", "run1", "x", "my-action-abc", "n" * 30, "a.b_c")


@_memo
def names() -> st.SearchStrategy[str]:
    """Object, run and action names (DNS-label-like, up to the CRD's 30 characters)."""
    return st.sampled_from(NAMES)


@_memo
def texts(*, nasty: bool = False) -> st.SearchStrategy[str]:
    """Short free text; with ``nasty``, also :data:`NASTY_TEXTS`."""
    return st.sampled_from(PLAIN_TEXTS + NASTY_TEXTS) if nasty else st.sampled_from(PLAIN_TEXTS)


WILD_INTEGERS: Final = (-(2**63), -1, 2**8, 2**32 - 1, 2**32, 2**63 - 1, 2**64)
"""Counter values no Go field holds (uint8/uint32/int32 overflow, negative): a hand-made or corrupted record."""


@_memo
def counters(high: int = 4, *, wild: bool = False) -> st.SearchStrategy[int]:
    """A counter 0..``high``; with ``wild``, also one of :data:`WILD_INTEGERS`."""
    return st.sampled_from((*range(high + 1), *(WILD_INTEGERS if wild else ())))


# --------------------------------------------------------------------------------------------------------------------
# Status records

PHASE_WIRE_NAMES: Final = tuple(phase.wire_name for phase in PluginPhase)
UNKNOWN_PHASE_NAMES: Final = ("PhaseBogus", "Phase(42)", "phaserunning", "Running", " PhaseRunning")
"""Persisted ``pluginPhase`` values no Go build writes (R15): a corrupt or foreign record."""
HISTORY_PHASES: Final = tuple(reason.value for reason in Reason)
CONDITION_TYPES: Final = tuple(t.value for t in ConditionType)
CONDITION_STATUSES: Final = tuple(s.value for s in ConditionStatus)
_TERMINAL_TYPES: Final = (ConditionType.SUCCEEDED.value, ConditionType.FAILED.value)


RANGE_EDGES: Final = tuple(edge.replace(tzinfo=zone) for edge in (datetime.min, datetime.max) for zone in OFFSETS)
"""The ends of the datetime range in every zone of :data:`OFFSETS` (west of UTC, ``datetime.max`` is past the last
representable UTC instant: the R11 label must still be computed, ``tests/properties/test_regressions.py``)."""


@_memo
def _notes(*, wild: bool = False) -> st.SearchStrategy[tuple[str, datetime | None]]:
    """(message, time) of a condition or history entry as one choice; ``wild`` adds nasty texts and no time."""
    times: tuple[datetime | None, ...] = (*NEAR_T0, None, *RANGE_EDGES) if wild else NEAR_T0
    return st.sampled_from([(text, at) for at in times for text in PLAIN_TEXTS + (NASTY_TEXTS if wild else ())])


@_memo
def conditions(*, wild: bool = False) -> st.SearchStrategy[Condition]:
    """A condition (R6) in the controller's vocabulary; ``wild`` adds any type, status, reason and message, a
    missing transition time and a non-zero observedGeneration."""
    extra = NASTY_TEXTS if wild else ()
    words = st.sampled_from(
        [(t, s, r) for t in CONDITION_TYPES + extra for s in CONDITION_STATUSES + extra for r in HISTORY_PHASES + extra]
    )
    return st.builds(
        lambda word, note, generation: Condition(word[0], word[1], word[2], note[0], note[1], generation),
        words,
        _notes(wild=wild),
        counters(wild=True) if wild else st.just(0),
    )


@_memo
def terminal_conditions() -> st.SearchStrategy[tuple[Condition, ...]]:
    """A controller-written terminal pair: Succeeded or Failed True, and Progressing False, in either order (R7)."""
    return st.builds(
        _terminal_pair,
        st.sampled_from(
            [(kind, reason, first) for kind in _TERMINAL_TYPES for reason in HISTORY_PHASES for first in (True, False)]
        ),
        _notes(),
    )


def _terminal_pair(shape: tuple[str, str, bool], note: tuple[str, datetime | None]) -> tuple[Condition, ...]:
    (kind, reason, progressing_first), (message, at) = shape, note
    terminal = Condition(kind, ConditionStatus.TRUE.value, reason, message, at)
    progressing = Condition(ConditionType.PROGRESSING.value, ConditionStatus.FALSE.value, reason, message, at)
    return (progressing, terminal) if progressing_first else (terminal, progressing)


@_memo
def phase_history_entries(*, wild: bool = False) -> st.SearchStrategy[PhaseHistoryEntry]:
    """A phase-history entry (R9); ``wild`` adds phases outside the vocabulary and extreme times."""
    phases = st.sampled_from(HISTORY_PHASES + (NASTY_TEXTS if wild else ()))
    if wild:
        return st.builds(PhaseHistoryEntry, phases, aware_datetimes(extreme=True), texts())
    return st.builds(lambda phase, note: PhaseHistoryEntry(phase, note[1] or T0, note[0]), phases, _notes())


ERROR_STATES: Final = (
    None,
    *(
        ErrorState(code, kind, message)
        for code in ("", "ValueError", "InvalidSpec")
        for kind in ("", "USER", "SYSTEM", "OTHER")
        for message in PLAIN_TEXTS[:3]
    ),
)
"""``status.errorState`` values (R10), None first."""
SIGNALS: Final = ((b"", "", None), (b"\x01", "alice", T0), (b"\x01", "", None), (b"", "bob", T0))
"""(signalValue, signalledBy, signalledAt): none, a full signal, a value only, a stray principal (R79)."""
STATUS_EXTRAS: Final = tuple(
    (plugin_state, state_json, error_state, signal)
    for signal in SIGNALS
    for error_state in ERROR_STATES
    for plugin_state in (b"", b"\x01state")
    for state_json in ("", '{"actionId":"run1/a0","phase":"PhaseRunning"}')
)
"""(pluginState, stateJson, errorState, signal) rows: status fields the laws read but rarely branch on."""
StatusExtras = tuple[bytes, str, ErrorState | None, tuple[bytes, str, datetime | None]]


@_memo
def _status_counters(max_attempts: int, *, wild: bool) -> st.SearchStrategy[tuple[int, int, int, int, int]]:
    """(pluginStateVersion, pluginPhaseVersion, attempts, systemFailures, cacheStatus); one choice unless wild."""
    if wild:
        return st.tuples(*(counters(high, wild=True) for high in (2, 3, max_attempts, 4, 7)))
    return st.sampled_from(
        [
            (state_version, phase_version, attempts, failures, cache)
            for attempts in range(max_attempts + 1)
            for failures in range(5)
            for phase_version in range(4)
            for state_version in range(3)
            for cache in range(8)
        ]
    )


SLOT_TIMES: Final = (T0, NEAR_T0[1], NEAR_T0[-1], T0 - timedelta(hours=1), T0 + timedelta(seconds=59.5))
CONDITION_SLOTS: Final = {
    kind: (None,) * 200
    + tuple(
        Condition(kind, status, reason, message, at)
        for status in CONDITION_STATUSES
        for reason in HISTORY_PHASES
        for message in PLAIN_TEXTS[:3]
        for at in SLOT_TIMES
    )
    for kind in CONDITION_TYPES
}
"""Per condition type: absent (a third of the rows) or any (status, reason, message, time) in the vocabulary."""
ORDERS: Final = ((0, 1, 2), (2, 1, 0), (1, 0, 2), (0, 2, 1), (1, 2, 0), (2, 0, 1))
"""Permutations of the three condition slots: list order matters to R8 and R125."""
_PATHS: Final = (
    ("Queued", "Executing", "Completed"),
    ("Queued", "Initializing", "Executing"),
    ("Queued", "Executing", "Queued"),
    ("Queued", "Executing", "RetryableFailure", "Queued"),
    ("Queued", "Executing", "PermanentFailure"),
    ("Paused", "Signaled"),
)
HISTORIES: Final = tuple(
    pvector(PhaseHistoryEntry(phase, T0 + timedelta(minutes=i), PLAIN_TEXTS[i % 2]) for i, phase in enumerate(path))
    for path in (
        *((),) * 40,
        *((phase,) for phase in HISTORY_PHASES),
        *((first, second) for first in HISTORY_PHASES for second in HISTORY_PHASES),
        *_PATHS,
    )
)
"""Phase histories (R9): empty (often), any one or two phases, and the controller's usual paths."""


@_memo
def _condition_lists(*, wild: bool) -> st.SearchStrategy[list[Condition]]:
    if wild:
        return st.lists(conditions(wild=True), max_size=3, unique_by=lambda c: c.type)
    slots = [st.sampled_from(CONDITION_SLOTS[kind]) for kind in CONDITION_TYPES]
    return st.builds(
        lambda order, *present: [c for c in (present[i] for i in order) if c is not None],
        st.sampled_from(ORDERS),
        *slots,
    )


@_memo
def _histories(*, wild: bool) -> st.SearchStrategy[PVector[PhaseHistoryEntry]]:
    if wild:
        return st.lists(phase_history_entries(wild=True), max_size=3).map(pvector)
    return st.sampled_from(HISTORIES)


@_memo
def task_action_statuses(
    *, terminal: bool | None = None, wild: bool = False, max_attempts: int = 4
) -> st.SearchStrategy[TaskActionStatus]:
    """``status`` (R5). ``terminal`` forces (True) or forbids (False) a terminal condition list (None: either);
    ``wild`` allows unknown phase names, arbitrary conditions and out-of-range counters."""
    ends = {True: terminal_conditions(), False: st.just(()), None: st.just(()) | terminal_conditions()}[terminal]
    return st.builds(
        _status,
        st.just(terminal is False),
        _condition_lists(wild=wild),
        ends,
        _histories(wild=wild),
        st.sampled_from(("", *PHASE_WIRE_NAMES, *(UNKNOWN_PHASE_NAMES if wild else ()))),
        _status_counters(max_attempts, wild=wild),
        st.sampled_from(STATUS_EXTRAS),
    )


def _status(
    non_terminal: bool,
    condition_list: list[Condition],
    ends: tuple[Condition, ...],
    history: PVector[PhaseHistoryEntry],
    phase: str,
    numbers: tuple[int, int, int, int, int],
    extras: StatusExtras,
) -> TaskActionStatus:
    if non_terminal:
        condition_list = [
            c for c in condition_list if not (c.status == ConditionStatus.TRUE and c.type in _TERMINAL_TYPES)
        ]
    ended = {end.type for end in ends}
    all_conditions = [c for c in condition_list if c.type not in ended] + list(ends)
    state_version, phase_version, attempts, failures, cache_status = numbers
    plugin_state, state_json, error_state, (signal_value, signalled_by, signalled_at) = extras
    return TaskActionStatus(
        state_json=state_json,
        plugin_state=plugin_state,
        plugin_state_version=state_version,
        plugin_phase=phase,
        plugin_phase_version=phase_version,
        attempts=attempts,
        system_failures=failures,
        cache_status=cache_status,
        conditions=pvector(all_conditions),
        phase_history=history,
        error_state=error_state,
        signal_value=signal_value,
        signalled_by=signalled_by,
        signalled_at=signalled_at,
    )


# --------------------------------------------------------------------------------------------------------------------
# Metadata and spec

VALID_OUTPUT_BASES: Final = (
    "s3://bucket/run",
    "s3://bucket/run/",
    "gs://b/org/proj/dev/run123",
    "/tmp/output",
    "file:///tmp/x",
    "s3:bucket/x",
    "S3://Bucket/x?q=1#f",
)
"""``runOutputBase`` values Go's ``net/url`` parses (the opaque ``s3:bucket/x`` included, Q30)."""
BAD_OUTPUT_BASES: Final = (
    ":x",
    "s3://b/%zz",
    "s3://b/\x7f",
    "s3://b/a\x00b",
    "s3://b/\nx",
    "http://[::1",
    "s3://bucket:port/x",
    "%",
)
"""``runOutputBase`` values Go rejects (R108): missing scheme, bad escape, control characters, bad host/port."""
LABEL_SETS: Final[tuple[PMap[str, str], ...]] = (
    pmap(),
    pmap({"team": "ml"}),
    pmap({LABEL_TERMINATION_STATUS: TERMINATED, LABEL_COMPLETED_TIME: "2026-08-08.12-00"}),
    pmap({LABEL_COMPLETED_TIME: "2026-08-08.12-00"}),
    pmap({LABEL_TERMINATION_STATUS: TERMINATED, LABEL_COMPLETED_TIME: ""}),
    pmap({LABEL_TERMINATION_STATUS: "other", "team": "ml"}),
)
"""CR labels: none, user labels, the complete GC pair, or part of it (R67, Q29)."""
OTHER_FINALIZER: Final = "example.com/other"


META_EXTRAS: Final = tuple(
    (namespace, labels, finalizer, other_finalizer, resource_version)
    for finalizer in (True, False)
    for namespace in ("default", "flyte", "")
    for labels in LABEL_SETS
    for other_finalizer in (False, True)
    for resource_version in ("1", "")
)
"""(namespace, labels, our finalizer, another finalizer, resourceVersion): metadata the pass reads but rarely
branches on, as whole rows."""
MetaExtras = tuple[str, PMap[str, str], bool, bool, str]
CREATION_TIMES: Final[tuple[datetime | None, ...]] = (T0, None, *NEAR_T0)
"""``creationTimestamp``: usually set; absent only on objects that bypassed the API server (R80)."""


@_memo
def object_metas(*, deleted: bool | None = False, finalizer: bool | None = None) -> st.SearchStrategy[ObjectMeta]:
    """``metadata`` (R2). ``deleted``/``finalizer``: True forces, False forbids, None draws either."""
    rows = [row for row in META_EXTRAS if finalizer is None or row[2] == finalizer]
    deletions = {True: st.sampled_from(NEAR_T0), False: st.none(), None: st.none() | st.sampled_from(NEAR_T0)}
    return st.builds(_meta, names(), st.sampled_from(rows), deletions[deleted], st.sampled_from(CREATION_TIMES))


def _meta(name: str, extras: MetaExtras, deleted_at: datetime | None, created_at: datetime | None) -> ObjectMeta:
    namespace, labels, finalizer, other_finalizer, resource_version = extras
    finalizers = [FINALIZER] if finalizer else []
    return ObjectMeta(
        name=name,
        namespace=namespace,
        uid=f"uid-{name}",
        labels=labels,
        finalizers=pvector(finalizers + ([OTHER_FINALIZER] if other_finalizer else [])),
        deletion_timestamp=deleted_at,
        creation_timestamp=created_at,
        resource_version=resource_version,
        generation=1,
    )


@dataclass(frozen=True, slots=True)
class TemplateFacts:
    """The template facts the reconciler reads (R49, R106, R107): one row of :data:`TEMPLATES`."""

    cacheable: bool
    serializable: bool
    retries: int | None
    with_id: bool
    secrets: bool

    @property
    def max_attempts(self) -> int:
        """R107: retries + 1, or 1 without a retry strategy."""
        return template_max_attempts(self.retries)


TEMPLATES: Final[tuple[tuple[TemplateFacts, bytes], ...]] = tuple(
    (
        TemplateFacts(cacheable, serializable, retries, with_id, secrets),
        a_template_bytes(
            cacheable=cacheable,
            serializable=serializable,
            retries=retries,
            with_id=with_id,
            secrets=secrets,
            ignore_inputs=("x",) if secrets else (),
        ),
    )
    for cacheable in (False, True)
    for serializable in (False, True)
    for retries in (None, 0, 1, 3)
    for with_id in (True, False)
    for secrets in (False, True)
)
"""Serialized ``core.TaskTemplate`` messages built once with flyteidl2, so drawing one is a single choice."""
ANY: Final = "any"
"""Argument value meaning "draw it" where None is meaningful itself (``retries=None``: no retry strategy)."""


@_memo
def templates(
    *,
    cacheable: bool | None = None,
    serializable: bool | None = None,
    retries: int | Literal["any"] | None = ANY,
    with_id: bool | None = True,
) -> st.SearchStrategy[tuple[TemplateFacts, bytes]]:
    """A row of :data:`TEMPLATES`; each argument pins that fact (None, or :data:`ANY` for ``retries``: any).
    ``retries`` is None (no retry strategy), 0, 1 or 3. ``with_id=False`` with ``cacheable`` is the R49 error."""
    rows = [
        (facts, data)
        for facts, data in TEMPLATES
        if (cacheable is None or facts.cacheable == cacheable)
        and (serializable is None or facts.serializable == serializable)
        and (retries == ANY or facts.retries == retries)
        and (with_id is None or facts.with_id == with_id)
    ]
    return st.sampled_from(rows)


@_memo
def template_bytes(*, with_id: bool | None = True) -> st.SearchStrategy[bytes]:
    """The bytes of any :func:`templates` row."""
    return templates(with_id=with_id).map(lambda row: row[1])


CONDITION_TIMEOUTS: Final = (
    None,
    timedelta(0),
    timedelta(seconds=-5),
    timedelta(seconds=1),
    timedelta(hours=1),
    timedelta(days=30),
)
CONDITION_SPECS: Final = tuple(a_condition_spec_bytes(timeout=timeout) for timeout in CONDITION_TIMEOUTS)
"""Serialized ``workflow.ConditionAction`` messages with no, zero, negative or positive timeout (R80)."""


SPEC_EXTRAS: Final = tuple(
    TaskActionSpec(
        project=project,
        domain=domain,
        parent_action_name=parent,
        action_type=action_type,
        input_uri=input_uri,
        cache_key=cache_key,
        task_type=task_type,
        env_vars=env,
        interruptible=interruptible,
    )
    for project, domain in (("p", "d"), ("flytesnacks", "development"))
    for action_type in ("", ACTION_TYPE_TASK)
    for input_uri in ("s3://bucket/run/a0/inputs.pb", "s3://bucket/run/a0", "/tmp/in")
    for cache_key in ("", "ck")
    for task_type in ("python", "container")
    for parent, env, interruptible in ((None, pmap(), None), ("a0", pmap({"K": "v", "RUN_NAME": "no"}), True))
)
"""Task spec fields besides names, template and output base, as whole rows (one choice per spec)."""


@_memo
def task_specs() -> st.SearchStrategy[TaskActionSpec]:
    """A complete task ``spec`` (R3, R30) with a valid output base and any template of :data:`TEMPLATES`."""
    return st.builds(
        lambda extras, run, action, base, template: replace(
            extras, run_name=run, action_name=action, run_output_base=base, task_template=template
        ),
        st.sampled_from(SPEC_EXTRAS),
        names(),
        names(),
        st.sampled_from(VALID_OUTPUT_BASES),
        template_bytes(),
    )


@_memo
def condition_specs() -> st.SearchStrategy[TaskActionSpec]:
    """A condition ``spec`` (R78–R80) with a decodable ``conditionSpec``."""
    return st.builds(
        TaskActionSpec,
        run_name=names(),
        project=st.just("p"),
        domain=st.just("d"),
        action_name=names(),
        action_type=st.just(ACTION_TYPE_CONDITION),
        condition_spec=st.sampled_from(CONDITION_SPECS),
    )


# --------------------------------------------------------------------------------------------------------------------
# TaskActions


@_memo
def valid_task_actions(
    *,
    cacheable: bool | None = None,
    serializable: bool | None = None,
    retries: int | Literal["any"] | None = ANY,
    terminal: bool | None = False,
    deleted: bool | None = False,
    finalizer: bool | None = None,
) -> st.SearchStrategy[TaskAction]:
    """A task TaskAction the actions service could have created, with a well-formed status.

    ``cacheable``/``serializable``/``retries`` pin template facts (see :func:`templates`); ``terminal``,
    ``deleted`` and ``finalizer`` force (True), forbid (False) or draw (None) that property. Attempts stay within
    the template's budget (R107) and system failures within the default ceiling.
    """
    return st.builds(
        _task,
        object_metas(deleted=deleted, finalizer=finalizer),
        task_specs(),
        templates(cacheable=cacheable, serializable=serializable, retries=retries),
        task_action_statuses(terminal=terminal),
    )


def _task(
    metadata: ObjectMeta, spec: TaskActionSpec, template: tuple[TemplateFacts, bytes], status: TaskActionStatus
) -> TaskAction:
    facts, data = template
    status = replace(
        status, attempts=min(status.attempts, facts.max_attempts), system_failures=status.system_failures % 4
    )
    return TaskAction(metadata, replace(spec, task_template=data), status)


@_memo
def valid_condition_actions(*, terminal: bool | None = False) -> st.SearchStrategy[TaskAction]:
    """A condition TaskAction (no finalizer, no task fields, R78), possibly signalled (R79)."""
    return st.builds(
        _condition,
        object_metas(deleted=False, finalizer=False),
        condition_specs(),
        task_action_statuses(terminal=terminal),
    )


def _condition(metadata: ObjectMeta, spec: TaskActionSpec, status: TaskActionStatus) -> TaskAction:
    status = replace(status, plugin_phase="", plugin_phase_version=0, attempts=0, system_failures=0, cache_status=0)
    return TaskAction(metadata, spec, replace(status, state_json="", plugin_state=b"", plugin_state_version=0))


_BLANKERS: Final[dict[str, Callable[[TaskActionSpec], TaskActionSpec]]] = {
    "run_name": lambda spec: replace(spec, run_name=""),
    "project": lambda spec: replace(spec, project=""),
    "domain": lambda spec: replace(spec, domain=""),
    "action_name": lambda spec: replace(spec, action_name=""),
    "task_type": lambda spec: replace(spec, task_type=""),
    "task_template": lambda spec: replace(spec, task_template=b""),
    "input_uri": lambda spec: replace(spec, input_uri=""),
    "run_output_base": lambda spec: replace(spec, run_output_base=""),
}
"""R30: the required task fields, each with the function that empties it."""
CORRUPTIONS: Final = ("bytes", "url", "missing", "status", "times", "names", "mixed")


@_memo
def garbage_bytes() -> st.SearchStrategy[bytes]:
    """Bytes that are not the expected message: random, empty, or a message of the other kind."""
    return st.binary(max_size=24) | st.sampled_from(CONDITION_SPECS) | template_bytes(with_id=None)


@st.composite
def _malformed(draw: st.DrawFn, deleted: bool | None, terminal: bool | None) -> TaskAction:
    corruption = draw(st.sampled_from(CORRUPTIONS))
    kind = draw(st.sampled_from([ACTION_TYPE_TASK, ACTION_TYPE_CONDITION, "", "bogus"]))
    spec = replace(draw(task_specs()), action_type=kind, condition_spec=draw(st.sampled_from(CONDITION_SPECS)))
    metadata = draw(object_metas(deleted=deleted))
    if corruption in ("bytes", "mixed"):
        spec = replace(spec, task_template=draw(garbage_bytes()), condition_spec=draw(garbage_bytes()))
    if corruption in ("url", "mixed"):
        spec = replace(spec, run_output_base=draw(st.sampled_from(BAD_OUTPUT_BASES)))
    if corruption in ("missing", "mixed"):
        for field_name in draw(st.lists(st.sampled_from(sorted(_BLANKERS)), min_size=1, max_size=3)):
            spec = _BLANKERS[field_name](spec)
    if corruption == "names":
        spec = replace(spec, task_type=draw(texts(nasty=True)), action_name=draw(texts(nasty=True)))
    if corruption == "times":
        deleted_at = draw(aware_datetimes(extreme=True)) if metadata.deletion_timestamp is not None else None
        metadata = replace(
            metadata, creation_timestamp=draw(optional_datetimes(extreme=True)), deletion_timestamp=deleted_at
        )
    wild = corruption in ("status", "times", "mixed")
    return TaskAction(metadata, spec, draw(task_action_statuses(terminal=terminal, wild=wild)))


@_memo
def malformed_task_actions(
    *, deleted: bool | None = None, terminal: bool | None = None
) -> st.SearchStrategy[TaskAction]:
    """A TaskAction with one corruption of :data:`CORRUPTIONS`: garbage bytes, a bad URL, missing required fields,
    a wild status (unknown phase, arbitrary conditions, wild counters), extreme times, nasty names; or a mix.
    ``deleted`` and ``terminal`` force (True), forbid (False) or draw (None) that property."""
    return _malformed(deleted, terminal)


@_memo
def task_actions() -> st.SearchStrategy[TaskAction]:
    """Every kind of TaskAction: valid tasks and conditions (fresh, running, terminal, deleted) and malformed ones.

    A live task with its finalizer (the path that reaches the plugin and the catalog) is drawn as often as all the
    other valid shapes together. This is the strategy ``st.from_type(TaskAction)`` draws from.
    """
    live = valid_task_actions(finalizer=True)
    return st.one_of(
        live,
        live,
        valid_task_actions(terminal=None, deleted=None),
        valid_condition_actions(terminal=None),
        malformed_task_actions(),
        malformed_task_actions(),
    )


# --------------------------------------------------------------------------------------------------------------------
# What plugins report


ERROR_CODES: Final = ("ValueError", "RuntimeFailure", "BadTaskSpecification", "")


_ERRORS: Final = tuple(
    ExecutionError(code, message, kind)
    for kind in ErrorKind
    for code in ERROR_CODES
    for message in PLAIN_TEXTS + NASTY_TEXTS
)


@_memo
def execution_errors() -> st.SearchStrategy[ExecutionError]:
    """``core.ExecutionError`` (R23) of every kind, messages up to over the condition limit; one choice."""
    return st.sampled_from(_ERRORS)


RESOURCE_LISTS: Final[tuple[PVector[ExternalResource], ...]] = (
    pvector(),
    *(pvector([ExternalResource("r", status)]) for status in CacheStatus),
    *(pvector([ExternalResource("r", a), ExternalResource("c", b)]) for a in CacheStatus for b in CacheStatus),
)
"""External-resource lists of up to two entries with every cache-status pair (R73 reads the first non-DISABLED)."""
REASON_LISTS: Final[tuple[PVector[ReasonInfo], ...]] = (
    pvector(),
    pvector([ReasonInfo("pulled image", T0)]),
    pvector([ReasonInfo("scheduled", None)]),
    pvector([ReasonInfo("scheduled", None), ReasonInfo("pulled image", T0 + timedelta(seconds=3))]),
)
"""Additional-reason lists (R71: each becomes a cluster event, falling back to updated_time)."""


OCCURRED_AT: Final[tuple[datetime | None, ...]] = (None, None, None, *NEAR_T0)
"""A plugin's ``OccurredAt``: often unset (R18 fills it in), else any instant near T0."""


@_memo
def task_infos() -> st.SearchStrategy[TaskInfo]:
    """``TaskInfo`` (R21): logs, external resources with any cache status, additional reasons."""
    return st.builds(
        TaskInfo,
        occurred_at=st.sampled_from(OCCURRED_AT),
        logs=st.sampled_from([pvector(), pvector([TaskLog("https://logs/x", "logs")])]),
        external_resources=st.sampled_from(RESOURCE_LISTS),
        additional_reasons=st.sampled_from(REASON_LISTS),
    )


PHASE_WEIGHTS: Final = {
    PluginPhase.RUNNING: 3,
    PluginPhase.RETRYABLE_FAILURE: 3,
    PluginPhase.SUCCESS: 2,
    PluginPhase.PERMANENT_FAILURE: 2,
    PluginPhase.QUEUED: 2,
}
"""How often each plugin phase is reported, relative to 1: the phases the task path branches on come more often."""


def _phase_versions(phases: tuple[PluginPhase, ...]) -> tuple[tuple[PluginPhase, int], ...]:
    return tuple(
        (phase, version)
        for version in (0, 1, 2, 3, 2**32 - 1)
        for phase in phases
        for _ in range(PHASE_WEIGHTS.get(phase, 1))
    )


PHASE_NOTES: Final = tuple(
    (reason, cleanup, kind)
    for reason in PLAIN_TEXTS + NASTY_TEXTS
    for cleanup in (False, True)
    for kind in TransitionType
)
"""(reason, cleanupOnFailure, transition type): what the reconciler copies or ignores (R17, R20, Q31)."""


ALL_PHASES: Final = tuple(PluginPhase)


@_memo
def phase_infos(phases: tuple[PluginPhase, ...] = ALL_PHASES) -> st.SearchStrategy[PhaseInfo]:
    """``PhaseInfo`` (R17) in one of ``phases`` (weighted by :data:`PHASE_WEIGHTS`), with or without info, error
    and reason."""
    return transitions(phases).map(lambda transition: transition.info)


@_memo
def transitions(phases: tuple[PluginPhase, ...] = ALL_PHASES) -> st.SearchStrategy[Transition]:
    """``Transition`` (R20) of :func:`phase_infos`; the reconciler ignores its type."""
    return st.builds(
        _transition,
        st.sampled_from(_phase_versions(phases)),
        st.none() | task_infos(),
        st.sampled_from((None, None, None, *_ERRORS)),
        st.sampled_from(PHASE_NOTES),
    )


def _transition(
    phase_version: tuple[PluginPhase, int],
    info: TaskInfo | None,
    err: ExecutionError | None,
    notes: tuple[str, bool, TransitionType],
) -> Transition:
    (phase, version), (reason, cleanup, kind) = phase_version, notes
    return Transition(PhaseInfo(phase, version, info, err, reason, cleanup), kind)


# --------------------------------------------------------------------------------------------------------------------
# Outcomes and observations
#
# Each outcome is one choice from a table: successes first (Hypothesis shrinks towards the start), then every
# typed failure with a plain and a nasty message.

_MESSAGES: Final = (PLAIN_TEXTS[1], NASTY_TEXTS[1], LONG_MESSAGE)
RESOLUTIONS: Final[tuple[PluginResolution, ...]] = (
    *(Success(PluginResolved(plugin_id)) for plugin_id in ("test-plugin", "container") * 3),
    *(Failure(PortFailure(message)) for message in _MESSAGES),
)
LOOKUPS: Final[tuple[CacheLookupOutcome, ...]] = (
    Success(CacheHit(b"")),
    Success(CacheHit(b"\n\x00")),
    *(Failure(CatalogFailure(kind, message)) for kind in CatalogErrorKind for message in _MESSAGES[:2]),
)
WRITES: Final[tuple[WriteOutcome, ...]] = (Success(None), *(Failure(PortFailure(m)) for m in _MESSAGES[:2]))
RESERVATIONS: Final[tuple[ReservationOutcome, ...]] = (
    *(Success(Reservation(owner)) for owner in ("default/other", "default/ta", "")),
    *(Failure(PortFailure(m)) for m in _MESSAGES[:2]),
)
PUTS: Final[tuple[CachePutOutcome, ...]] = (
    Success(None),
    *(Failure(CatalogFailure(kind, message)) for kind in CatalogErrorKind for message in _MESSAGES[:2]),
)
NON_RETRYABLE_CODES: Final = ("BadTaskSpecification", "MetadataTooLarge")
CODE_CHAINS: Final = (
    (),
    ("DownstreamSystemError",),
    *((c,) for c in NON_RETRYABLE_CODES),
    ("Other", *NON_RETRYABLE_CODES),
)
"""Flyte codes along a Handle error's cause chain (R58): none, retryable, and each non-retryable one, also nested."""
HANDLE_ERRORS: Final[tuple[HandleOutcome, ...]] = tuple(
    Failure(PluginFailure(message, chain)) for chain in CODE_CHAINS for message in _MESSAGES
)
STATE_WRITES: Final = (None, None, PluginStateWrite(b"s1", 1), PluginStateWrite(b"", 0), PluginStateWrite(b"s2", 2))
"""A plugin's state write during Handle (R101): none, a Put or a Reset."""


@_memo
def plugin_resolutions() -> st.SearchStrategy[PluginResolution]:
    """R100: mostly a resolved plugin, sometimes none."""
    return st.sampled_from(RESOLUTIONS)


@_memo
def cache_lookup_outcomes() -> st.SearchStrategy[CacheLookupOutcome]:
    """``Catalog.Get``: a hit, NotFound, AlreadyExists or another error (R52 step 2)."""
    return st.sampled_from(LOOKUPS)


@_memo
def write_outcomes() -> st.SearchStrategy[WriteOutcome]:
    """Writing cached outputs: done, or a data-store error."""
    return st.sampled_from(WRITES)


@_memo
def reservation_outcomes() -> st.SearchStrategy[ReservationOutcome]:
    """``GetOrExtendReservation`` answered for some owner, or failed (R94)."""
    return st.sampled_from(RESERVATIONS)


@_memo
def handle_outcomes(
    *, errors: bool = True, phases: tuple[PluginPhase, ...] = ALL_PHASES
) -> st.SearchStrategy[HandleOutcome]:
    """``Plugin.Handle``: a transition into one of ``phases`` (with or without a plugin-state write, R101) or, with
    ``errors``, an error with its cause-chain codes (R58)."""
    handled: st.SearchStrategy[HandleOutcome] = st.builds(
        lambda transition, write: Success(PluginHandled(transition, write)),
        transitions(phases),
        st.sampled_from(STATE_WRITES),
    )
    if not errors:
        return handled
    return st.one_of(handled, handled, st.sampled_from(HANDLE_ERRORS))


@_memo
def cache_put_outcomes() -> st.SearchStrategy[CachePutOutcome]:
    """``Catalog.Put``: stored, AlreadyExists (D9), NotFound or another error (R54, R95)."""
    return st.sampled_from(PUTS)


@_memo
def observations() -> st.SearchStrategy[Observations]:
    """Observations with any subset of outcomes answered, each a success or a typed failure (design.md §4)."""
    return st.builds(
        Observations,
        now=aware_datetimes(),
        plugin=plugin_resolutions(),
        cache_lookup=st.none() | cache_lookup_outcomes(),
        cached_outputs_write=st.none() | write_outcomes(),
        reservation=st.none() | reservation_outcomes(),
        handle=st.none() | handle_outcomes(),
        cache_put=st.none() | cache_put_outcomes(),
    )


# --------------------------------------------------------------------------------------------------------------------
# Policy


DEVIATIONS: Final = tuple(Deviation)
POLICY_SETTINGS: Final = tuple(
    (requeue_after, ceiling, catalog_enabled, cluster_id, service_account)
    for ceiling in (0, 3, 1, 2, 5)
    for catalog_enabled in (True, False)
    for requeue_after in (timedelta(0), timedelta(seconds=10), timedelta(seconds=45))
    for cluster_id, service_account in (("", ""), ("c1", "sa"))
)
"""(requeue_after, max_system_failures, catalog_enabled, cluster_id, default_service_account) rows, defaults first."""


def _deviations(switched_off: int) -> frozenset[Deviation]:
    """The deviations whose bit is clear in ``switched_off``: 0 is every fix (the default), all ones is Go."""
    return frozenset(d for bit, d in enumerate(DEVIATIONS) if not switched_off >> bit & 1)


@_memo
def policies(*, deviations: frozenset[Deviation] | None = None) -> st.SearchStrategy[Policy]:
    """A valid :class:`Policy`; ``deviations`` pins the fixed Go defects, else any subset (one choice: a bit mask of
    the switched-off ones, so shrinking heads for the default of every fix)."""
    subsets = st.integers(0, 2 ** len(DEVIATIONS) - 1).map(_deviations)
    return st.builds(
        lambda row, fixed: Policy(row[0], row[1], row[3], row[2], row[4], fixed),
        st.sampled_from(POLICY_SETTINGS),
        st.just(deviations) if deviations is not None else subsets,
    )


# --------------------------------------------------------------------------------------------------------------------
# Worlds and the pass driver


@dataclass(frozen=True, slots=True)
class OwnReservation:
    """A world answer to :class:`AcquireReservation`: the reservation is the asker's (its own owner id, R94)."""


@dataclass(frozen=True, slots=True)
class World:
    """How the outside world answers each kind of question during a pass (one answer per kind)."""

    plugin: PluginResolution
    cache_lookup: CacheLookupOutcome
    cached_outputs_write: WriteOutcome
    reservation: ReservationOutcome | OwnReservation
    handle: HandleOutcome
    cache_put: CachePutOutcome


@_memo
def worlds(
    *, handle_errors: bool = True, plugin_found: bool | None = None, phases: tuple[PluginPhase, ...] = ALL_PHASES
) -> st.SearchStrategy[World]:
    """A :class:`World`: the reservation is ours about half of the time. ``handle_errors=False`` keeps Handle from
    returning an error, ``phases`` limits the phases it reports; ``plugin_found`` pins the plugin resolution
    (None: either)."""
    reservation: st.SearchStrategy[ReservationOutcome | OwnReservation] = st.sampled_from(
        (OwnReservation(), OwnReservation(), *RESERVATIONS)
    )
    plugin = plugin_resolutions()
    if plugin_found is not None:
        plugin = plugin.filter(lambda resolution: isinstance(resolution, Success) == plugin_found)
    return st.builds(
        World,
        plugin=plugin,
        cache_lookup=cache_lookup_outcomes(),
        cached_outputs_write=write_outcomes(),
        reservation=reservation,
        handle=handle_outcomes(errors=handle_errors, phases=phases),
        cache_put=cache_put_outcomes(),
    )


@dataclass(frozen=True, slots=True)
class PassTrace:
    """One pass as the driver saw it: the questions asked in order, the final observations and the decision."""

    decision: Decision
    asked: tuple[Question, ...]
    observations: Observations


def answer(observations: Observations, question: Question, world: World) -> Observations:
    """Record ``world``'s answer to ``question``; asking again for something already answered is a bug."""
    match question:
        case LookupCache():
            _first_time(observations.cache_lookup, question)
            return replace(observations, cache_lookup=world.cache_lookup)
        case WriteCachedOutputs():
            _first_time(observations.cached_outputs_write, question)
            return replace(observations, cached_outputs_write=world.cached_outputs_write)
        case AcquireReservation():
            _first_time(observations.reservation, question)
            held = world.reservation
            outcome = Success(Reservation(question.owner_id)) if isinstance(held, OwnReservation) else held
            return replace(observations, reservation=outcome)
        case InvokePlugin():
            _first_time(observations.handle, question)
            return replace(observations, handle=world.handle)
        case PutCache():
            _first_time(observations.cache_put, question)
            return replace(observations, cache_put=world.cache_put)
        case _:
            assert_never(question)


def _first_time(outcome: object, question: Question) -> None:
    if outcome is not None:
        raise AssertionError(f"reconcile asked again a question it has the answer to: {question!r}")


def trace_pass(
    task_action: TaskAction, answers: World, policy: Policy, now: datetime, max_rounds: int = MAX_ROUNDS
) -> PassTrace:
    """Play one pass: call ``reconcile``, answer each Ask from ``answers``, until the Decision (≤ ``max_rounds``)."""
    observations = Observations(now=now, plugin=answers.plugin)
    asked: list[Question] = []
    for _ in range(max_rounds):
        round_ = reconcile(task_action, observations, policy)
        if isinstance(round_, Decision):
            return PassTrace(round_, tuple(asked), observations)
        if not isinstance(round_.question, QUESTION_TYPES):
            raise AssertionError(f"reconcile asked something that is not a Question: {round_.question!r}")
        observations = answer(observations, round_.question, answers)
        asked.append(round_.question)
    raise AssertionError(f"no decision after {max_rounds} rounds; asked {[type(q).__name__ for q in asked]}")


def run_pass(
    task_action: TaskAction, answers: World, policy: Policy, now: datetime, max_rounds: int = MAX_ROUNDS
) -> Decision:
    """:func:`trace_pass`, returning only the Decision."""
    return trace_pass(task_action, answers, policy, now, max_rounds).decision


def apply(task_action: TaskAction, decision: Decision) -> TaskAction:
    """What the store holds after ``decision`` if every effect succeeds: the decision's working object.

    ``task_action`` is unused; the signature keeps "state, decision → state" explicit for model-based tests.
    :func:`taskaction_core.invariants.store_after` computes the same from the effects alone, and the
    ``decided_object_is_stored`` law checks that the two agree.
    """
    del task_action
    return decision.task_action


# --------------------------------------------------------------------------------------------------------------------
# Registration (at import)

st.register_type_strategy(TaskAction, task_actions())
st.register_type_strategy(Observations, observations())
st.register_type_strategy(Policy, policies())
