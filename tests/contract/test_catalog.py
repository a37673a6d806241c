"""Contract of the catalog port (R92–R98, D9): explicit NOT_FOUND/ALREADY_EXISTS, key composition, reservations.

Runs against every adapter in :data:`CATALOG_FACTORIES`. Output files and inputs live in an in-memory data store,
which the catalog reads as the real client does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flyteidl2.core import interface_pb2, literals_pb2
from flyteidl2.task import common_pb2

from taskaction_core.context import TaskExecutionId
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.ports import Catalog, CatalogLimits, Clock, DataError, DataErrorKind, DataStore
from taskaction_core.observations import CacheHit, CatalogErrorKind, Reservation
from taskaction_core.template import Identifier
from taskaction_core.testing.fakes import InMemoryCatalog, InMemoryDataStore, ManualClock
from taskaction_core.testing.fakes.catalog import identifier_text
from tests.adapters.factories import sqlite_catalog

CatalogFactory = Callable[[DataStore, Clock, CatalogLimits], Catalog]

CATALOG_FACTORIES: dict[str, CatalogFactory] = {"in-memory": InMemoryCatalog, "sqlite": sqlite_catalog}

INPUTS_URI = "mem://bucket/run/a/inputs.pb"
OUTPUTS_URI = "mem://bucket/run/a/1/outputs.pb"
OWNER = "default/a"
RIVAL = "default/b"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def an_interface(*inputs: str) -> bytes:
    interface: Any = interface_pb2.TypedInterface()
    for name in inputs:
        entry = interface.inputs.variables.add()
        entry.key = name
        entry.value.description = name
    out = interface.outputs.variables.add()
    out.key = "o0"
    return bytes(interface.SerializeToString())


def some_inputs(values: Mapping[str, int], hashes: Mapping[str, str] | None = None) -> bytes:
    inputs: Any = common_pb2.Inputs()
    for name, value in values.items():
        entry = inputs.literals.add()
        entry.name = name
        entry.value.scalar.primitive.integer = value
        if hashes and name in hashes:
            entry.value.hash = hashes[name]
    return bytes(inputs.SerializeToString())


def a_key(
    version: str = "v1", cache_version: str = "1.0", ignore: tuple[str, ...] = (), inputs: bool = True
) -> CacheKey:
    return CacheKey(
        identifier=Identifier(resource_type=1, project="p", domain="d", name="my.task", version=version),
        cache_version=cache_version,
        cache_ignore_input_vars=ignore,
        interface=an_interface("x", "seed") if inputs else an_interface(),
        input_path=INPUTS_URI,
    )


METADATA = CacheMetadata(TaskExecutionId("p", "d", "run", "a", 0, None), T0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def data_store() -> InMemoryDataStore:
    return InMemoryDataStore({INPUTS_URI: some_inputs({"x": 1, "seed": 7}), OUTPUTS_URI: b"outputs-v1"})


@pytest.fixture(params=sorted(CATALOG_FACTORIES))
def make_catalog(
    request: pytest.FixtureRequest, data_store: InMemoryDataStore, clock: ManualClock
) -> Callable[[CatalogLimits], Catalog]:
    factory = CATALOG_FACTORIES[request.param]
    return lambda limits: factory(data_store, clock, limits)


@pytest.fixture
def catalog(make_catalog: Callable[[CatalogLimits], Catalog]) -> Catalog:
    return make_catalog(CatalogLimits())


# -- get and put -------------------------------------------------------------------------------------------------------


def test_catalog_get_empty_is_not_found(catalog: Catalog) -> None:
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_put_then_get_returns_outputs_written_at_put_time(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(OUTPUTS_URI, b"overwritten-later").unwrap()
    assert catalog.get(a_key()).unwrap() == CacheHit(outputs=b"outputs-v1")


def test_catalog_put_existing_entry_is_already_exists_and_keeps_first(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(OUTPUTS_URI, b"outputs-v2").unwrap()
    assert catalog.put(a_key(), OUTPUTS_URI, METADATA).failure().kind is CatalogErrorKind.ALREADY_EXISTS
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


def test_catalog_put_missing_output_file_is_not_found(catalog: Catalog) -> None:
    failure = catalog.put(a_key(), "mem://bucket/nothing/outputs.pb", METADATA).failure()
    assert failure.kind is CatalogErrorKind.NOT_FOUND
    assert failure.message.startswith("output file does not exist for ")
    assert "my.task" in failure.message
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.NOT_FOUND


# -- key composition (R97) ---------------------------------------------------------------------------------------------


def test_catalog_key_ignores_task_version(catalog: Catalog) -> None:
    catalog.put(a_key(version="v1"), OUTPUTS_URI, METADATA).unwrap()
    assert catalog.get(a_key(version="v2")).unwrap().outputs == b"outputs-v1"


def test_catalog_key_distinguishes_cache_version(catalog: Catalog) -> None:
    catalog.put(a_key(cache_version="1.0"), OUTPUTS_URI, METADATA).unwrap()
    assert catalog.get(a_key(cache_version="2.0")).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_key_distinguishes_identifier_name(catalog: Catalog) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    other = replace(a_key(), identifier=replace(a_key().identifier, name="other.task"))
    assert catalog.get(other).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_key_distinguishes_interface(catalog: Catalog) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    other = replace(a_key(), interface=an_interface("x", "seed", "extra"))
    assert catalog.get(other).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_key_distinguishes_inputs(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(INPUTS_URI, some_inputs({"x": 2, "seed": 7})).unwrap()
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_key_drops_ignored_input_vars(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(ignore=("seed",)), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(INPUTS_URI, some_inputs({"x": 1, "seed": 99})).unwrap()
    assert catalog.get(a_key(ignore=("seed",))).unwrap().outputs == b"outputs-v1"


def test_catalog_key_ignores_input_order(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(INPUTS_URI, some_inputs({"seed": 7, "x": 1})).unwrap()
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


def test_catalog_key_uses_precomputed_literal_hash(catalog: Catalog, data_store: DataStore) -> None:
    data_store.write(INPUTS_URI, some_inputs({"x": 1, "seed": 7}, hashes={"x": "h1"})).unwrap()
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(INPUTS_URI, some_inputs({"x": 555, "seed": 7}, hashes={"x": "h1"})).unwrap()
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


def test_catalog_key_accepts_literal_map_inputs(catalog: Catalog, data_store: DataStore) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    literal_map: Any = literals_pb2.LiteralMap()
    literal_map.literals["x"].scalar.primitive.integer = 1
    literal_map.literals["seed"].scalar.primitive.integer = 7
    data_store.write(INPUTS_URI, bytes(literal_map.SerializeToString())).unwrap()
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


def test_catalog_interface_without_inputs_does_not_read_inputs(catalog: Catalog, data_store: DataStore) -> None:
    data_store.delete(INPUTS_URI).unwrap()
    catalog.put(a_key(inputs=False), OUTPUTS_URI, METADATA).unwrap()
    assert catalog.get(a_key(inputs=False)).unwrap().outputs == b"outputs-v1"


def test_catalog_unreadable_inputs_is_other_not_a_miss(catalog: Catalog, data_store: DataStore) -> None:
    data_store.delete(INPUTS_URI).unwrap()
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.OTHER


def test_catalog_unparsable_inputs_is_other(catalog: Catalog, data_store: DataStore) -> None:
    data_store.write(INPUTS_URI, b"\xff\xff\xff").unwrap()
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.OTHER


def test_catalog_unparsable_interface_is_other(catalog: Catalog) -> None:
    assert catalog.get(replace(a_key(), interface=b"\xff\xff\xff")).failure().kind is CatalogErrorKind.OTHER


# -- max cache age (R93) -----------------------------------------------------------------------------------------------


def test_catalog_entry_older_than_max_age_is_not_found(
    make_catalog: Callable[[CatalogLimits], Catalog], clock: ManualClock
) -> None:
    catalog = make_catalog(CatalogLimits(max_cache_age=timedelta(hours=1)))
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    clock.advance(timedelta(hours=1))
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"
    clock.advance(timedelta(seconds=1))
    failure = catalog.get(a_key()).failure()
    assert failure.kind is CatalogErrorKind.NOT_FOUND
    assert failure.message == "artifact over age limit"


def test_catalog_zero_max_age_never_expires(catalog: Catalog, clock: ManualClock) -> None:
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    clock.advance(timedelta(days=3650))
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


# -- reservations (R94, R96) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "effective"),
    [
        (timedelta(seconds=4), timedelta(seconds=4)),
        (timedelta(seconds=10), timedelta(seconds=10)),
        (timedelta(seconds=60), timedelta(seconds=10)),
        (timedelta(0), timedelta(seconds=10)),
        (timedelta(seconds=-1), timedelta(seconds=10)),
    ],
)
def test_catalog_reservation_heartbeat_is_clamped_to_max(
    catalog: Catalog, requested: timedelta, effective: timedelta
) -> None:
    reservation = catalog.get_or_extend_reservation(a_key(), OWNER, requested).unwrap()
    assert reservation.owner_id == OWNER
    assert reservation.heartbeat_interval == effective
    assert reservation.expires_at == T0 + effective * 3


def test_catalog_reservation_clamp_decides_when_rival_can_take_over(catalog: Catalog, clock: ManualClock) -> None:
    catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(minutes=5)).unwrap()
    clock.advance(timedelta(seconds=31))
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap().owner_id == RIVAL


def test_catalog_reservation_held_by_other_returns_holder_unchanged(catalog: Catalog, clock: ManualClock) -> None:
    held = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    clock.advance(timedelta(seconds=5))
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap() == held


def test_catalog_reservation_at_exact_expiry_is_still_held(catalog: Catalog, clock: ManualClock) -> None:
    held = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    clock.set(held.expires_at)
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap().owner_id == OWNER


def test_catalog_reservation_after_grace_expiry_is_taken_over(catalog: Catalog, clock: ManualClock) -> None:
    held = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    clock.set(held.expires_at + timedelta(microseconds=1))
    taken = catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap()
    assert taken.owner_id == RIVAL
    assert taken.expires_at == clock.now() + timedelta(seconds=30)
    assert catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap().owner_id == RIVAL


def test_catalog_reservation_extend_by_owner_moves_expiry(catalog: Catalog, clock: ManualClock) -> None:
    catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    clock.advance(timedelta(seconds=20))
    extended = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    assert extended.expires_at == T0 + timedelta(seconds=50)
    clock.advance(timedelta(seconds=25))
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap().owner_id == OWNER


def test_catalog_reservation_custom_limits_apply(
    make_catalog: Callable[[CatalogLimits], Catalog],
) -> None:
    catalog = make_catalog(CatalogLimits(max_heartbeat=timedelta(seconds=2), grace_multiplier=5))
    reservation = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    assert reservation.expires_at == T0 + timedelta(seconds=10)


def test_catalog_reservation_shared_across_task_versions(catalog: Catalog) -> None:
    catalog.get_or_extend_reservation(a_key(version="v1"), OWNER, timedelta(seconds=10)).unwrap()
    rival = catalog.get_or_extend_reservation(a_key(version="v2"), RIVAL, timedelta(seconds=10)).unwrap()
    assert rival.owner_id == OWNER


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        (a_key(), ""),
        (replace(a_key(), identifier=Identifier()), OWNER),
    ],
)
def test_catalog_reservation_empty_key_or_owner_is_invalid_argument(
    catalog: Catalog, key: CacheKey, owner: str
) -> None:
    failure = catalog.get_or_extend_reservation(key, owner, timedelta(seconds=10)).failure()
    assert failure.kind is CatalogErrorKind.OTHER
    assert failure.message.startswith("invalid argument")


def test_catalog_release_by_owner_frees_reservation(catalog: Catalog) -> None:
    catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    catalog.release_reservation(a_key(), OWNER).unwrap()
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap().owner_id == RIVAL


def test_catalog_release_by_non_owner_is_a_no_op(catalog: Catalog) -> None:
    catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    catalog.release_reservation(a_key(), RIVAL).unwrap()
    assert catalog.get_or_extend_reservation(a_key(), RIVAL, timedelta(seconds=10)).unwrap().owner_id == OWNER


def test_catalog_release_absent_reservation_succeeds(catalog: Catalog) -> None:
    assert catalog.release_reservation(a_key(), OWNER).unwrap() is None


def test_catalog_reservation_does_not_touch_entries(catalog: Catalog) -> None:
    catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    assert catalog.get(a_key()).failure().kind is CatalogErrorKind.NOT_FOUND


def test_catalog_key_uses_precomputed_hash_inside_collections_and_maps(catalog: Catalog, data_store: DataStore) -> None:
    def nested_inputs(value: int) -> bytes:
        inputs: Any = common_pb2.Inputs()
        listed = inputs.literals.add()
        listed.name = "x"
        element = listed.value.collection.literals.add()
        element.scalar.primitive.integer = value
        element.hash = "h-list"
        mapped = inputs.literals.add()
        mapped.name = "seed"
        mapped.value.map.literals["k"].scalar.primitive.integer = value
        mapped.value.map.literals["k"].hash = "h-map"
        return bytes(inputs.SerializeToString())

    data_store.write(INPUTS_URI, nested_inputs(1)).unwrap()
    catalog.put(a_key(), OUTPUTS_URI, METADATA).unwrap()
    data_store.write(INPUTS_URI, nested_inputs(2)).unwrap()
    assert catalog.get(a_key()).unwrap().outputs == b"outputs-v1"


def test_catalog_reservation_converts_to_the_core_observation(catalog: Catalog) -> None:
    reservation = catalog.get_or_extend_reservation(a_key(), OWNER, timedelta(seconds=10)).unwrap()
    assert reservation.to_observation() == Reservation(owner_id=OWNER)


# -- in-memory fake specifics --------------------------------------------------------------------------------------


def test_in_memory_catalog_unreadable_output_file_is_other() -> None:
    data_store = InMemoryDataStore({OUTPUTS_URI: b"o", INPUTS_URI: some_inputs({"x": 1, "seed": 7})})
    catalog = InMemoryCatalog(data_store, ManualClock(T0), CatalogLimits())
    data_store.faults.fail_next("read", DataError(DataErrorKind.OTHER, "disk on fire"))
    failure = catalog.put(a_key(), OUTPUTS_URI, METADATA).failure()
    assert failure.kind is CatalogErrorKind.OTHER
    assert "disk on fire" in failure.message
    assert catalog.limits == CatalogLimits()


@pytest.mark.parametrize(
    ("identifier", "text"),
    [
        (Identifier(1, "p", "d", "n", "v"), 'resource_type:TASK project:"p" domain:"d" name:"n" version:"v"'),
        (Identifier(0, "", "", "n", "", "o"), 'name:"n" org:"o"'),
        (Identifier(9, "p"), 'resource_type:9 project:"p"'),
    ],
)
def test_identifier_text_prints_like_go_percent_v(identifier: Identifier, text: str) -> None:
    assert identifier_text(identifier) == text
