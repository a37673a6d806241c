"""Contract suites: one module per port, run against every adapter of that port (design.md §7, §8).

Each module keeps a ``*_FACTORIES`` mapping from adapter name to a factory typed as returning the *port protocol*, so
mypy checks that every adapter satisfies the protocol, and a fixture parametrised over the mapping feeds every test.
A new adapter (SQLite, PostgreSQL) joins a suite by adding one entry. Fault injection is a property of the fakes
only, so it is tested in ``test_faults.py``, not in the adapter-agnostic suites.

This module holds the few builders the suites share.
"""

from __future__ import annotations

from pyrsistent import pmap

from taskaction_core.context import OwnerReference, TaskExecutionContext, TaskExecutionId
from taskaction_core.template import TaskTemplate


def a_context(
    *,
    namespace: str = "default",
    name: str = "ta",
    plugin_state: bytes = b"",
    plugin_state_version: int = 0,
    output_prefix: str = "mem://bucket/run/ta/1",
) -> TaskExecutionContext:
    """The facts of a first attempt, with paths under ``mem://bucket``."""
    return TaskExecutionContext(
        namespace=namespace,
        name=name,
        attempt=1,
        retry=0,
        max_attempts=1,
        input_prefix="mem://bucket/run/ta",
        input_path="mem://bucket/run/ta/inputs.pb",
        output_prefix=output_prefix,
        raw_output_prefix=output_prefix,
        checkpoint_prefix=f"{output_prefix}/_flytecheckpoints",
        prev_checkpoint_prefix="",
        generated_name=f"{name}-0",
        task_execution_id=TaskExecutionId("p", "d", "run", name, 0, None),
        owner=OwnerReference(name=name, uid=f"uid-{name}"),
        labels=pmap(),
        annotations=pmap(),
        env=pmap(),
        service_account="",
        interruptible=False,
        template=TaskTemplate(),
        template_bytes=b"",
        task_type="python-task",
        plugin_state=plugin_state,
        plugin_state_version=plugin_state_version,
    )
