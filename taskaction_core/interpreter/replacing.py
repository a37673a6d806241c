"""One-field replacement of a record, for the interpreter's and the adapters' hot paths.

``dataclasses.replace(record, field=value)`` introspects the class on every call (its fields, which are init fields)
and calls the class with keywords through ``type.__call__``; a pass pays for it several times: the object its status
write sends, the observations of each answered question, the resourceVersion a store stamps on what it writes.
:class:`FieldReplacer` introspects once per (class, field) and builds the record through its ``fast_init``
constructor function (:func:`~taskaction_core.fastinit.constructor`, docs/design.md §7), about a third of
``replace``'s cost. Every other field is copied, so a field added to a record later is carried over too, and the
result equals ``replace``'s (``__post_init__`` runs as it does there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Generic, TypeVar

from taskaction_core.fastinit import constructor

__all__ = ["FieldReplacer"]

R = TypeVar("R")
V = TypeVar("V")


class FieldReplacer(Generic[R, V]):
    """``dataclasses.replace(record, <field>=value)`` for one field of one ``fast_init`` record class (see the module
    docstring); any other class is a TypeError."""

    def __init__(self, cls: type[R], field: str) -> None:
        names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]  # a dataclass, as every record
        if field not in names:
            raise TypeError(f"{cls.__qualname__} has no field {field!r}")
        getter = attrgetter(*names)
        # attrgetter of one name returns the value itself, not a 1-tuple.
        self._values: Callable[[R], tuple[object, ...]] = getter if len(names) > 1 else lambda record: (getter(record),)
        self._index = names.index(field)
        self._build: Callable[..., R] = constructor(cls)

    def __call__(self, record: R, value: V) -> R:
        values = list(self._values(record))
        values[self._index] = value
        return self._build(*values)
