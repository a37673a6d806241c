"""TaskAction ⇄ JSON document, with the wire names of R1–R5: the one place that knows the object's JSON shape.

Theory of operation. :func:`to_wire` turns a :class:`~taskaction_core.records.TaskAction` into the plain ``dict``
Kubernetes would serve (``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``), and :func:`from_wire` reads
one back, returning ``Failure("<path>: <problem>")`` for the first field it cannot accept, e.g.
``spec.taskTemplate: not valid base64``. The SQLite store keeps objects in this form and manifest loaders (YAML or
JSON) read user files through :func:`from_wire`, so a field is spelled in exactly one place.

Encoding rules, as ``encoding/json`` applies them to the Go types:

- names are the camelCase JSON tags of R3/R5 (:data:`~taskaction_core.records.SPEC_WIRE_NAMES`,
  :data:`~taskaction_core.records.STATUS_WIRE_NAMES`) and of Kubernetes ``ObjectMeta``/``Condition``;
- zero values are omitted (R5 ``omitempty``); the nullable fields keep absent (``None``, omitted) apart from
  empty (written): ``spec.parentActionName``, ``spec.interruptible``, ``status.errorState``;
- bytes are standard base64 with padding (``spec.taskTemplate``, ``spec.conditionSpec``, ``status.pluginState``,
  ``status.signalValue``);
- times are RFC 3339 in UTC with a ``Z``. Kubernetes writes whole seconds; the records carry microseconds, so a
  fraction is written when there is one (trailing zeros trimmed, like Go's ``RFC3339Nano``) and the round trip is
  exact. Reading accepts any offset and up to nine fraction digits (truncated to microseconds).

Reading is strict where a typo would otherwise be silently lost: an unknown field is an error (with a suggestion when
a known name is close), a wrong JSON type is an error, and integers are range-checked against their Go types
(``uint8``, ``uint32``, ``int32``, ``int64``). ``apiVersion`` and ``kind`` may be absent; when present they must be
``flyte.org/v1`` and ``TaskAction``. A few Kubernetes metadata fields the records do not model are accepted and
dropped (:data:`IGNORED_METADATA_FIELDS`), so ``kubectl get -o json`` output can be read.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, TypeVar

from pyrsistent import pmap, pvector
from pyrsistent.typing import PMap, PVector
from returns.result import Failure, Result, Success

from taskaction_core.records import (
    API_VERSION,
    KIND,
    Condition,
    ErrorState,
    ObjectMeta,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)

__all__ = [
    "IGNORED_METADATA_FIELDS",
    "WireDocument",
    "format_time",
    "from_json",
    "from_wire",
    "parse_time",
    "to_json",
    "to_wire",
]

WireDocument = dict[str, object]
"""A JSON object as ``json.loads`` returns it."""

IGNORED_METADATA_FIELDS: Final = frozenset(
    {"generateName", "ownerReferences", "managedFields", "selfLink", "deletionGracePeriodSeconds"}
)
"""Kubernetes ``ObjectMeta`` fields that :class:`~taskaction_core.records.ObjectMeta` does not model (R2)."""

_UINT8: Final = (0, 2**8 - 1)
_UINT32: Final = (0, 2**32 - 1)
_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (0, 2**63 - 1)
"""Go ``int64`` fields here (generation, observedGeneration) are never negative on the API server."""

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------------------------
# Writing


def to_wire(task_action: TaskAction) -> WireDocument:
    """The JSON document of ``task_action`` (R1–R5). Raises ValueError for a naive datetime (records hold UTC)."""
    document: WireDocument = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": _metadata_to_wire(task_action.metadata),
        "spec": _spec_to_wire(task_action.spec),
    }
    status = _status_to_wire(task_action.status)
    if status:
        document["status"] = status
    return document


def to_json(task_action: TaskAction) -> str:
    """:func:`to_wire` as compact JSON text with sorted keys (deterministic: equal objects give equal text).

    Written directly as text rather than through ``json.dumps(to_wire(...), sort_keys=True)``: every status write
    encodes a whole object, and building the dicts, sorting their keys and walking them in the generic encoder cost
    several times the text itself. Each ``_*_json`` function below lists its fields in sorted key order and spells
    zero-value omission exactly as :func:`to_wire` does; strings go through the ``json`` module's own escaping
    (``encode_basestring``, what ``ensure_ascii=False`` uses), so the text is the one-piece dump's, byte for byte
    (pinned by a property test against ``json.dumps(to_wire(...))``). The spec's text is memoized by identity
    (:func:`_spec_json`): a status write stores the spec object it read, so its spec is encoded once, not per write.
    """
    status = _status_json(task_action.status)
    return "".join(
        (
            _HEAD,
            _metadata_json(task_action.metadata),
            ',"spec":',
            _spec_json(task_action.spec),
            ',"status":' if status else "",
            status,
            "}",
        )
    )


def _dumps(document: WireDocument) -> str:
    return _ENCODER.encode(document)


_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` without building an encoder
per call."""

_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring
"""A JSON string literal exactly as :data:`_ENCODER` writes one (``ensure_ascii=False``): the C escaper."""

_HEAD: Final = f'{{"apiVersion":{json.dumps(API_VERSION)},"kind":{json.dumps(KIND)},"metadata":'
_MEMO_LIMIT: Final = 4_096
"""Entries per identity memo; a full memo is cleared (the live objects are encoded again once)."""


def _memoized_by_identity(encode: Callable[[T], str]) -> Callable[[T], str]:
    """``encode`` memoized by object identity: the records are immutable, so an object's text never changes, and a
    pass writes back the spec, labels, conditions and phase-history entries it read, as the same objects, so most of
    a status write's text was already encoded by the previous write of that object.

    An entry holds its object, so the object's ``id`` cannot be reused by another while the entry lives (the ``is``
    check makes that explicit). Thread-safe under the GIL: each dict operation is atomic; a lost race encodes twice.
    """
    texts: dict[int, tuple[T, str]] = {}

    def memoized(value: T) -> str:
        entry = texts.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        text = encode(value)
        if len(texts) >= _MEMO_LIMIT:
            texts.clear()
        texts[id(value)] = (value, text)
        return text

    return memoized


def _metadata_json(meta: ObjectMeta) -> str:
    """``ObjectMeta`` in sorted key order (annotations … uid), zero values omitted (R2)."""
    parts = []
    if meta.annotations:
        parts.append('"annotations":' + _map_json(meta.annotations))
    if meta.creation_timestamp is not None:
        parts.append('"creationTimestamp":"' + format_time(meta.creation_timestamp) + '"')
    if meta.deletion_timestamp is not None:
        parts.append('"deletionTimestamp":"' + format_time(meta.deletion_timestamp) + '"')
    if meta.finalizers:
        parts.append('"finalizers":[' + ",".join(map(_quote, meta.finalizers)) + "]")
    if meta.generation:
        parts.append('"generation":' + str(meta.generation))
    if meta.labels:
        parts.append('"labels":' + _map_json(meta.labels))
    if meta.name:
        parts.append('"name":' + _quote(meta.name))
    if meta.namespace:
        parts.append('"namespace":' + _quote(meta.namespace))
    if meta.resource_version:
        parts.append('"resourceVersion":' + _quote(meta.resource_version))
    if meta.uid:
        parts.append('"uid":' + _quote(meta.uid))
    return "{" + ",".join(parts) + "}"


def _status_json(status: TaskActionStatus) -> str:
    """``TaskActionStatus`` in sorted key order (attempts … systemFailures), zero values omitted (R5); "" when every
    field is zero (the document then has no ``status``). ``errorState`` is written whenever it is not None (R5)."""
    parts = []
    if status.attempts:
        parts.append('"attempts":' + str(status.attempts))
    if status.cache_status:
        parts.append('"cacheStatus":' + str(status.cache_status))
    if status.conditions:
        parts.append('"conditions":[' + ",".join(map(_condition_json, status.conditions)) + "]")
    if status.error_state is not None:
        parts.append('"errorState":' + _error_state_json(status.error_state))
    if status.phase_history:
        parts.append('"phaseHistory":[' + ",".join(map(_history_entry_json, status.phase_history)) + "]")
    if status.plugin_phase:
        parts.append('"pluginPhase":' + _quote(status.plugin_phase))
    if status.plugin_phase_version:
        parts.append('"pluginPhaseVersion":' + str(status.plugin_phase_version))
    if status.plugin_state:
        parts.append('"pluginState":"' + _base64(status.plugin_state) + '"')
    if status.plugin_state_version:
        parts.append('"pluginStateVersion":' + str(status.plugin_state_version))
    if status.signal_value:
        parts.append('"signalValue":"' + _base64(status.signal_value) + '"')
    if status.signalled_at is not None:
        parts.append('"signalledAt":"' + format_time(status.signalled_at) + '"')
    if status.signalled_by:
        parts.append('"signalledBy":' + _quote(status.signalled_by))
    if status.state_json:
        parts.append('"stateJson":' + _quote(status.state_json))
    if status.system_failures:
        parts.append('"systemFailures":' + str(status.system_failures))
    return "{" + ",".join(parts) + "}" if parts else ""


def _encode_condition(condition: Condition) -> str:
    """:func:`_condition_to_wire` as text: type, status, reason and message always, the other two unless zero."""
    moment = condition.last_transition_time
    generation = condition.observed_generation
    return "".join(
        (
            "{" if moment is None else '{"lastTransitionTime":"' + format_time(moment) + '",',
            '"message":',
            _quote(condition.message),
            ',"observedGeneration":' + str(generation) if generation else "",
            ',"reason":',
            _quote(condition.reason),
            ',"status":',
            _quote(condition.status),
            ',"type":',
            _quote(condition.type),
            "}",
        )
    )


def _encode_history_entry(entry: PhaseHistoryEntry) -> str:
    """:func:`_history_entry_to_wire` as text (R9)."""
    message = '{"message":' + _quote(entry.message) + "," if entry.message else "{"
    return message + '"occurredAt":"' + format_time(entry.occurred_at) + '","phase":' + _quote(entry.phase) + "}"


def _error_state_json(error: ErrorState) -> str:
    parts = []
    if error.code:
        parts.append('"code":' + _quote(error.code))
    if error.kind:
        parts.append('"kind":' + _quote(error.kind))
    if error.message:
        parts.append('"message":' + _quote(error.message))
    return "{" + ",".join(parts) + "}"


def _encode_map(values: PMap[str, str]) -> str:
    """A string map with sorted keys (a pyrsistent map iterates slowly: the memo matters most here)."""
    return "{" + ",".join(_quote(key) + ":" + _quote(value) for key, value in sorted(values.items())) + "}"


def _encode_spec(spec: TaskActionSpec) -> str:
    return _dumps(_spec_to_wire(spec))


_spec_json: Final = _memoized_by_identity(_encode_spec)
_map_json: Final = _memoized_by_identity(_encode_map)
_condition_json: Final = _memoized_by_identity(_encode_condition)
_history_entry_json: Final = _memoized_by_identity(_encode_history_entry)


def _metadata_to_wire(meta: ObjectMeta) -> WireDocument:
    return _omit_zero(
        {
            "name": meta.name,
            "namespace": meta.namespace,
            "uid": meta.uid,
            "labels": _sorted_map(meta.labels),
            "annotations": _sorted_map(meta.annotations),
            "finalizers": list(meta.finalizers),
            "deletionTimestamp": _optional_time(meta.deletion_timestamp),
            "creationTimestamp": _optional_time(meta.creation_timestamp),
            "resourceVersion": meta.resource_version,
            "generation": meta.generation,
        }
    )


def _spec_to_wire(spec: TaskActionSpec) -> WireDocument:
    document = _omit_zero(
        {
            "runName": spec.run_name,
            "project": spec.project,
            "domain": spec.domain,
            "actionName": spec.action_name,
            "actionType": spec.action_type,
            "conditionSpec": _base64(spec.condition_spec),
            "inputUri": spec.input_uri,
            "runOutputBase": spec.run_output_base,
            "cacheKey": spec.cache_key,
            "taskType": spec.task_type,
            "shortName": spec.short_name,
            "taskTemplate": _base64(spec.task_template),
            "envVars": _sorted_map(spec.env_vars),
            "group": spec.group,
        }
    )
    if spec.parent_action_name is not None:
        document["parentActionName"] = spec.parent_action_name
    if spec.interruptible is not None:
        document["interruptible"] = spec.interruptible
    return document


def _status_to_wire(status: TaskActionStatus) -> WireDocument:
    document = _omit_zero(
        {
            "stateJson": status.state_json,
            "pluginState": _base64(status.plugin_state),
            "pluginStateVersion": status.plugin_state_version,
            "pluginPhase": status.plugin_phase,
            "pluginPhaseVersion": status.plugin_phase_version,
            "attempts": status.attempts,
            "systemFailures": status.system_failures,
            "cacheStatus": status.cache_status,
            "conditions": [_condition_to_wire(condition) for condition in status.conditions],
            "phaseHistory": [_history_entry_to_wire(entry) for entry in status.phase_history],
            "signalValue": _base64(status.signal_value),
            "signalledBy": status.signalled_by,
            "signalledAt": _optional_time(status.signalled_at),
        }
    )
    if status.error_state is not None:
        error = status.error_state
        document["errorState"] = _omit_zero({"code": error.code, "kind": error.kind, "message": error.message})
    return document


def _condition_to_wire(condition: Condition) -> WireDocument:
    """Kubernetes ``metav1.Condition``: type, status, reason and message are always written (no ``omitempty``)."""
    document: WireDocument = {
        "type": condition.type,
        "status": condition.status,
        "reason": condition.reason,
        "message": condition.message,
    }
    document.update(
        _omit_zero(
            {
                "lastTransitionTime": _optional_time(condition.last_transition_time),
                "observedGeneration": condition.observed_generation,
            }
        )
    )
    return document


def _history_entry_to_wire(entry: PhaseHistoryEntry) -> WireDocument:
    """R9: ``{phase, occurredAt, message?}``."""
    document: WireDocument = {"phase": entry.phase, "occurredAt": format_time(entry.occurred_at)}
    if entry.message:
        document["message"] = entry.message
    return document


def _omit_zero(fields: Mapping[str, object]) -> WireDocument:
    """``omitempty``: drop "", 0, empty lists and maps, and None, i.e. every falsy value (booleans never pass
    through here)."""
    return {name: value for name, value in fields.items() if value}


def _sorted_map(values: PMap[str, str]) -> dict[str, str]:
    return dict(sorted(values.items()))


def _base64(data: bytes) -> str:
    """Go ``encoding/json`` for ``[]byte``: standard alphabet, padded."""
    return base64.standard_b64encode(data).decode("ascii")


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; a fraction only when there are microseconds, trailing zeros trimmed.

    Raises ValueError for a naive datetime: every time in the records is timezone-aware UTC. Memoized by value (an
    object's times repeat in each of its writes): aware datetimes are equal exactly when they are the same instant,
    which is what the text shows.
    """
    text = _TIMES.get(moment)
    if text is None:
        text = _format_time(moment)
        if len(_TIMES) >= _TIMES_LIMIT:
            _TIMES.clear()
        _TIMES[moment] = text
    return text


_TIMES: Final[dict[datetime, str]] = {}
_TIMES_LIMIT: Final = 8_192


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is UTC:  # every time in the records: no conversion needed
        utc = moment
    elif moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"cannot serialize a naive datetime: {moment!r}")
    else:
        utc = moment.astimezone(UTC)
    # isoformat (C) pads the year to four digits, writes the six fraction digits only when there are microseconds,
    # and ends in "+00:00" for UTC: drop that, trim the fraction's trailing zeros, add the Z. About twice as fast as
    # formatting the seven fields in Python.
    text = utc.isoformat()[:-6]
    return (text.rstrip("0") if utc.microsecond else text) + "Z"


# --------------------------------------------------------------------------------------------------------------------
# Reading


class _WireError(Exception):
    """The first problem found while reading; :func:`from_wire` turns it into ``Failure("<path>: <problem>")``."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.text = f"{path}: {problem}"


def from_wire(document: object) -> Result[TaskAction, str]:
    """Read a TaskAction from its JSON document; ``Failure`` names the first offending field and says why."""
    try:
        return Success(_task_action_from_wire(_Fields.of(document, "")))
    except _WireError as error:
        return Failure(error.text)


def from_json(text: str | bytes) -> Result[TaskAction, str]:
    """:func:`from_wire` over JSON text; malformed JSON is a ``Failure`` too."""
    try:
        document = json.loads(text)
    except ValueError as error:
        return Failure(f"not valid JSON: {error}")
    return from_wire(document)


def _task_action_from_wire(root: _Fields) -> TaskAction:
    root.constant("apiVersion", API_VERSION)
    root.constant("kind", KIND)
    metadata = root.child("metadata")
    if metadata is None:
        raise _WireError("metadata", "required")
    spec = root.child("spec")
    status = root.child("status")
    root.finish()
    return TaskAction(
        metadata=_metadata_from_wire(metadata),
        spec=TaskActionSpec() if spec is None else _spec_from_wire(spec),
        status=TaskActionStatus() if status is None else _status_from_wire(status),
    )


def _metadata_from_wire(fields: _Fields) -> ObjectMeta:
    meta = ObjectMeta(
        name=fields.string("name"),
        namespace=fields.string("namespace"),
        uid=fields.string("uid"),
        labels=fields.string_map("labels"),
        annotations=fields.string_map("annotations"),
        finalizers=fields.string_list("finalizers"),
        deletion_timestamp=fields.time("deletionTimestamp"),
        creation_timestamp=fields.time("creationTimestamp"),
        resource_version=fields.string("resourceVersion"),
        generation=fields.integer("generation", _INT64),
    )
    fields.finish(ignored=IGNORED_METADATA_FIELDS)
    return meta


def _spec_from_wire(fields: _Fields) -> TaskActionSpec:
    spec = TaskActionSpec(
        run_name=fields.string("runName"),
        project=fields.string("project"),
        domain=fields.string("domain"),
        action_name=fields.string("actionName"),
        parent_action_name=fields.optional(fields.string, "parentActionName"),
        action_type=fields.string("actionType"),
        condition_spec=fields.blob("conditionSpec"),
        input_uri=fields.string("inputUri"),
        run_output_base=fields.string("runOutputBase"),
        cache_key=fields.string("cacheKey"),
        task_type=fields.string("taskType"),
        short_name=fields.string("shortName"),
        task_template=fields.blob("taskTemplate"),
        env_vars=fields.string_map("envVars"),
        interruptible=fields.optional(fields.boolean, "interruptible"),
        group=fields.string("group"),
    )
    fields.finish()
    return spec


def _status_from_wire(fields: _Fields) -> TaskActionStatus:
    error_state = fields.child("errorState")
    status = TaskActionStatus(
        state_json=fields.string("stateJson"),
        plugin_state=fields.blob("pluginState"),
        plugin_state_version=fields.integer("pluginStateVersion", _UINT8),
        plugin_phase=fields.string("pluginPhase"),
        plugin_phase_version=fields.integer("pluginPhaseVersion", _UINT32),
        attempts=fields.integer("attempts", _UINT32),
        system_failures=fields.integer("systemFailures", _UINT32),
        cache_status=fields.integer("cacheStatus", _INT32),
        conditions=pvector(_condition_from_wire(item) for item in fields.children("conditions")),
        phase_history=pvector(_history_entry_from_wire(item) for item in fields.children("phaseHistory")),
        error_state=None if error_state is None else _error_state_from_wire(error_state),
        signal_value=fields.blob("signalValue"),
        signalled_by=fields.string("signalledBy"),
        signalled_at=fields.time("signalledAt"),
    )
    fields.finish()
    return status


def _condition_from_wire(fields: _Fields) -> Condition:
    condition = Condition(
        type=fields.string("type"),
        status=fields.string("status"),
        reason=fields.string("reason"),
        message=fields.string("message"),
        last_transition_time=fields.time("lastTransitionTime"),
        observed_generation=fields.integer("observedGeneration", _INT64),
    )
    fields.finish()
    return condition


def _history_entry_from_wire(fields: _Fields) -> PhaseHistoryEntry:
    occurred_at = fields.time("occurredAt")
    if occurred_at is None:
        raise _WireError(fields.child_path("occurredAt"), "required")
    entry = PhaseHistoryEntry(phase=fields.string("phase"), occurred_at=occurred_at, message=fields.string("message"))
    fields.finish()
    return entry


def _error_state_from_wire(fields: _Fields) -> ErrorState:
    error_state = ErrorState(code=fields.string("code"), kind=fields.string("kind"), message=fields.string("message"))
    fields.finish()
    return error_state


class _Fields:
    """One JSON object being read. Each accessor reads a field (absent or null gives the zero value) and
    remembers it, so :meth:`finish` can report whatever was not read as an unknown field."""

    def __init__(self, values: Mapping[str, object], path: str) -> None:
        self._values = values
        self._path = path
        self._read: set[str] = set()

    @classmethod
    def of(cls, value: object, path: str) -> _Fields:
        if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
            raise _WireError(path or "document", f"expected an object, got {_describe(value)}")
        return cls(value, path)

    def child_path(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def _get(self, name: str) -> object:
        self._read.add(name)
        return self._values.get(name)

    def present(self, name: str) -> bool:
        return self._values.get(name) is not None

    def optional(self, read: Callable[[str], T], name: str) -> T | None:
        """A nullable field: None when absent or null, else read with ``read``."""
        self._read.add(name)
        return read(name) if self.present(name) else None

    def constant(self, name: str, expected: str) -> None:
        value = self.string(name)
        if value and value != expected:
            raise _WireError(self.child_path(name), f"expected {json.dumps(expected)}, got {json.dumps(value)}")

    def string(self, name: str) -> str:
        return _expect(self._get(name), str, "", "a string", self.child_path(name))

    def boolean(self, name: str) -> bool:
        return _expect(self._get(name), bool, False, "a boolean", self.child_path(name))

    def integer(self, name: str, bounds: tuple[int, int]) -> int:
        value, path = self._get(name), self.child_path(name)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise _WireError(path, f"expected an integer, got {_describe(value)}")
        low, high = bounds
        if not low <= value <= high:
            raise _WireError(path, f"{value} is out of range [{low}, {high}]")
        return value

    def blob(self, name: str) -> bytes:
        text, path = self.string(name), self.child_path(name)
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _WireError(path, "not valid base64 (standard alphabet, padded)") from None

    def time(self, name: str) -> datetime | None:
        text, path = self.string(name), self.child_path(name)
        if not text:
            return None
        parsed = parse_time(text)
        if parsed is None:
            raise _WireError(path, f"not an RFC 3339 time: {json.dumps(text)}")
        return parsed

    def string_map(self, name: str) -> PMap[str, str]:
        value, path = self._get(name), self.child_path(name)
        fields = _Fields.of({} if value is None else value, path)
        return pmap({key: _expect(item, str, "", "a string", _key_path(path, key)) for key, item in fields.items()})

    def string_list(self, name: str) -> PVector[str]:
        path = self.child_path(name)
        items = self._list(name)
        return pvector(_expect(item, str, "", "a string", f"{path}[{index}]") for index, item in enumerate(items))

    def child(self, name: str) -> _Fields | None:
        value = self._get(name)
        return None if value is None else _Fields.of(value, self.child_path(name))

    def children(self, name: str) -> list[_Fields]:
        path = self.child_path(name)
        return [_Fields.of(item, f"{path}[{index}]") for index, item in enumerate(self._list(name))]

    def items(self) -> Iterable[tuple[str, object]]:
        return self._values.items()

    def _list(self, name: str) -> list[object]:
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _WireError(self.child_path(name), f"expected a list, got {_describe(value)}")
        return value

    def finish(self, ignored: frozenset[str] = frozenset()) -> None:
        """Reject the first field that was neither read nor ignored, suggesting the closest known name."""
        for name in self._values:
            if name not in self._read and name not in ignored:
                raise _WireError(self.child_path(name), f"unknown field{_suggestion(name, self._read)}")


def _expect(value: object, kind: type[T], zero: T, wanted: str, path: str) -> T:
    """``value`` if it is a ``kind`` (bool is not an int here), ``zero`` when absent or null."""
    if value is None:
        return zero
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _WireError(path, f"expected {wanted}, got {_describe(value)}")
    return value


def _suggestion(name: str, known: Iterable[str]) -> str:
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = by_lower.get(name.lower()) or next(iter(difflib.get_close_matches(name, list(known), n=1)), None)
    return f" (did you mean {json.dumps(close)}?)" if close else ""


def _key_path(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key)}]"


def _describe(value: object) -> str:
    """A JSON type name and a short excerpt of the value, for error messages."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )
    excerpt = repr(value)
    return f"{kind} {excerpt[:40]}{'…' if len(excerpt) > 40 else ''}"


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 date-time as an aware UTC datetime (fraction truncated to microseconds); None if not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_hours, off_minutes = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    if not zulu and (int(off_hours) > 23 or int(off_minutes) > 59):
        return None
    offset = timedelta(0) if zulu else timedelta(hours=int(off_hours), minutes=int(off_minutes))
    try:
        zone = timezone(-offset if sign == "-" else offset)
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, zone)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
