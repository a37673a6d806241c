"""R124 metric hooks: the OpenTelemetry adapter records the Go instruments (skipped when opentelemetry is absent)."""

from __future__ import annotations

from typing import Any

import pytest

from taskaction_core.interpreter.metrics import OpenTelemetryMetrics


class _Instrument:
    def __init__(self, name: str, sink: list[tuple[str, float, dict[str, Any]]]) -> None:
        self.name, self.sink = name, sink

    def record(self, value: float, attributes: dict[str, Any] | None = None) -> None:
        self.sink.append((self.name, value, attributes or {}))

    def add(self, value: float, attributes: dict[str, Any] | None = None) -> None:
        self.sink.append((self.name, value, attributes or {}))


class _Meter:
    def __init__(self, sink: list[tuple[str, float, dict[str, Any]]]) -> None:
        self.sink = sink

    def create_histogram(self, name: str, unit: str = "") -> _Instrument:
        return _Instrument(name, self.sink)

    def create_counter(self, name: str) -> _Instrument:
        return _Instrument(name, self.sink)


class _Provider:
    def __init__(self) -> None:
        self.sink: list[tuple[str, float, dict[str, Any]]] = []
        self.meters: list[str] = []

    def get_meter(self, name: str) -> _Meter:
        self.meters.append(name)
        return _Meter(self.sink)


def test_opentelemetry_metrics_record_the_r124_instruments_in_go_units() -> None:
    pytest.importorskip(
        "opentelemetry.metrics", reason="opentelemetry-api is optional (installed with the flyte extra)"
    )
    provider = _Provider()
    metrics = OpenTelemetryMetrics(provider)
    metrics.k8s_duration("status_update", True, 0.25)
    metrics.crd_size(1234)
    metrics.pass_done("RequeueAfter", 0.002)
    metrics.gc_deletion("already_gone")
    metrics.gc_sweep(False, 1.5)
    assert provider.meters == ["taskaction-controller", "taskaction-gc"]
    assert provider.sink == [
        ("taskaction.k8s.duration", 250.0, {"op": "status_update", "error": True}),
        ("taskaction.crd.size_bytes", 1234, {}),
        ("taskaction.reconcile.duration", 2.0, {"result": "RequeueAfter"}),
        ("taskaction.gc.deletions", 1, {"outcome": "already_gone"}),
        ("taskaction.gc.sweep.duration", 1500.0, {"error": False}),
    ]
