"""Edge cases of the protobuf boundary (R49, R68, R80): nanosecond bounds and deterministic pass-through bytes.

Added to kill mutants that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flyteidl2.core import tasks_pb2
from flyteidl2.workflow import run_definition_pb2
from returns.pipeline import is_successful

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.idl import decode_action_event_bytes, decode_task_template, encode_action_event
from taskaction_core.phases import ActionPhase

T0 = datetime(2026, 8, 8, 12, 0, 0, tzinfo=UTC)
_KEYS = [f"k{index:02d}" for index in range(40)]


def _template_with_metadata_keys(keys: list[str]) -> bytes:
    """A template whose interface holds a ``google.protobuf.Struct`` (a proto map), keys inserted in ``keys`` order."""
    template = tasks_pb2.TaskTemplate(type="python")
    variable = template.interface.inputs.variables.add(key="x")
    for key in keys:
        variable.value.type.metadata.fields[key].string_value = key
    return bytes(template.SerializeToString(deterministic=False))


def test_decode_task_template_interface_bytes_are_deterministic_for_maps() -> None:
    """R49: the interface feeds the cache key, so its bytes must not depend on map order (deterministic encoding,
    keys sorted) whatever order the writer used."""
    forward = decode_task_template(_template_with_metadata_keys(_KEYS)).unwrap()
    backward = decode_task_template(_template_with_metadata_keys(list(reversed(_KEYS)))).unwrap()
    expected = tasks_pb2.TaskTemplate.FromString(_template_with_metadata_keys(_KEYS)).interface
    assert forward.interface == bytes(expected.SerializeToString(deterministic=True))
    assert backward.interface == forward.interface


def _event_bytes(mutate_nanos: int) -> bytes:
    event = ActionEvent(ActionId("p", "d", "r", "a"), 1, ActionPhase.QUEUED, 0, T0, T0)
    message = encode_action_event(event)
    message.updated_time.nanos = mutate_nanos
    return bytes(message.SerializeToString())


def test_decode_action_event_bytes_timestamp_nanos_of_one_second_is_a_failure() -> None:
    """google.protobuf.Timestamp: nanos must be in [0, 999,999,999]; exactly 10^9 is invalid."""
    assert is_successful(decode_action_event_bytes(_event_bytes(999_999_999)))
    assert not is_successful(decode_action_event_bytes(_event_bytes(1_000_000_000)))


def test_decode_task_template_timeout_nanos_of_one_second_is_a_failure() -> None:
    """google.protobuf.Duration: |nanos| must be below 10^9; exactly 10^9 is not a valid Duration."""
    template = tasks_pb2.TaskTemplate(type="python")
    template.metadata.timeout.seconds = 1
    template.metadata.timeout.nanos = 1_000_000_000
    assert not is_successful(decode_task_template(bytes(template.SerializeToString())))
    template.metadata.timeout.nanos = 999_999_999
    assert is_successful(decode_task_template(bytes(template.SerializeToString())))


def test_encode_action_event_has_no_map_fields() -> None:
    """Why ``deterministic=True`` on event bytes is not observable: an ActionEvent contains no proto map at any depth
    (the flag only orders map entries). If a map is ever added, the equivalence in docs/ must be revisited."""
    assert not _has_map(run_definition_pb2.ActionEvent.DESCRIPTOR, set())


def _has_map(descriptor: object, seen: set[str]) -> bool:
    full_name: str = descriptor.full_name  # type: ignore[attr-defined]
    if full_name in seen:
        return False
    seen.add(full_name)
    for field in descriptor.fields:  # type: ignore[attr-defined]
        message_type = field.message_type
        if message_type is None:
            continue
        if message_type.GetOptions().map_entry or _has_map(message_type, seen):
            return True
    return False
