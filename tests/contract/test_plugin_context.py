"""The plugin-facing context: the plugin-state manager (R101), input/output paths (R103, R104) and the trivial
secret and resource managers passed through to plugins (R107)."""

from __future__ import annotations

import pytest

from taskaction_core.interpreter.plugin_context import (
    AllocationStatus,
    PluginContext,
    PluginStateManager,
    ResourceManager,
    SecretManager,
)
from taskaction_core.observations import PluginStateWrite
from taskaction_core.testing.fakes import DictSecretManager, InMemoryDataStore, QuotaResourceManager
from tests.contract import a_context

# -- PluginStateManager (R101) ---------------------------------------------------------------------------------------


def test_state_manager_without_bytes_reports_previous_version() -> None:
    manager = PluginStateManager(b"", 3)
    assert manager.state_version == 3
    assert manager.get() == (0, None)


def test_state_manager_with_bytes_returns_previous_version_and_bytes() -> None:
    assert PluginStateManager(b"abc", 2).get() == (2, b"abc")


def test_state_manager_without_writes_has_no_new_state() -> None:
    assert PluginStateManager(b"abc", 2).new_state() is None


def test_state_manager_put_is_not_visible_in_the_same_round() -> None:
    manager = PluginStateManager(b"old", 1)
    manager.put(2, b"new")
    assert manager.get() == (1, b"old")
    assert manager.state_version == 1
    assert manager.new_state() == PluginStateWrite(state=b"new", version=2)


def test_state_manager_last_put_wins() -> None:
    manager = PluginStateManager(b"", 0)
    manager.put(1, b"first")
    manager.put(4, b"second")
    assert manager.new_state() == PluginStateWrite(state=b"second", version=4)


def test_state_manager_reset_writes_empty_state_at_version_zero() -> None:
    manager = PluginStateManager(b"old", 5)
    manager.reset()
    assert manager.new_state() == PluginStateWrite(state=b"", version=0)


@pytest.mark.parametrize(
    ("reset_first", "expected"),
    [(True, PluginStateWrite(b"after", 1)), (False, PluginStateWrite(b"", 0))],
)
def test_state_manager_last_of_put_and_reset_wins(reset_first: bool, expected: PluginStateWrite) -> None:
    manager = PluginStateManager(b"old", 5)
    if reset_first:
        manager.reset()
        manager.put(1, b"after")
    else:
        manager.put(1, b"after")
        manager.reset()
    assert manager.new_state() == expected


def test_state_manager_negative_version_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        PluginStateManager(b"", 0).put(-1, b"x")


def test_state_manager_from_facts_uses_persisted_state() -> None:
    manager = PluginStateManager.from_facts(a_context(plugin_state=b"s", plugin_state_version=7))
    assert manager.get() == (7, b"s")


# -- PluginContext ---------------------------------------------------------------------------------------------------


def a_plugin_context(data_store: InMemoryDataStore, output_prefix: str = "mem://bucket/run/ta/1") -> PluginContext:
    return PluginContext.build(
        a_context(output_prefix=output_prefix, plugin_state=b"s", plugin_state_version=1),
        data_store,
        DictSecretManager(),
        QuotaResourceManager(quota=1),
    )


def test_plugin_context_input_reader_reads_input_path() -> None:
    data_store = InMemoryDataStore({"mem://bucket/run/ta/inputs.pb": b"inputs"})
    context = a_plugin_context(data_store)
    assert context.input_reader.input_prefix == "mem://bucket/run/ta"
    assert context.input_reader.read().unwrap() == b"inputs"


@pytest.mark.parametrize("prefix", ["mem://bucket/run/ta/1", "mem://bucket/run/ta/1/"])
def test_plugin_context_output_writer_writes_under_output_prefix(prefix: str) -> None:
    data_store = InMemoryDataStore()
    context = a_plugin_context(data_store, prefix)
    context.output_writer.write_outputs(b"out").unwrap()
    context.output_writer.write_error(b"err").unwrap()
    assert data_store.blobs() == {
        "mem://bucket/run/ta/1/outputs.pb": b"out",
        "mem://bucket/run/ta/1/error.pb": b"err",
    }


def test_plugin_context_state_starts_from_facts_and_key_names_the_task_action() -> None:
    context = a_plugin_context(InMemoryDataStore())
    assert context.state.get() == (1, b"s")
    assert context.key == ("default", "ta")


def test_plugin_context_build_gives_each_call_its_own_state_manager() -> None:
    data_store = InMemoryDataStore()
    first, second = a_plugin_context(data_store), a_plugin_context(data_store)
    first.state.put(2, b"x")
    assert second.state.new_state() is None


# -- secret and resource managers ------------------------------------------------------------------------------------


def test_secret_manager_returns_known_secret_and_fails_unknown() -> None:
    secrets: SecretManager = DictSecretManager({"token": "s3cr3t"})
    assert secrets.get("token").unwrap() == "s3cr3t"
    assert "missing" in secrets.get("missing").failure().message


def test_resource_manager_grants_up_to_quota_per_namespace() -> None:
    manager = QuotaResourceManager(quota=2)
    port: ResourceManager = manager
    assert port.allocate("ns", "a").unwrap() is AllocationStatus.GRANTED
    assert port.allocate("ns", "b").unwrap() is AllocationStatus.GRANTED
    assert port.allocate("ns", "c").unwrap() is AllocationStatus.EXHAUSTED
    assert port.allocate("other", "c").unwrap() is AllocationStatus.GRANTED
    assert manager.held("ns") == frozenset({"a", "b"})


def test_resource_manager_reallocating_held_token_is_granted() -> None:
    manager = QuotaResourceManager(quota=1)
    manager.allocate("ns", "a").unwrap()
    assert manager.allocate("ns", "a").unwrap() is AllocationStatus.GRANTED


def test_resource_manager_release_frees_quota_and_is_idempotent() -> None:
    manager = QuotaResourceManager(quota=1)
    manager.allocate("ns", "a").unwrap()
    manager.release("ns", "a").unwrap()
    manager.release("ns", "a").unwrap()
    manager.release("never", "x").unwrap()
    assert manager.allocate("ns", "b").unwrap() is AllocationStatus.GRANTED


def test_resource_manager_negative_quota_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        QuotaResourceManager(quota=-1)
