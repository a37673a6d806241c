"""FieldReplacer: the interpreter's and adapters' cheap one-field ``dataclasses.replace``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.decision import RequeueAfter
from taskaction_core.interpreter.replacing import FieldReplacer
from taskaction_core.observations import HandleOutcome, Observations, PluginFailure, PluginResolved
from taskaction_core.records import FINALIZER, ObjectMeta, TaskAction, TaskActionSpec, TaskActionStatus
from taskaction_core.testing.builders import T0


def a_full_object_meta() -> ObjectMeta:
    return ObjectMeta(
        name="n",
        namespace="ns",
        uid="u",
        labels=pmap({"l": "1"}),
        annotations=pmap({"a": "2"}),
        finalizers=pvector([FINALIZER]),
        deletion_timestamp=T0,
        creation_timestamp=T0,
        resource_version="4",
        generation=3,
    )


@pytest.mark.parametrize("field", [f.name for f in fields(ObjectMeta)])
def test_field_replacer_each_object_meta_field_equals_dataclasses_replace(field: str) -> None:
    meta = a_full_object_meta()
    assert all(getattr(meta, f.name) != f.default for f in fields(ObjectMeta))  # every field set: none hides
    value = ObjectMeta("other").__getattribute__(field)
    replaced = FieldReplacer[ObjectMeta, object](ObjectMeta, field)(meta, value)
    assert replaced == replace(meta, **{field: value})
    assert type(replaced) is ObjectMeta


def test_field_replacer_task_action_status_keeps_metadata_and_spec() -> None:
    task_action = TaskAction(a_full_object_meta(), TaskActionSpec(run_name="r"), TaskActionStatus(attempts=1))
    status = TaskActionStatus(attempts=2)
    replaced = FieldReplacer[TaskAction, TaskActionStatus](TaskAction, "status")(task_action, status)
    assert replaced == replace(task_action, status=status)
    assert replaced.metadata is task_action.metadata
    assert replaced.spec is task_action.spec


def test_field_replacer_observations_sets_one_outcome() -> None:
    observations = Observations(now=T0, plugin=Success(PluginResolved("p")))
    handled = Failure(PluginFailure("boom", ()))
    replaced = FieldReplacer[Observations, HandleOutcome](Observations, "handle")(observations, handled)
    assert replaced == replace(observations, handle=handled)


def test_field_replacer_plain_dataclass_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Plain:
        value: int

    with pytest.raises(TypeError, match="fast_init"):
        FieldReplacer[Plain, int](Plain, "value")


def test_field_replacer_single_field_record_replaces_its_one_field() -> None:
    with_after = FieldReplacer[RequeueAfter, timedelta](RequeueAfter, "after")
    assert with_after(RequeueAfter(timedelta(seconds=1)), timedelta(seconds=2)) == RequeueAfter(timedelta(seconds=2))


def test_field_replacer_unknown_field_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="RequeueAfter has no field 'before'"):
        FieldReplacer[RequeueAfter, timedelta](RequeueAfter, "before")
