"""How the command line shows TaskActions to people: rich tables, the describe page, phase timelines.

Machine-readable output (``-o yaml``, ``-o json``) goes through :mod:`~taskaction_core.cli.manifests` instead; this
module is only for eyes. The phase shown is the one the actions service derives from the conditions (R125), so the
table agrees with what a Flyte UI would show for the same status.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from returns.result import Success
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from taskaction_core.action_event import ActionEvent
from taskaction_core.adapters.serialization import format_time
from taskaction_core.adapters.sqlite import StoredWarning
from taskaction_core.cli.operations import decode_signal_value
from taskaction_core.naming import observed_attempt
from taskaction_core.output_path import compute_action_output_path, outputs_uri
from taskaction_core.phases import ActionPhase, CacheStatus, ConditionStatus, ConditionType, Reason
from taskaction_core.records import ACTION_TYPE_CONDITION, Condition, PhaseHistoryEntry, TaskAction

__all__ = [
    "age",
    "console",
    "describe",
    "display_phase",
    "events_table",
    "offset",
    "output_uri",
    "phase_style",
    "task_actions_table",
    "timeline",
]

_PROGRESSING_PHASES: Final = {
    Reason.QUEUED: ActionPhase.QUEUED,
    Reason.INITIALIZING: ActionPhase.INITIALIZING,
    Reason.EXECUTING: ActionPhase.RUNNING,
    Reason.PAUSED: ActionPhase.PAUSED,
}
_STYLES: Final = {
    "Succeeded": "green",
    "Failed": "red",
    "TimedOut": "red",
    "Aborted": "red",
    "Deleting": "magenta",
    "Deleted": "magenta",
    "Running": "cyan",
    "Paused": "yellow",
}


def console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width on a terminal, else ``COLUMNS`` or 160 (no wrapping in logs)."""
    probe = Console(stderr=stderr)
    width = int(os.environ.get("COLUMNS", "0") or 0) or (None if probe.is_terminal else 160)
    return Console(stderr=stderr, width=width, highlight=False)


def _title(phase: ActionPhase) -> str:
    return "".join(part.capitalize() for part in phase.name.split("_"))


def display_phase(task_action: TaskAction) -> str:
    """R125: the first matching condition in list order; ``Deleting`` while a deletion is pending, ``Pending`` when
    no condition matches yet (the controller has not written a status)."""
    if task_action.metadata.deletion_timestamp is not None:
        return "Deleting"
    for condition in task_action.status.conditions:
        phase = _condition_phase(condition)
        if phase is not None:
            return "Aborted" if condition.reason == Reason.ABORTED else _title(phase)
    return "Pending"


def _condition_phase(condition: Condition) -> ActionPhase | None:
    if condition.status != ConditionStatus.TRUE:
        return None
    if condition.type == ConditionType.SUCCEEDED:
        return ActionPhase.SUCCEEDED
    if condition.type == ConditionType.FAILED:
        return ActionPhase.TIMED_OUT if condition.reason == Reason.TIMED_OUT else ActionPhase.FAILED
    if condition.type == ConditionType.PROGRESSING:
        return _PROGRESSING_PHASES.get(Reason(condition.reason)) if condition.reason in set(Reason) else None
    return None


def phase_style(phase: str) -> str:
    return _STYLES.get(phase, "")


def _condition(task_action: TaskAction, type_: str) -> Condition | None:
    return next((c for c in task_action.status.conditions if c.type == type_), None)


def age(created: datetime | None, now: datetime) -> str:
    """kubectl's AGE column: the largest unit that fits (``12s``, ``5m``, ``3h``, ``2d``)."""
    if created is None:
        return "<unknown>"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cache_name(value: int) -> str:
    try:
        return CacheStatus(value).name.removeprefix("CACHE_")
    except ValueError:
        return str(value)


def task_actions_table(task_actions: Sequence[TaskAction], now: datetime, wide: bool, namespaces: bool) -> Table:
    """The ``get`` table: the CRD's printer columns (R1) plus the derived phase; ``wide`` adds the priority-1 ones."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    columns = ["NAMESPACE"] if namespaces else []
    columns += ["NAME", "RUN", "ACTION", "TASKTYPE", "PHASE", "STATUS", "ATTEMPTS", "CACHE", "AGE"]
    if wide:
        columns += ["PROGRESSING", "SUCCEEDED", "FAILED", "MESSAGE"]
    for column in columns:
        table.add_column(column, no_wrap=column != "MESSAGE", overflow="fold")
    for task_action in task_actions:
        meta, spec, status = task_action.metadata, task_action.spec, task_action.status
        progressing = _condition(task_action, ConditionType.PROGRESSING)
        phase = display_phase(task_action)
        row = [meta.namespace] if namespaces else []
        row += [
            meta.name,
            spec.run_name,
            spec.action_name,
            spec.task_type or (ACTION_TYPE_CONDITION if spec.action_type == ACTION_TYPE_CONDITION else ""),
            phase,
            progressing.reason if progressing else "",
            str(status.attempts) if status.attempts else "",
            cache_name(status.cache_status) if status.cache_status else "",
            age(meta.creation_timestamp, now),
        ]
        if wide:
            row += [_condition_status(task_action, t) for t in ConditionType]
            row.append(progressing.message if progressing else "")
        table.add_row(*[Text(cell, style=phase_style(cell) if cell == phase else "") for cell in row])
    return table


def _condition_status(task_action: TaskAction, type_: str) -> str:
    found = _condition(task_action, type_)
    return found.status if found else ""


def offset(moment: datetime, origin: datetime) -> str:
    """``+1.234s`` from ``origin``."""
    return f"+{(moment - origin).total_seconds():.3f}s"


def timeline(history: Sequence[PhaseHistoryEntry], origin: datetime) -> Table:
    """The phase history (R9) as a timeline: offset from ``origin``, the time between entries, phase, message."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("AT", "TOOK", "PHASE", "MESSAGE"):
        table.add_column(column, overflow="fold")
    previous: datetime | None = None
    for entry in history:
        took = "" if previous is None else f"{(entry.occurred_at - previous).total_seconds():.3f}s"
        phase = entry.phase
        shown = "Succeeded" if phase == Reason.COMPLETED else "Failed" if "Failure" in phase else phase
        style = phase_style(shown)
        table.add_row(offset(entry.occurred_at, origin), took, Text(phase, style=style), Text(entry.message))
        previous = entry.occurred_at
    return table


def output_uri(task_action: TaskAction) -> str:
    """R72/R108: the current attempt's ``outputs.pb`` URI; empty without ``runOutputBase`` or for a bad base."""
    spec = task_action.spec
    if not spec.run_output_base:
        return ""
    meta = task_action.metadata
    attempt = observed_attempt(task_action.status.attempts)
    prefix = compute_action_output_path(meta.namespace, meta.name, spec.run_output_base, spec.action_name, attempt)
    return outputs_uri(prefix.unwrap()) if isinstance(prefix, Success) else ""


def events_table(events: Sequence[ActionEvent], origin: datetime | None = None, show_action: bool = True) -> Table:
    """ActionEvents as the run service stores them: one row per (attempt, phase, version), in arrival order."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    columns = ["UPDATED", *(["RUN", "ACTION"] if show_action else []), "ATTEMPT", "PHASE", "VERSION", "CACHE"]
    for column in (*columns, "ERROR / OUTPUT"):
        table.add_column(column, overflow="fold")
    for event in events:
        when = offset(event.updated_time, origin) if origin else format_time(event.updated_time)
        phase = _title(event.phase)
        detail = ""
        if event.error_info is not None:
            detail = f"[{event.error_info.kind.name}] {event.error_info.message}"
        elif event.outputs is not None and event.phase == ActionPhase.SUCCEEDED:
            detail = event.outputs.output_uri
        row: list[str | Text] = [when, *([Text(event.id.run_name), Text(event.id.name)] if show_action else [])]
        row += [str(event.attempt), Text(phase, style=phase_style(phase)), str(event.version)]
        row += [cache_name(event.cache_status), Text(detail)]
        table.add_row(*row)
    return table


def describe(
    task_action: TaskAction, events: Sequence[ActionEvent], warnings: Sequence[StoredWarning], now: datetime
) -> RenderableType:
    """The ``describe`` page: identity, spec, status, conditions, phase timeline, error, output, events, warnings."""
    meta, spec, status = task_action.metadata, task_action.spec, task_action.status
    phase = display_phase(task_action)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    rows: list[tuple[str, str | Text]] = [
        ("Name", meta.name),
        ("Namespace", meta.namespace),
        ("UID", meta.uid),
        ("Created", f"{_time(meta.creation_timestamp)} ({age(meta.creation_timestamp, now)} ago)"),
        ("Phase", Text(phase, style=phase_style(phase))),
        ("Labels", ", ".join(f"{k}={v}" for k, v in sorted(meta.labels.items())) or "<none>"),
        ("Finalizers", ", ".join(meta.finalizers) or "<none>"),
    ]
    if meta.deletion_timestamp is not None:
        rows.append(("Deleting since", _time(meta.deletion_timestamp)))
    rows += [
        ("Run / Action", f"{spec.project}/{spec.domain}/{spec.run_name} / {spec.action_name}"),
        ("Action type", spec.action_type or "task"),
    ]
    if spec.action_type == ACTION_TYPE_CONDITION:
        rows += _signal_rows(task_action)
    else:
        rows += [
            ("Task type", spec.task_type),
            ("Cache key", spec.cache_key or "<none>"),
            ("Input URI", spec.input_uri),
            ("Output base", spec.run_output_base),
            ("Plugin phase", f"{status.plugin_phase} (version {status.plugin_phase_version})"),
            ("Attempts", str(status.attempts)),
            ("System failures", str(status.system_failures)),
            ("Cache status", cache_name(status.cache_status)),
            ("Output URI", output_uri(task_action) or "<none>"),
        ]
    if status.error_state is not None:
        error = status.error_state
        rows.append(("Last error", Text(f"[{error.kind or '-'}] {error.code}: {error.message}", style="red")))
    for label, value in rows:
        head.add_row(label, value if isinstance(value, Text) else Text(value))
    parts: list[RenderableType] = [head, _section("Conditions"), _conditions(task_action.status.conditions)]
    origin = meta.creation_timestamp or (status.phase_history[0].occurred_at if status.phase_history else now)
    parts += [_section("Phase history (from creation)"), timeline(status.phase_history, origin)]
    parts += [_section(f"ActionEvents ({len(events)})"), events_table(events, origin, show_action=False)]
    if warnings:
        parts += [_section("Warnings"), _warnings(warnings)]
    return Group(*parts)


def _signal_rows(task_action: TaskAction) -> list[tuple[str, str | Text]]:
    status = task_action.status
    if not status.signal_value:
        return [("Signal", "<none>")]
    value = decode_signal_value(status.signal_value)
    return [("Signal", f"{value} by {status.signalled_by!r} at {_time(status.signalled_at)}")]


def _section(title: str) -> Text:
    return Text(f"\n{title}:", style="bold underline")


def _conditions(conditions: Sequence[Condition]) -> RenderableType:
    if not conditions:
        return Text("<none>")
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for condition in conditions:
        cells = (condition.type, condition.status, condition.reason, _time(condition.last_transition_time))
        table.add_row(*(Text(cell) for cell in (*cells, condition.message)))
    return table


def _warnings(warnings: Sequence[StoredWarning]) -> Tree:
    tree = Tree("Warning events", hide_root=True)
    for warning in warnings:
        line = Text.assemble((warning.reason, "yellow"), f" ({warning.action}) ×{warning.count}: {warning.note}")
        tree.add(line)
    return tree


def _time(moment: datetime | None) -> str:
    return format_time(moment) if moment is not None else "<none>"


def seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():.1f}s"
