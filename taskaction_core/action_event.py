"""The ActionEvent record: what the reconciler reports to the run service (R68–R76).

It mirrors ``flyteidl2.workflow.ActionEvent`` field by field for the fields the reconciler sets;
:func:`taskaction_core.idl.encode_action_event` turns it into the protobuf message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyrsistent import pvector
from pyrsistent.typing import PVector

from taskaction_core.fastinit import fast_init
from taskaction_core.phase_info import TaskLog
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind


@fast_init
@dataclass(frozen=True, slots=True)
class ActionId:
    """``common.ActionIdentifier``; ``org`` is never set by the reconciler (R68, Q20)."""

    project: str
    domain: str
    run_name: str
    name: str


@fast_init
@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """``workflow.ErrorInfo`` (R70): message and kind only; the code is not sent."""

    message: str
    kind: ErrorKind


@fast_init
@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """``workflow.ClusterEvent`` (R71): only message and occurred_at are filled."""

    message: str
    occurred_at: datetime


@fast_init
@dataclass(frozen=True, slots=True)
class OutputReferences:
    """``task.OutputReferences`` (R72)."""

    output_uri: str
    report_uri: str


_NO_LOGS: PVector[TaskLog] = pvector()


@fast_init
@dataclass(frozen=True, slots=True)
class ActionEvent:
    """One ActionEvent (R68). ``cluster_events`` is None when absent (R71), distinct from an empty list."""

    id: ActionId
    attempt: int
    phase: ActionPhase
    version: int
    updated_time: datetime
    reported_time: datetime
    cluster: str = ""
    error_info: ErrorInfo | None = None
    outputs: OutputReferences | None = None
    cluster_events: PVector[ClusterEvent] | None = None
    log_info: PVector[TaskLog] = _NO_LOGS
    log_context: bytes = b""
    cache_status: CacheStatus = CacheStatus.CACHE_DISABLED

    @property
    def dedup_key(self) -> tuple[str, str, str, str, int, int, int]:
        """R114: the run service keeps only the first event per (project, domain, run, action, attempt, phase,
        version); later events with the same key are dropped whatever their content."""
        return (
            self.id.project,
            self.id.domain,
            self.id.run_name,
            self.id.name,
            self.attempt,
            int(self.phase),
            self.version,
        )
