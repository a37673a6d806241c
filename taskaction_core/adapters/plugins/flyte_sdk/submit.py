"""Submit a Flyte SDK task as a TaskAction, and read its typed outputs back (no Flyte server involved).

    action = submit(store, data_store, add, {"x": 1}, SubmitOptions(name="add-1")).unwrap()
    ...                                        # a controller with the ``python`` plugin runs it
    value = read_outputs(data_store, store.get("default", "add-1").unwrap(), add).unwrap()

What a submission is, the way the Flyte 2 actions service would create it:

- ``spec.taskTemplate``: the ``core.TaskTemplate`` the SDK builds for the task (``_sdk.serialize_template``);
  ``spec.taskType`` its ``type`` (``python``) and ``spec.shortName`` the function's name;
- ``spec.cacheKey``: the template's ``metadata.discovery_version`` when caching is on (``discoverable``), else
  empty. The reconciler uses ``spec.cacheKey`` as the cache version and ignores ``discovery_version`` (R49, R97).
  Retries, the serializable flag, ignored inputs and the timeout are read by the reconciler from the template
  itself (R49, R107), so nothing else needs copying;
- ``spec.inputUri``: a prefix holding ``inputs.pb`` (``flyteidl2.task.Inputs``, written with the SDK's type
  engine, R104); ``spec.runOutputBase``: where attempts write (R108);
- ``spec.envVars``: ``PYTHONPATH`` = the root directory the template's module path is relative to (how the task
  process imports the code; not with a code bundle, which must be enough on its own), and
  :data:`~taskaction_core.adapters.plugins.flyte_sdk.plugin.RUN_START_TIME_ENV`.

URIs default to ``file://flyte/...``: relative to the data directory of the ``taskaction`` command line, whose data
store mounts ``file://`` on it (``taskaction_core.cli.backend``). Pass absolute ``file:///...`` bases otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from flyteidl2.core import tasks_pb2
from pyrsistent import pmap
from returns.result import Failure, Result, Success

from taskaction_core.adapters.fsspec_store import local_path
from taskaction_core.adapters.plugins.flyte_sdk import _sdk
from taskaction_core.adapters.plugins.flyte_sdk._sdk import BundleKind, SdkTask
from taskaction_core.adapters.plugins.flyte_sdk.plugin import DEFAULT_DOMAIN, DEFAULT_PROJECT, RUN_START_TIME_ENV
from taskaction_core.interpreter.plugin_context import OUTPUTS_FILE, join_uri
from taskaction_core.interpreter.ports import DataStore, TaskActionStore
from taskaction_core.naming import observed_attempt
from taskaction_core.output_path import compute_action_output_path
from taskaction_core.phases import ConditionStatus, ConditionType
from taskaction_core.records import ACTION_TYPE_TASK, ObjectMeta, TaskAction, TaskActionSpec

__all__ = [
    "DEFAULT_BASE_URI",
    "INPUTS_FILE",
    "OutputsError",
    "SubmitError",
    "SubmitOptions",
    "TemplateFacts",
    "build_task_action",
    "outputs_uri",
    "read_outputs",
    "submit",
    "template_facts",
]

DEFAULT_BASE_URI: Final = "file://flyte"
INPUTS_FILE: Final = "inputs.pb"


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Where and as what a task is submitted. Empty ``name`` → ``<function>-<8 hex>``; empty ``run_name`` → the name.

    ``version`` is the template id's version (the cache ignores it, Q24). ``bundle`` chooses how the task process
    finds the code (:data:`~taskaction_core.adapters.plugins.flyte_sdk._sdk.BundleKind`); bundles are written under
    ``<base>/bundles/<run>``, which must then be local.
    """

    namespace: str = "default"
    name: str = ""
    run_name: str = ""
    project: str = DEFAULT_PROJECT
    domain: str = DEFAULT_DOMAIN
    org: str = "local"
    version: str = "local"
    root_dir: Path | None = None
    bundle: BundleKind = "none"
    base_uri: str = DEFAULT_BASE_URI
    env_vars: Mapping[str, str] = field(default_factory=dict)
    run_start_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class SubmitError:
    """The inputs could not be written or the TaskAction not created; ``message`` says which and why."""

    message: str


@dataclass(frozen=True, slots=True)
class OutputsError:
    """The outputs cannot be read: the action has not succeeded, or ``outputs.pb`` is missing or unreadable."""

    message: str


@dataclass(frozen=True, slots=True)
class TemplateFacts:
    """What a TaskAction's spec takes from the template (R49, R107)."""

    task_type: str
    short_name: str
    cache_key: str
    """``metadata.discovery_version`` when ``metadata.discoverable``, else empty (caching off)."""


def template_facts(template: bytes) -> TemplateFacts:
    """The spec fields derived from a serialized ``core.TaskTemplate``."""
    parsed = tasks_pb2.TaskTemplate.FromString(template)
    metadata = parsed.metadata
    cache_key = str(metadata.discovery_version) if metadata.discoverable else ""
    return TemplateFacts(
        task_type=str(parsed.type), short_name=str(parsed.id.name).rsplit(".", 1)[-1], cache_key=cache_key
    )


@dataclass(frozen=True, slots=True)
class _Names:
    name: str
    run_name: str


def _names(task: SdkTask, options: SubmitOptions) -> _Names:
    name = options.name or f"{task.short_name.replace('_', '-').lower()}-{uuid.uuid4().hex[:8]}"
    return _Names(name=name, run_name=options.run_name or name)


def build_task_action(
    template: bytes, options: SubmitOptions, name: str, run_name: str, root_dir: Path | None, start: datetime
) -> TaskAction:
    """The TaskAction of a submission (status empty: the reconciler owns it, R1). ``root_dir`` None: the template
    carries a code bundle, and the task process must not import the sources from anywhere else."""
    facts = template_facts(template)
    base = options.base_uri.rstrip("/")
    code = {"PYTHONPATH": str(root_dir)} if root_dir is not None else {}
    env = {**code, RUN_START_TIME_ENV: _rfc3339(start), **options.env_vars}
    return TaskAction(
        metadata=ObjectMeta(name=name, namespace=options.namespace),
        spec=TaskActionSpec(
            run_name=run_name,
            project=options.project,
            domain=options.domain,
            action_name=name,
            action_type=ACTION_TYPE_TASK,
            input_uri=f"{base}/inputs/{run_name}/{name}",
            run_output_base=f"{base}/runs/{run_name}",
            cache_key=facts.cache_key,
            task_type=facts.task_type,
            short_name=facts.short_name,
            task_template=template,
            env_vars=pmap(env),
        ),
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def submit(
    store: TaskActionStore,
    data_store: DataStore,
    task: SdkTask | object,
    inputs: Mapping[str, object],
    options: SubmitOptions | None = None,
) -> Result[TaskAction, SubmitError]:
    """Build the template offline, write ``inputs.pb`` and create the TaskAction; the created object on success.

    A task or inputs the SDK rejects raise :class:`~._sdk.SdkError` (a programming
    error); a failed write or create is a :class:`SubmitError`.
    """
    options = options or SubmitOptions()
    sdk_task = task if isinstance(task, SdkTask) else _sdk.as_sdk_task(task)
    names = _names(sdk_task, options)
    root_dir = (options.root_dir or _sdk.default_root_dir(sdk_task)).absolute()
    bundle_dir = _bundle_dir(data_store, options, names.run_name) if options.bundle != "none" else None
    template = _sdk.serialize_template(
        sdk_task,
        project=options.project,
        domain=options.domain,
        org=options.org,
        version=options.version,
        root_dir=root_dir,
        bundle=options.bundle,
        bundle_dir=bundle_dir,
    )
    encoded = _sdk.encode_inputs(sdk_task, inputs)
    start = options.run_start_time or datetime.now(UTC)
    python_path = root_dir if options.bundle == "none" else None
    task_action = build_task_action(template, options, names.name, names.run_name, python_path, start)
    inputs_uri = join_uri(task_action.spec.input_uri, INPUTS_FILE)
    written = data_store.write(inputs_uri, encoded)
    if isinstance(written, Failure):
        return Failure(SubmitError(f"cannot write {inputs_uri}: {written.failure().message}"))
    created = store.create(task_action)
    if isinstance(created, Failure):
        error = created.failure()
        return Failure(SubmitError(f"cannot create TaskAction {names.name}: {error.kind.value}: {error.message}"))
    return Success(created.unwrap())


def _bundle_dir(data_store: DataStore, options: SubmitOptions, run_name: str) -> Path:
    """The local directory behind ``<base>/bundles/<run>`` (the SDK writes bundles to local paths only)."""
    uri = f"{options.base_uri.rstrip('/')}/bundles/{run_name}"
    resolve = getattr(data_store, "resolve", None)
    resolved = resolve(uri) if callable(resolve) else uri
    path = local_path(str(resolved))
    if path is None:
        raise _sdk.SdkError(f"code bundles need a local base URI, got {options.base_uri!r}")
    return path.absolute()


def outputs_uri(task_action: TaskAction) -> Result[str, OutputsError]:
    """``<output prefix of the current attempt>/outputs.pb`` (R103, R108); a cache hit writes it there too (R52)."""
    meta, spec = task_action.metadata, task_action.spec
    attempt = observed_attempt(task_action.status.attempts)
    prefix = compute_action_output_path(meta.namespace, meta.name, spec.run_output_base, spec.action_name, attempt)
    if isinstance(prefix, Failure):
        return Failure(OutputsError(f"no output path for {meta.name}: {prefix.failure()}"))
    return Success(join_uri(prefix.unwrap(), OUTPUTS_FILE))


def _succeeded(task_action: TaskAction) -> bool:
    return any(
        condition.type == ConditionType.SUCCEEDED and condition.status == ConditionStatus.TRUE
        for condition in task_action.status.conditions
    )


def read_outputs(
    data_store: DataStore, task_action: TaskAction, task: SdkTask | object
) -> Result[object, OutputsError]:
    """The task's return value (one value, a tuple for several outputs, None for none) of a succeeded action."""
    if not _succeeded(task_action):
        return Failure(OutputsError(f"TaskAction {task_action.metadata.name} has not succeeded"))
    sdk_task = task if isinstance(task, SdkTask) else _sdk.as_sdk_task(task)
    uri = outputs_uri(task_action)
    if isinstance(uri, Failure):
        return Failure(uri.failure())
    data = data_store.read(uri.unwrap())
    if isinstance(data, Failure):
        return Failure(OutputsError(f"cannot read {uri.unwrap()}: {data.failure().message}"))
    try:
        return Success(_sdk.decode_outputs(sdk_task, data.unwrap()))
    except _sdk.SdkError as error:
        return Failure(OutputsError(str(error)))
