"""Plugin registry resolution (R100), plugin properties validation (R99) and the error-code chain (R58)."""

from __future__ import annotations

import pytest

from taskaction_core.interpreter.ports import Plugin, PluginError, PluginProperties, PluginRegistry, error_codes
from taskaction_core.phase_info import PHASE_INFO_UNDEFINED, Transition
from taskaction_core.testing.fakes import ScriptedPlugin


def a_plugin(plugin_id: str, max_length: int | None = None) -> Plugin:
    return ScriptedPlugin(plugin_id, [Transition(PHASE_INFO_UNDEFINED)], properties=PluginProperties(max_length))


def resolved_id(registry: PluginRegistry, task_type: str) -> str:
    return registry.resolve(task_type).unwrap().id


def test_registry_resolves_exact_task_type() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task", "container"])
    registry.register(a_plugin("spark"), ["spark"])
    assert resolved_id(registry, "container") == "pod"
    assert resolved_id(registry, "spark") == "spark"


def test_registry_unknown_task_type_falls_back_to_default() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"], default=True)
    assert resolved_id(registry, "ray") == "pod"


def test_registry_exact_match_wins_over_default() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"], default=True)
    registry.register(a_plugin("ray"), ["ray"])
    assert resolved_id(registry, "ray") == "ray"


def test_registry_without_match_or_default_reports_go_message() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"])
    failure = registry.resolve("ray").failure()
    assert failure.message == 'no plugin registered for task type "ray" and no default plugin available'


def test_registry_quotes_task_type_like_go() -> None:
    failure = PluginRegistry().resolve('a"b\n').failure()
    assert failure.message == 'no plugin registered for task type "a\\"b\\n" and no default plugin available'


def test_registry_later_registration_overwrites_task_type() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("first"), ["python-task"])
    registry.register(a_plugin("second"), ["python-task"])
    assert resolved_id(registry, "python-task") == "second"


def test_registry_first_default_stays_unless_overridden() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("first"), [], default=True)
    registry.register(a_plugin("second"), [], default=True)
    assert resolved_id(registry, "x") == "first"
    registry.register(a_plugin("third"), [], default=True, override_default=True)
    assert resolved_id(registry, "x") == "third"


def test_registry_route_sends_task_type_to_registered_plugin() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"])
    registry.register(a_plugin("agent"), ["agent"])
    registry.route("python-task", "agent").unwrap()
    assert resolved_id(registry, "python-task") == "agent"


def test_registry_route_to_unknown_plugin_changes_nothing() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"])
    assert "nope" in registry.route("python-task", "nope").failure().message
    assert resolved_id(registry, "python-task") == "pod"


def test_registry_by_id_finds_registered_plugins_only() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("pod"), ["python-task"])
    assert registry.by_id("pod").unwrap().id == "pod"
    assert registry.by_id("spark").failure().message == 'no plugin with id "spark"'


@pytest.mark.parametrize("max_length", [0, 7])
def test_registry_rejects_generated_name_max_length_below_eight(max_length: int) -> None:
    with pytest.raises(ValueError, match="generated_name_max_length"):
        PluginRegistry().register(a_plugin("short", max_length), ["x"])


def test_registry_accepts_generated_name_max_length_of_eight() -> None:
    registry = PluginRegistry()
    registry.register(a_plugin("ok", 8), ["x"])
    assert registry.resolve("x").unwrap().properties.generated_name_max_length == 8


# -- error codes along the cause chain (R58) --------------------------------------------------------------------------


def test_error_codes_reads_cause_chain_outermost_first() -> None:
    try:
        try:
            try:
                raise PluginError("bad spec", "BadTaskSpecification")
            except PluginError as inner:
                raise KeyError("lookup") from inner
        except KeyError as middle:
            raise PluginError("handle failed", "DownstreamSystemError") from middle
    except PluginError as outer:
        assert error_codes(outer) == ("DownstreamSystemError", "BadTaskSpecification")
        assert str(outer) == "handle failed"


def test_error_codes_of_uncoded_errors_is_empty() -> None:
    assert error_codes(PluginError("no code")) == ()
    assert error_codes(RuntimeError("plain")) == ()


def test_error_codes_stops_at_a_cycle() -> None:
    first, second = PluginError("a", "A"), PluginError("b", "B")
    first.__cause__, second.__cause__ = second, first
    assert error_codes(first) == ("A", "B")
