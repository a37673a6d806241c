"""``fast_init``: the generated ``__new__`` keeps the dataclass contract and its source stays plain field stores."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import re
from datetime import timedelta

import pytest
from pyrsistent import pvector
from pyrsistent.typing import PVector

import taskaction_core
from taskaction_core.fastinit import constructor, fast_init, init_source
from taskaction_core.policy import Policy
from taskaction_core.records import Condition, TaskActionStatus

_SHELLS = ("interpreter", "adapters", "runtime", "cli", "testing")
_LINE_GRAMMAR = re.compile(
    r"def __new__\(cls(, \w+(=_default_\w+|=_FACTORY)?)*\):"
    r"|def _construct\((\w+(=_default_\w+|=_FACTORY)?(, \w+(=_default_\w+|=_FACTORY)?)*)?\):"
    r"|    self = _new\(_builder\)"
    r"|    self\.(?P<stored>\w+) = (?P=stored)"
    r"|    if \w+ is _FACTORY:"
    r"|        (?P<made>\w+) = _factory_(?P=made)\(\)"
    r"|    self\.__class__ = cls"
    r"|    self\.__post_init__\(\)"
    r"|    return self"
)


def _core_records() -> list[type]:
    """Every dataclass of the pure core that carries ``fast_init``."""
    found: list[type] = []
    for info in pkgutil.walk_packages(taskaction_core.__path__, "taskaction_core."):
        if info.name.split(".")[1] in _SHELLS:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == info.name and _has_fast_init(value):
                found.append(value)
    return found


def _has_fast_init(cls: type) -> bool:
    new = vars(cls).get("__new__")
    return dataclasses.is_dataclass(cls) and "_builder" in getattr(getattr(new, "__func__", None), "__globals__", {})


def _expected_signature(cls: type) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for field in dataclasses.fields(cls):
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        out.append((field.name, has_default))
    return out


def test_fast_init_core_records_are_covered() -> None:
    names = {cls.__name__ for cls in _core_records()}
    assert {"TaskActionStatus", "Condition", "ActionEvent", "PhaseInfo", "PersistStatus", "Decision"} <= names


@pytest.mark.parametrize("cls", _core_records(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_fast_init_generated_source_is_only_field_stores(cls: type) -> None:
    source, namespace = init_source(cls)
    for line in source.splitlines():
        assert _LINE_GRAMMAR.fullmatch(line), f"unexpected generated line: {line!r}"
    allowed_values = {"_FACTORY", "_new", "_builder", "cls"} | {
        f"_{kind}_{f.name}" for f in dataclasses.fields(cls) for kind in ("default", "factory")
    }
    assert set(namespace) <= allowed_values
    matches = [_LINE_GRAMMAR.fullmatch(line) for line in source.splitlines()]
    stored = [m.group("stored") for m in matches if m is not None and m.group("stored")]
    assert stored == [f.name for f in dataclasses.fields(cls)] * 2  # __new__, then _construct with the same body
    assert namespace.get("cls", cls) is cls


@pytest.mark.parametrize("cls", _core_records(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_fast_init_builder_has_exactly_the_record_slots(cls: type) -> None:
    _, namespace = init_source(cls)
    builder = namespace["_builder"]
    assert isinstance(builder, type)
    assert builder.__slots__ == cls.__slots__  # type: ignore[attr-defined]
    assert "__setattr__" not in vars(builder) and builder.__bases__ == (object,)


@pytest.mark.parametrize("cls", _core_records(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_fast_init_signature_matches_the_fields(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    got = [(p.name, p.default is not inspect.Parameter.empty) for p in parameters]
    assert got == _expected_signature(cls)
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)


def test_fast_init_positional_and_keyword_construction_agree() -> None:
    positional = Condition("Succeeded", "True", "Completed", "done", None, 0)
    keyword = Condition(
        type="Succeeded", status="True", reason="Completed", message="done", last_transition_time=None,
        observed_generation=0,
    )  # fmt: skip
    assert positional == keyword
    assert (positional.type, positional.observed_generation) == ("Succeeded", 0)


def test_fast_init_default_factory_gives_each_instance_a_fresh_value() -> None:
    status = TaskActionStatus()
    assert status.conditions == pvector() and status.phase_history == pvector()
    assert dataclasses.replace(status, attempts=3).attempts == 3


def test_fast_init_record_stays_frozen() -> None:
    condition = Condition("Succeeded", "True", "Completed", "done", None, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        condition.message = "changed"  # type: ignore[misc]


def test_fast_init_post_init_still_validates() -> None:
    with pytest.raises(ValueError, match="requeue_after must not be negative"):
        Policy(requeue_after=timedelta(seconds=-1))
    assert Policy(requeue_after=timedelta(0)).requeue_after == timedelta(seconds=10)


def test_fast_init_missing_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Condition("Succeeded")  # type: ignore[call-arg]


def test_fast_init_rejects_a_class_without_slots() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        value: int

    with pytest.raises(TypeError, match="frozen dataclasses with slots=True"):
        fast_init(Loose)


def test_fast_init_rejects_keyword_only_fields() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        value: int

    with pytest.raises(TypeError, match="positional init fields"):
        fast_init(KeywordOnly)


def test_fast_init_local_class_with_factory_default_and_post_init() -> None:
    seen: list[int] = []

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Local:
        first: int
        second: str = "x"
        third: PVector[int] = dataclasses.field(default_factory=pvector)

        def __post_init__(self) -> None:
            seen.append(self.first)

    one, two = Local(1), Local(2, "y", pvector([3]))
    assert (one.first, one.second, one.third) == (1, "x", pvector())
    assert (two.first, two.second, two.third) == (2, "y", pvector([3]))
    assert seen == [1, 2]


def test_fast_init_rejects_a_field_inherited_from_a_base_class() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        value: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        pass

    with pytest.raises(TypeError, match="records without base classes"):
        fast_init(Derived)


def test_fast_init_record_has_the_class_and_no_builder_left() -> None:
    condition = Condition("Succeeded", "True", "Completed", "done", None, 0)
    assert type(condition) is Condition
    assert isinstance(condition, Condition)
    assert vars(Condition)["__init__"] is object.__init__


def test_fast_init_copy_and_pickle_rebuild_an_equal_record() -> None:
    status = TaskActionStatus(attempts=2, conditions=pvector([Condition("Succeeded", "True", "Completed")]))
    for copied in (copy.copy(status), copy.deepcopy(status), pickle.loads(pickle.dumps(status))):
        assert copied == status and type(copied) is TaskActionStatus
    policy = Policy(requeue_after=timedelta(0))
    assert copy.deepcopy(policy) == policy


def test_fast_init_record_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError, match="cannot subclass a fast_init record"):

        class Special(Condition):
            pass


def test_fast_init_rejects_a_field_named_like_the_generated_code() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Clash:
        cls: int

    with pytest.raises(TypeError, match="positional init fields with plain names"):
        fast_init(Clash)


def test_constructor_builds_the_same_record_as_the_class() -> None:
    make = constructor(Condition)
    assert inspect.isfunction(make) and make is not Condition
    positional = make("Succeeded", "True", "Completed", "done", None, 0)
    keyword = make(type="Succeeded", status="True", reason="Completed")
    assert positional == Condition("Succeeded", "True", "Completed", "done", None, 0)
    assert type(positional) is Condition and type(keyword) is Condition
    assert keyword == Condition("Succeeded", "True", "Completed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        positional.message = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("cls", _core_records(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_constructor_has_the_class_signature(cls: type) -> None:
    assert inspect.signature(constructor(cls)) == inspect.signature(cls)


def test_constructor_runs_factories_and_post_init() -> None:
    status = constructor(TaskActionStatus)()
    assert status == TaskActionStatus() and status.conditions == pvector()
    make_policy = constructor(Policy)
    assert make_policy(requeue_after=timedelta(0)).requeue_after == timedelta(seconds=10)
    with pytest.raises(ValueError, match="requeue_after must not be negative"):
        make_policy(requeue_after=timedelta(seconds=-1))


def test_constructor_of_a_plain_class_is_a_type_error() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        value: int

    with pytest.raises(TypeError, match="is not a fast_init record"):
        constructor(Plain)
    with pytest.raises(TypeError, match="is not a fast_init record"):
        constructor(len)
