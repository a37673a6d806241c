"""The facts of a plugin's task execution context (R103–R107), computed by the core.

The interpreter wraps these facts with live ports (input reader, output writer, plugin-state manager, secret and
resource managers) before handing them to a plugin. Everything that decides a name, a path, a label or an
environment variable is decided here, in the core, so it can be tested without I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyrsistent.typing import PMap

from taskaction_core.fastinit import fast_init
from taskaction_core.template import Identifier, TaskTemplate


@fast_init
@dataclass(frozen=True, slots=True)
class TaskExecutionId:
    """``core.TaskExecutionIdentifier`` (R105)."""

    project: str
    domain: str
    run_name: str
    node_id: str
    retry_attempt: int
    task_id: Identifier | None


@fast_init
@dataclass(frozen=True, slots=True)
class OwnerReference:
    """The controller owner reference plugin resources carry (R107)."""

    name: str
    uid: str
    api_version: str = "flyte.org/v1"
    kind: str = "TaskAction"
    controller: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class TaskExecutionContext:
    """Everything a plugin call needs to know about the attempt it acts on (R103–R107)."""

    namespace: str
    name: str
    attempt: int
    """1-based attempt number (``status.attempts``, 0 read as 1)."""
    retry: int
    """0-based retry index used in generated names (R105)."""
    max_attempts: int
    input_prefix: str
    input_path: str
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    prev_checkpoint_prefix: str
    generated_name: str
    task_execution_id: TaskExecutionId
    owner: OwnerReference
    labels: PMap[str, str]
    annotations: PMap[str, str]
    env: PMap[str, str]
    service_account: str
    interruptible: bool
    template: TaskTemplate
    template_bytes: bytes
    task_type: str
    plugin_state: bytes
    plugin_state_version: int
