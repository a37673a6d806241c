"""Contract of the TaskAction store port: Kubernetes API semantics (R24, R29, R31, R65–R67, R91, R118).

Runs against every adapter in :data:`STORE_FACTORIES`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector

from taskaction_core.interpreter.ports import Clock, StoreErrorKind, TaskActionStore, WatchEvent, WatchEventType
from taskaction_core.records import FINALIZER, ObjectMeta, TaskAction, TaskActionSpec, TaskActionStatus
from taskaction_core.testing.fakes import InMemoryTaskActionStore, ManualClock
from tests.adapters.factories import sqlite_store

StoreFactory = Callable[[Clock], TaskActionStore]

STORE_FACTORIES: dict[str, StoreFactory] = {"in-memory": InMemoryTaskActionStore, "sqlite": sqlite_store}

OTHER_FINALIZER = "example.com/other"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, clock: ManualClock) -> TaskActionStore:
    factory = STORE_FACTORIES[request.param]
    return factory(clock)


def a_new_task_action(
    name: str = "ta",
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    finalizers: tuple[str, ...] = (),
) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=pmap(labels or {}), finalizers=pvector(finalizers)),
        spec=TaskActionSpec(run_name="run", project="p", domain="d", action_name=name, task_type="python-task"),
    )


def created(store: TaskActionStore, task_action: TaskAction) -> TaskAction:
    return store.create(task_action).unwrap()


def drain(watch_get: Callable[[float | None], WatchEvent | None]) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    while (event := watch_get(0.01)) is not None:
        events.append(event)
    return events


# -- create and get --------------------------------------------------------------------------------------------------


def test_store_create_assigns_server_fields(store: TaskActionStore, clock: ManualClock) -> None:
    stored = created(store, a_new_task_action())
    assert stored.metadata.uid != ""
    assert stored.metadata.creation_timestamp == clock.now()
    assert stored.metadata.generation == 1
    assert int(stored.metadata.resource_version) > 0
    assert store.get("default", "ta").unwrap() == stored


def test_store_create_two_objects_get_distinct_uids_and_increasing_versions(store: TaskActionStore) -> None:
    first = created(store, a_new_task_action("a"))
    second = created(store, a_new_task_action("b"))
    assert first.metadata.uid != second.metadata.uid
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


def test_store_create_duplicate_name_is_already_exists(store: TaskActionStore) -> None:
    created(store, a_new_task_action())
    assert store.create(a_new_task_action()).failure().kind is StoreErrorKind.ALREADY_EXISTS


def test_store_create_same_name_other_namespace_succeeds(store: TaskActionStore) -> None:
    created(store, a_new_task_action(namespace="a"))
    assert created(store, a_new_task_action(namespace="b")).metadata.namespace == "b"


def test_store_create_drops_status(store: TaskActionStore) -> None:
    with_status = replace(a_new_task_action(), status=TaskActionStatus(attempts=3, plugin_phase="Running"))
    assert created(store, with_status).status == TaskActionStatus()


def test_store_create_with_resource_version_is_invalid(store: TaskActionStore) -> None:
    task_action = a_new_task_action()
    task_action = replace(task_action, metadata=replace(task_action.metadata, resource_version="7"))
    assert store.create(task_action).failure().kind is StoreErrorKind.INVALID


def test_store_create_without_name_is_invalid(store: TaskActionStore) -> None:
    assert store.create(a_new_task_action(name="")).failure().kind is StoreErrorKind.INVALID


def test_store_get_missing_is_not_found(store: TaskActionStore) -> None:
    assert store.get("default", "nope").failure().kind is StoreErrorKind.NOT_FOUND


# -- update (metadata + spec) ----------------------------------------------------------------------------------------


def test_store_update_stale_resource_version_is_conflict_and_changes_nothing(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.patch_labels("default", "ta", {"x": "1"}).unwrap()
    stale = replace(original, metadata=replace(original.metadata, finalizers=pvector([FINALIZER])))
    assert store.update(stale).failure().kind is StoreErrorKind.CONFLICT
    assert store.get("default", "ta").unwrap().metadata.finalizers == pvector()


def test_store_update_without_resource_version_is_invalid(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    unversioned = replace(original, metadata=replace(original.metadata, resource_version=""))
    assert store.update(unversioned).failure().kind is StoreErrorKind.INVALID


def test_store_update_missing_object_is_not_found(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.delete("default", "ta").unwrap()
    assert store.update(original).failure().kind is StoreErrorKind.NOT_FOUND


def test_store_update_ignores_status(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    changed = replace(
        original,
        metadata=replace(original.metadata, finalizers=pvector([FINALIZER])),
        status=TaskActionStatus(attempts=9),
    )
    updated = store.update(changed).unwrap()
    assert updated.metadata.finalizers == pvector([FINALIZER])
    assert updated.status == TaskActionStatus()
    assert store.get("default", "ta").unwrap().status == TaskActionStatus()


def test_store_update_metadata_only_keeps_generation(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    updated = store.update(replace(original, metadata=replace(original.metadata, labels=pmap({"a": "b"})))).unwrap()
    assert updated.metadata.generation == 1
    assert updated.metadata.labels == pmap({"a": "b"})
    assert int(updated.metadata.resource_version) > int(original.metadata.resource_version)


def test_store_update_spec_change_bumps_generation(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    updated = store.update(replace(original, spec=replace(original.spec, cache_key="v2"))).unwrap()
    assert updated.metadata.generation == 2
    assert updated.spec.cache_key == "v2"


def test_store_update_cannot_change_server_fields(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    meta = replace(original.metadata, uid="forged", generation=40, creation_timestamp=None)
    updated = store.update(replace(original, metadata=meta)).unwrap()
    assert updated.metadata.uid == original.metadata.uid
    assert updated.metadata.generation == 1
    assert updated.metadata.creation_timestamp == original.metadata.creation_timestamp


def test_store_update_without_changes_keeps_resource_version(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    assert store.update(original).unwrap().metadata.resource_version == original.metadata.resource_version


# -- update_status (status subresource) ------------------------------------------------------------------------------


def test_store_update_status_ignores_spec_and_metadata(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    changed = replace(
        original,
        metadata=replace(original.metadata, labels=pmap({"sneaky": "yes"}), finalizers=pvector([FINALIZER])),
        spec=replace(original.spec, cache_key="sneaky"),
        status=TaskActionStatus(attempts=2, plugin_phase="Running"),
    )
    updated = store.update_status(changed).unwrap()
    assert updated.status == TaskActionStatus(attempts=2, plugin_phase="Running")
    assert updated.spec == original.spec
    assert updated.metadata.labels == pmap()
    assert updated.metadata.finalizers == pvector()
    assert updated.metadata.generation == 1


def test_store_update_status_stale_resource_version_is_conflict(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.update_status(replace(original, status=TaskActionStatus(attempts=1))).unwrap()
    result = store.update_status(replace(original, status=TaskActionStatus(attempts=5)))
    assert result.failure().kind is StoreErrorKind.CONFLICT
    assert store.get("default", "ta").unwrap().status.attempts == 1


def test_store_update_status_missing_object_is_not_found(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.delete("default", "ta").unwrap()
    assert store.update_status(original).failure().kind is StoreErrorKind.NOT_FOUND


def test_store_update_status_bumps_resource_version_for_next_writer(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    updated = store.update_status(replace(original, status=TaskActionStatus(attempts=1))).unwrap()
    assert int(updated.metadata.resource_version) > int(original.metadata.resource_version)
    again = store.update_status(replace(updated, status=TaskActionStatus(attempts=2))).unwrap()
    assert again.status.attempts == 2


def test_store_update_after_status_write_needs_new_resource_version(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.update_status(replace(original, status=TaskActionStatus(attempts=1))).unwrap()
    with_finalizer = replace(original, metadata=replace(original.metadata, finalizers=pvector([FINALIZER])))
    assert store.update(with_finalizer).failure().kind is StoreErrorKind.CONFLICT


# -- patch_labels ------------------------------------------------------------------------------------------------------


def test_store_patch_labels_merges_without_precondition(store: TaskActionStore) -> None:
    created(store, a_new_task_action(labels={"keep": "1", "old": "x"}))
    for attempts in (1, 2):  # make any resourceVersion a caller might hold stale
        current = store.get("default", "ta").unwrap()
        store.update_status(replace(current, status=TaskActionStatus(attempts=attempts))).unwrap()
    patched = store.patch_labels("default", "ta", {"old": "y", "new": "z"}).unwrap()
    assert patched.metadata.labels == pmap({"keep": "1", "old": "y", "new": "z"})


def test_store_patch_labels_none_deletes_key(store: TaskActionStore) -> None:
    created(store, a_new_task_action(labels={"gone": "1", "kept": "2"}))
    patched = store.patch_labels("default", "ta", {"gone": None, "never-there": None}).unwrap()
    assert patched.metadata.labels == pmap({"kept": "2"})


def test_store_patch_labels_bumps_resource_version(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    patched = store.patch_labels("default", "ta", {"a": "b"}).unwrap()
    assert int(patched.metadata.resource_version) > int(original.metadata.resource_version)


def test_store_patch_labels_keeps_status_and_spec(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action())
    store.update_status(replace(original, status=TaskActionStatus(attempts=4))).unwrap()
    patched = store.patch_labels("default", "ta", {"a": "b"}).unwrap()
    assert patched.status.attempts == 4
    assert patched.spec == original.spec


def test_store_patch_labels_missing_object_is_not_found(store: TaskActionStore) -> None:
    assert store.patch_labels("default", "nope", {"a": "b"}).failure().kind is StoreErrorKind.NOT_FOUND


# -- delete, finalizers and deletionTimestamp --------------------------------------------------------------------------


def test_store_delete_without_finalizers_removes_object(store: TaskActionStore) -> None:
    created(store, a_new_task_action())
    store.delete("default", "ta").unwrap()
    assert store.get("default", "ta").failure().kind is StoreErrorKind.NOT_FOUND


def test_store_delete_missing_is_not_found(store: TaskActionStore) -> None:
    assert store.delete("default", "nope").failure().kind is StoreErrorKind.NOT_FOUND


def test_store_delete_with_finalizer_only_sets_deletion_timestamp(store: TaskActionStore, clock: ManualClock) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    clock.advance(timedelta(seconds=5))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    assert marked.metadata.deletion_timestamp == clock.now()
    assert marked.metadata.finalizers == pvector([FINALIZER])


def test_store_delete_twice_keeps_first_deletion_timestamp(store: TaskActionStore, clock: ManualClock) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.delete("default", "ta").unwrap()
    first = store.get("default", "ta").unwrap().metadata.deletion_timestamp
    clock.advance(timedelta(minutes=1))
    store.delete("default", "ta").unwrap()
    assert store.get("default", "ta").unwrap().metadata.deletion_timestamp == first


def test_store_update_removing_last_finalizer_of_deleting_object_deletes_it(store: TaskActionStore) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    store.update(replace(marked, metadata=replace(marked.metadata, finalizers=pvector()))).unwrap()
    assert store.get("default", "ta").failure().kind is StoreErrorKind.NOT_FOUND


def test_store_update_removing_one_of_two_finalizers_keeps_deleting_object(store: TaskActionStore) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER, OTHER_FINALIZER)))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    store.update(replace(marked, metadata=replace(marked.metadata, finalizers=pvector([OTHER_FINALIZER])))).unwrap()
    remaining = store.get("default", "ta").unwrap()
    assert remaining.metadata.finalizers == pvector([OTHER_FINALIZER])
    assert remaining.metadata.deletion_timestamp is not None


def test_store_update_removing_last_finalizer_without_deletion_keeps_object(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.update(replace(original, metadata=replace(original.metadata, finalizers=pvector()))).unwrap()
    assert store.get("default", "ta").unwrap().metadata.finalizers == pvector()


def test_store_update_adding_finalizer_to_deleting_object_is_invalid(store: TaskActionStore) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    more = replace(marked, metadata=replace(marked.metadata, finalizers=pvector([FINALIZER, OTHER_FINALIZER])))
    assert store.update(more).failure().kind is StoreErrorKind.INVALID


def test_store_update_cannot_clear_deletion_timestamp(store: TaskActionStore) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    revived = replace(marked, metadata=replace(marked.metadata, deletion_timestamp=None, labels=pmap({"a": "b"})))
    assert store.update(revived).unwrap().metadata.deletion_timestamp == marked.metadata.deletion_timestamp


def test_store_update_status_of_deleting_object_succeeds(store: TaskActionStore) -> None:
    created(store, a_new_task_action(finalizers=(FINALIZER,)))
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    assert store.update_status(replace(marked, status=TaskActionStatus(attempts=1))).unwrap().status.attempts == 1


# -- watch -------------------------------------------------------------------------------------------------------------


def test_store_watch_sees_every_write_in_order(store: TaskActionStore) -> None:
    watch = store.watch()
    versions = [created(store, a_new_task_action(finalizers=(FINALIZER,))).metadata.resource_version]
    current = store.get("default", "ta").unwrap()
    current = store.update_status(replace(current, status=TaskActionStatus(attempts=1))).unwrap()
    versions.append(current.metadata.resource_version)
    current = store.patch_labels("default", "ta", {"a": "b"}).unwrap()
    versions.append(current.metadata.resource_version)
    store.delete("default", "ta").unwrap()
    current = store.get("default", "ta").unwrap()
    versions.append(current.metadata.resource_version)
    store.update(replace(current, metadata=replace(current.metadata, finalizers=pvector()))).unwrap()
    events = drain(watch.get)
    assert [e.type for e in events] == [
        WatchEventType.ADDED,
        WatchEventType.MODIFIED,
        WatchEventType.MODIFIED,
        WatchEventType.MODIFIED,
        WatchEventType.DELETED,
    ]
    assert [e.resource_version for e in events[:4]] == versions
    assert int(events[4].resource_version) > int(versions[-1])
    assert {(e.namespace, e.name) for e in events} == {("default", "ta")}


def test_store_watch_skips_no_op_writes(store: TaskActionStore) -> None:
    original = created(store, a_new_task_action(labels={"a": "b"}))
    watch = store.watch()
    store.update(original).unwrap()
    store.update_status(original).unwrap()
    store.patch_labels("default", "ta", {"a": "b"}).unwrap()
    assert watch.get(0.01) is None


def test_store_watch_sees_only_writes_after_it_opened(store: TaskActionStore) -> None:
    created(store, a_new_task_action("before"))
    watch = store.watch()
    created(store, a_new_task_action("after"))
    assert [e.name for e in drain(watch.get)] == ["after"]


def test_store_watch_closed_returns_none(store: TaskActionStore) -> None:
    watch = store.watch()
    watch.close()
    created(store, a_new_task_action())
    assert watch.get(0.01) is None
    watch.close()


def test_store_watch_close_wakes_blocked_reader(store: TaskActionStore) -> None:
    watch = store.watch()
    got: list[WatchEvent | None] = []
    reader = threading.Thread(target=lambda: got.append(watch.get(None)))
    reader.start()
    watch.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert got == [None]


# -- list ---------------------------------------------------------------------------------------------------------


def names(items: tuple[TaskAction, ...]) -> list[tuple[str, str]]:
    return [(ta.metadata.namespace, ta.metadata.name) for ta in items]


def test_store_list_filters_namespace_and_orders_by_key(store: TaskActionStore) -> None:
    for namespace, name in [("b", "2"), ("a", "9"), ("b", "1"), ("a", "3")]:
        created(store, a_new_task_action(name, namespace))
    assert names(store.list("b", {}).unwrap().items) == [("b", "1"), ("b", "2")]
    assert names(store.list(None, {}).unwrap().items) == [("a", "3"), ("a", "9"), ("b", "1"), ("b", "2")]


def test_store_list_label_selector_matches_values_and_existence(store: TaskActionStore) -> None:
    created(store, a_new_task_action("done-old", labels={"status": "terminated", "completed": "2026-01-01"}))
    created(store, a_new_task_action("done-no-time", labels={"status": "terminated"}))
    created(store, a_new_task_action("running", labels={"status": "running", "completed": "x"}))
    created(store, a_new_task_action("bare"))
    selected = store.list(None, {"status": "terminated", "completed": None}).unwrap()
    assert names(selected.items) == [("default", "done-old")]
    assert names(store.list(None, {"completed": None}).unwrap().items) == [
        ("default", "done-old"),
        ("default", "running"),
    ]


def test_store_list_paginates_with_continue_tokens(store: TaskActionStore) -> None:
    for index in range(5):
        created(store, a_new_task_action(f"ta-{index}"))
    seen: list[tuple[str, str]] = []
    token = ""
    pages = 0
    while True:
        page = store.list(None, {}, limit=2, continue_token=token).unwrap()
        assert len(page.items) <= 2
        seen.extend(names(page.items))
        pages += 1
        token = page.continue_token
        if not token:
            break
    assert pages == 3
    assert seen == [("default", f"ta-{index}") for index in range(5)]


def test_store_list_limit_covering_everything_has_no_token(store: TaskActionStore) -> None:
    created(store, a_new_task_action("a"))
    page = store.list(None, {}, limit=5).unwrap()
    assert page.continue_token == ""
    assert len(page.items) == 1


def test_store_list_unknown_continue_token_is_invalid(store: TaskActionStore) -> None:
    assert store.list(None, {}, limit=1, continue_token="not-a-token").failure().kind is StoreErrorKind.INVALID


def test_store_list_deleted_object_between_pages_does_not_break_paging(store: TaskActionStore) -> None:
    for index in range(4):
        created(store, a_new_task_action(f"ta-{index}"))
    first = store.list(None, {}, limit=2).unwrap()
    store.delete("default", "ta-1").unwrap()
    rest = store.list(None, {}, limit=2, continue_token=first.continue_token).unwrap()
    assert names(rest.items) == [("default", "ta-2"), ("default", "ta-3")]


# -- concurrency -------------------------------------------------------------------------------------------------------


def test_store_concurrent_conflict_retries_lose_no_increment(store: TaskActionStore) -> None:
    created(store, a_new_task_action())
    per_thread, threads = 20, 4

    def increment() -> None:
        for _ in range(per_thread):
            while True:
                current = store.get("default", "ta").unwrap()
                bumped = replace(current.status, attempts=current.status.attempts + 1)
                if store.update_status(replace(current, status=bumped)).map(lambda _: True).value_or(False):
                    break

    workers = [threading.Thread(target=increment) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert store.get("default", "ta").unwrap().status.attempts == per_thread * threads


# -- in-memory fake specifics --------------------------------------------------------------------------------------


def test_in_memory_store_diagnostics_do_not_count_as_calls(clock: ManualClock) -> None:
    store = InMemoryTaskActionStore(clock)
    assert store.resource_version == "0"
    stored = created(store, a_new_task_action())
    assert store.objects() == (stored,)
    assert store.resource_version == stored.metadata.resource_version
    assert store.faults.call_counts() == {"create": 1}


def test_in_memory_store_negative_limit_is_a_programmer_error(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="limit"):
        InMemoryTaskActionStore(clock).list(None, {}, limit=-1)


@pytest.mark.parametrize("token", ["e30=", "WyJhIl0=", "WzEsMl0="])
def test_in_memory_store_well_formed_foreign_token_is_invalid(clock: ManualClock, token: str) -> None:
    # {} / ["a"] / [1,2]: valid base64 JSON, but not a position in this store's key space.
    result = InMemoryTaskActionStore(clock).list(None, {}, continue_token=token)
    assert result.failure().kind is StoreErrorKind.INVALID
