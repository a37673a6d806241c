"""Metric hooks (R124). No-op by default; :class:`OpenTelemetryMetrics` when ``opentelemetry-api`` is installed."""

from __future__ import annotations

from typing import Any, Final, Protocol


class Metrics(Protocol):
    """What the interpreter and runtime report. Durations are seconds; exporters convert to the Go units (ms)."""

    def k8s_duration(self, op: str, error: bool, seconds: float) -> None:
        """R124 ``taskaction.k8s.duration``: around every get, update and status write (label patches untimed)."""

    def crd_size(self, size_bytes: int) -> None:
        """R124 ``taskaction.crd.size_bytes``: the JSON size of a fetched object."""

    def pass_done(self, result: str, seconds: float) -> None:
        """One reconcile pass finished with ``result`` (Done, RequeueAfter or Failed)."""

    def gc_deletion(self, outcome: str) -> None:
        """R124 ``taskaction.gc.deletions`` with outcome deleted / already_gone / failed."""

    def gc_sweep(self, error: bool, seconds: float) -> None:
        """R124 ``taskaction.gc.sweep.duration``."""


class NoMetrics:
    """The default: every hook does nothing (Go: the no-op meter provider)."""

    def k8s_duration(self, op: str, error: bool, seconds: float) -> None:
        return None

    def crd_size(self, size_bytes: int) -> None:
        return None

    def pass_done(self, result: str, seconds: float) -> None:
        return None

    def gc_deletion(self, outcome: str) -> None:
        return None

    def gc_sweep(self, error: bool, seconds: float) -> None:
        return None


NO_METRICS: Final = NoMetrics()

GC_SWEEP_BUCKETS_MS: Final = (100, 500, 1000, 5000, 10000, 30000, 60000, 300000)
"""R124: bucket boundaries of ``taskaction.gc.sweep.duration``."""


class OpenTelemetryMetrics:
    """R124 instruments on an OpenTelemetry meter (requires ``opentelemetry-api``; import errors surface here)."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics as otel

        provider = meter_provider or otel.get_meter_provider()
        controller = provider.get_meter("taskaction-controller")
        gc = provider.get_meter("taskaction-gc")
        self._size = controller.create_histogram("taskaction.crd.size_bytes", unit="By")
        self._k8s = controller.create_histogram("taskaction.k8s.duration", unit="ms")
        self._passes = controller.create_histogram("taskaction.reconcile.duration", unit="ms")
        self._deletions = gc.create_counter("taskaction.gc.deletions")
        self._sweep = gc.create_histogram("taskaction.gc.sweep.duration", unit="ms")

    def k8s_duration(self, op: str, error: bool, seconds: float) -> None:
        self._k8s.record(seconds * 1000, {"op": op, "error": error})

    def crd_size(self, size_bytes: int) -> None:
        self._size.record(size_bytes)

    def pass_done(self, result: str, seconds: float) -> None:
        self._passes.record(seconds * 1000, {"result": result})

    def gc_deletion(self, outcome: str) -> None:
        self._deletions.add(1, {"outcome": outcome})

    def gc_sweep(self, error: bool, seconds: float) -> None:
        self._sweep.record(seconds * 1000, {"error": error})
