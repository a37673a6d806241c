"""Cheaper construction of the core's frozen, slotted dataclass records.

A frozen dataclass stores each field through ``object.__setattr__(self, name, value)``, which looks the slot up by
name on every store; in CPython 3.11 that costs about 1,500 machine instructions per field, and a decision round
builds some twenty records (a status alone has fourteen fields). :func:`fast_init` replaces the generated
``__init__`` by one with the same parameters, defaults and ``__post_init__`` call that stores through the slot
descriptors themselves (``type(self).field.__set__(self, value)``), about 40 % cheaper. Frozenness is untouched:
``__setattr__`` and ``__delattr__`` still raise :class:`dataclasses.FrozenInstanceError`.

The ``__init__`` is generated from the class's own fields, as :mod:`dataclasses` generates its own: the source holds
only the parameter list, one descriptor call per field and the ``__post_init__`` call (:func:`init_source`), every
name in it is a checked identifier, and it executes in a namespace holding only the descriptors and defaults. This
is the core's one use of ``exec``; the purity test allows it here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, TypeVar

T = TypeVar("T")

_FACTORY: Final = object()
"""Default of a ``default_factory`` parameter: "not given, call the factory" (as dataclasses does)."""


def init_source(cls: type) -> tuple[str, dict[str, object]]:
    """The ``__init__`` source for ``cls`` and the namespace it runs in; raises TypeError for what it cannot keep."""
    params = dataclasses.fields(cls)
    if "__slots__" not in cls.__dict__ or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__qualname__}: fast_init takes frozen dataclasses with slots=True")
    namespace: dict[str, object] = {"_FACTORY": _FACTORY}
    signature: list[str] = []
    body: list[str] = []
    for field in params:
        name = field.name
        if not name.isidentifier() or not field.init or field.kw_only:
            raise TypeError(f"{cls.__qualname__}.{name}: fast_init needs positional init fields with plain names")
        descriptor = cls.__dict__.get(name)
        if descriptor is None or not hasattr(descriptor, "__set__"):
            raise TypeError(f"{cls.__qualname__}.{name}: not a slot of the class itself")
        namespace[f"_set_{name}"] = descriptor.__set__
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            signature.append(f"{name}=_default_{name}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            signature.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _factory_{name}()")
        else:
            signature.append(name)
        body.append(f"    _set_{name}(self, {name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__({', '.join(['self', *signature])}):\n" + "\n".join(body or ["    pass"]) + "\n"
    return source, namespace


def fast_init(cls: type[T]) -> type[T]:
    """Class decorator, applied above ``@dataclass(frozen=True, slots=True)``: see the module docstring."""
    source, namespace = init_source(cls)
    original: Callable[..., None] = cls.__init__
    exec(source, namespace)
    init: Any = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(original.__annotations__)
    init.__doc__ = original.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
