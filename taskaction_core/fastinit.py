"""Cheaper construction of the core's frozen, slotted dataclass records.

A frozen dataclass stores each field through ``object.__setattr__(self, name, value)``, which looks the slot up by
name on every store; in CPython 3.11 that costs about 1,500 machine instructions per field, and a decision round
builds some twenty records (a status alone has fourteen fields). Plain attribute stores on a class without a
``__setattr__`` of its own cost about a tenth of that, but a frozen class has one (it raises).

:func:`fast_init` therefore builds each record on a *builder*: a private class with exactly the record's slots and no
``__setattr__``, so the stores in the generated ``__new__`` are plain slot stores. The finished object then takes the
record's class (``self.__class__ = cls``, which CPython allows between two classes of identical layout) and runs
``__post_init__``. The record's own ``__init__`` becomes ``object.__init__``. What a caller sees is unchanged: the
same parameters and defaults (``inspect.signature`` reads them from ``__new__``), ``dataclasses.replace``, equality,
hashing, ``repr``, pattern matching, and frozenness (``__setattr__`` and ``__delattr__`` still raise
:class:`dataclasses.FrozenInstanceError`). For a fourteen-field status this takes about 60 % fewer instructions than
the dataclass ``__init__``; for three fields about 10 % (``benchmarks/bench_core_instructions.py``).

Two consequences, both enforced: a record class cannot be subclassed (the builder's layout is the class's own), and
``copy``/``pickle`` rebuild a record through its constructor (``__reduce__``), as there is no argument-less
``__new__``; every ``__post_init__`` in the core only checks or normalises idempotently, so this is the same record.

The hottest paths skip ``type.__call__`` as well: :func:`constructor` returns a record's ``_construct``, a plain
function with the same parameters and body as its ``__new__``, which the interpreter calls without packing the
arguments into a tuple and a dict.

The ``__new__`` and ``_construct`` are generated from the class's own fields, as :mod:`dataclasses` generates its
``__init__``: the source holds only the parameter list, one attribute store per field, the class switch and the
``__post_init__`` call (:func:`init_source`); every name in it is a checked identifier, and it executes in a namespace
holding only the builder, the class, defaults and factories. This is the core's one use of ``exec``; the purity test
allows it here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_FACTORY: Final = object()
"""Default of a ``default_factory`` parameter: "not given, call the factory" (as dataclasses does)."""

_RESERVED: Final = frozenset({"cls", "self", "_new", "_builder", "_FACTORY", "_construct"})
"""Names the generated source uses itself; a field may not take one."""

_CONSTRUCTORS: Final[dict[type, Callable[..., Any]]] = {}
"""Each ``fast_init`` record's generated ``_construct`` function, by class (see :func:`constructor`)."""


def init_source(cls: type) -> tuple[str, dict[str, object]]:
    """The source of ``cls``'s ``__new__`` and ``_construct`` (the same body; ``_construct`` takes the class from the
    namespace instead of a parameter) and the namespace they run in; raises TypeError for what it cannot keep."""
    if "__slots__" not in cls.__dict__ or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__qualname__}: fast_init takes frozen dataclasses with slots=True")
    if cls.__bases__ != (object,):
        raise TypeError(f"{cls.__qualname__}: fast_init takes records without base classes")
    namespace: dict[str, object] = {"_FACTORY": _FACTORY, "_new": object.__new__, "_builder": _builder(cls), "cls": cls}
    signature: list[str] = []
    body: list[str] = ["    self = _new(_builder)"]
    for field in dataclasses.fields(cls):
        name = field.name
        if not name.isidentifier() or not field.init or field.kw_only or name in _RESERVED:
            raise TypeError(f"{cls.__qualname__}.{name}: fast_init needs positional init fields with plain names")
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            signature.append(f"{name}=_default_{name}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            signature.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _factory_{name}()")
        else:
            signature.append(name)
        body.append(f"    self.{name} = {name}")
    body.append("    self.__class__ = cls")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    body.append("    return self")
    code = "\n".join(body) + "\n"
    source = f"def __new__({', '.join(['cls', *signature])}):\n{code}def _construct({', '.join(signature)}):\n{code}"
    return source, namespace


def _builder(cls: type) -> type:
    """A mutable class with exactly ``cls``'s slots, so an object built on it may become a ``cls``."""
    slots: tuple[str, ...] = cls.__dict__["__slots__"]
    return type(f"{cls.__name__}Builder", (), {"__slots__": slots, "__module__": cls.__module__})


def fast_init(cls: type[T]) -> type[T]:
    """Class decorator, applied above ``@dataclass(frozen=True, slots=True)``: see the module docstring."""
    source, namespace = init_source(cls)
    original: Callable[..., None] = cls.__init__
    exec(source, namespace)
    new: Any = namespace["__new__"]
    construct: Any = namespace["_construct"]
    for function, name in ((new, "__new__"), (construct, "_construct")):
        function.__qualname__ = f"{cls.__qualname__}.{name}"
        function.__module__ = cls.__module__
        function.__annotations__ = dict(original.__annotations__)
        function.__doc__ = original.__doc__
    _CONSTRUCTORS[cls] = construct
    names = tuple(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]
    setattr(cls, "__new__", staticmethod(new))  # noqa: B010 - mypy refuses assigning to __new__ directly
    setattr(cls, "__init__", object.__init__)  # noqa: B010
    setattr(cls, "__reduce__", _reducer(names))  # noqa: B010
    setattr(cls, "__init_subclass__", classmethod(_refuse_subclass))  # noqa: B010
    return cls


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """``cls``'s constructor as a plain function: the same parameters, defaults and record as ``cls(...)``.

    Calling a class goes through ``type.__call__``, which packs the arguments into a tuple (and keywords into a
    dict), looks ``__new__`` up and calls it from those; a plain Python function is called directly by the
    interpreter. That saves about 1,000 machine instructions per record, and about half the cost of a call with
    keywords (``benchmarks/bench_core_instructions.py``), so the core's hot paths bind the constructors they use
    once at module level, ``_condition = constructor(Condition)``. Typed as the class's own signature.
    """
    construct = _CONSTRUCTORS.get(cls) if isinstance(cls, type) else None
    if construct is None:
        raise TypeError(f"{getattr(cls, '__qualname__', cls)!r} is not a fast_init record")
    function: Callable[P, T] = construct
    return function


def _reducer(names: tuple[str, ...]) -> Callable[[Any], tuple[type, tuple[object, ...]]]:
    """``__reduce__`` for ``copy`` and ``pickle``: rebuild through the constructor, from the field values."""

    def __reduce__(self: Any) -> tuple[type, tuple[object, ...]]:
        return type(self), tuple(getattr(self, name) for name in names)

    return __reduce__


def _refuse_subclass(cls: type, /, **kwargs: object) -> None:
    raise TypeError(f"{cls.__qualname__}: cannot subclass a fast_init record (its builder has the parent's layout)")
