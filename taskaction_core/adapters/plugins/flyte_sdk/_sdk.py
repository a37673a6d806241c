"""The Flyte SDK (``flyte==2.12.1``) behind a small typed surface: the only module that imports ``flyte``.

Why a wrapper. The SDK is an optional extra (``pip install 'taskaction-core[flyte]'``) and mypy must check this
package the same way with or without it, so ``flyte`` is imported with :func:`importlib.import_module` and its
objects stay inside :class:`SdkTask` and the functions below; everything they return is a plain typed value (bytes,
str, a ``Path``). The plugin itself never imports this module: it runs the SDK's ``a0`` entrypoint as a process.

Which SDK functions. A TaskTemplate is what ``flyte.deploy`` would register; without a server the SDK's own
serializer (``flyte._internal.runtime.task_serde.get_proto_task``, private but the function ``flyte.run``,
``flyte.deploy`` and the remote controller all call) builds it from a ``SerializationContext``. Inputs and outputs go
through the SDK's type engine (``convert_from_native_to_inputs`` / ``convert_outputs_to_native``), so every type the
SDK supports is written and read exactly as ``a0`` expects (reference/flyte-sdk-local.md §1, §2).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import importlib.util
import inspect
import json
import sys
import typing
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

__all__ = [
    "SDK_VERSION",
    "BundleKind",
    "SdkError",
    "SdkTask",
    "as_sdk_task",
    "decode_outputs",
    "default_root_dir",
    "encode_inputs",
    "load_task",
    "parse_input_value",
    "sdk_available",
    "serialize_template",
]

SDK_VERSION: Final = "2.12.1"
"""The SDK version this package was checked against (the ``flyte`` extra pins it)."""

BundleKind = Literal["none", "pkl", "tgz"]
"""How ``a0`` finds the task's code: ``none`` imports it through ``PYTHONPATH`` (the resolver args), ``pkl`` loads a
cloudpickle of the task (self-contained), ``tgz`` unpacks an archive of the modules loaded from the root directory."""

_T = TypeVar("_T")


class SdkError(Exception):
    """The SDK is missing, or refused a task, a value or a file; the message says which and why."""


def sdk_available() -> bool:
    """Whether ``flyte`` can be imported in this environment."""
    return importlib.util.find_spec("flyte") is not None


def _module(name: str) -> Any:
    """Import an SDK module, turning "not installed" into an :class:`SdkError` that says how to install it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == "flyte":
            raise SdkError(
                f"the Flyte SDK is not installed (pip install 'taskaction-core[flyte]', flyte=={SDK_VERSION})"
            ) from error
        raise


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run an SDK coroutine to completion, also when the caller is itself inside an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True, slots=True)
class SdkTask:
    """An ``@env.task`` of the Flyte SDK (a ``flyte.TaskTemplate``), held opaquely."""

    obj: Any

    @property
    def name(self) -> str:
        """The SDK's task name, ``<environment>.<function>`` (the template id's name)."""
        return str(self.obj.name)

    @property
    def short_name(self) -> str:
        """The function's own name (``spec.shortName``)."""
        return str(getattr(self.obj, "short_name", "") or self.name.rsplit(".", 1)[-1])

    def input_types(self) -> dict[str, Any]:
        """The declared Python type of every input, by name."""
        inputs = self.obj.native_interface.inputs
        return {str(name): value[0] for name, value in inputs.items()}


def as_sdk_task(obj: object) -> SdkTask:
    """``obj`` as an SDK task; :class:`SdkError` when it is something else (a plain function, a workflow)."""
    task_module = _module("flyte._task")
    if not isinstance(obj, task_module.TaskTemplate):
        raise SdkError(f"{obj!r} is not a Flyte SDK task (decorate the function with @env.task)")
    return SdkTask(obj)


def load_task(reference: str) -> SdkTask:
    """The task named by ``module:attribute`` (``my_pkg.tasks:add``) or ``path/to/file.py:attribute``.

    A file path is imported under its file name, with its directory put first on ``sys.path``.
    """
    module_name, separator, attribute = reference.rpartition(":")
    if not separator or not module_name or not attribute:
        raise SdkError(f"expected MODULE:TASK or FILE.py:TASK, got {reference!r}")
    if module_name.endswith(".py"):
        path = Path(module_name).resolve()
        if not path.is_file():
            raise SdkError(f"no such file: {path}")
        sys.path.insert(0, str(path.parent))
        module_name = path.stem
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SdkError(f"cannot import {module_name!r}: {error}") from error
    if not hasattr(module, attribute):
        raise SdkError(f"module {module_name!r} has no attribute {attribute!r}")
    return as_sdk_task(getattr(module, attribute))


def default_root_dir(task: SdkTask) -> Path:
    """The directory from which the task's module imports under its own name: the package root.

    ``tests/flyte_sdk/sdk_tasks.py`` imported as ``tests.flyte_sdk.sdk_tasks`` gives the directory holding ``tests``.
    The SDK writes the module path relative to this directory into the template's resolver args, and the plugin's
    task process finds it again through ``PYTHONPATH``.
    """
    module = inspect.getmodule(task.obj.func)
    if module is None or getattr(module, "__file__", None) is None:
        raise SdkError(f"task {task.name} has no module file: pass root_dir explicitly")
    path = Path(str(module.__file__)).resolve()
    depth = 1 if module.__name__ == "__main__" else len(module.__name__.split("."))
    return path.parents[depth - 1]


def serialize_template(
    task: SdkTask,
    *,
    project: str,
    domain: str,
    org: str,
    version: str,
    root_dir: Path,
    bundle: BundleKind = "none",
    bundle_dir: Path | None = None,
) -> bytes:
    """The task's ``core.TaskTemplate``, serialized, as the SDK would register it (no server involved).

    ``bundle`` other than ``none`` writes the code bundle into ``bundle_dir`` (a local directory the task process can
    read) and points the template's ``--pkl``/``--tgz`` argument at it.
    """
    models = _module("flyte.models")
    serde = _module("flyte._internal.runtime.task_serde")
    code_bundle = None if bundle == "none" else _build_bundle(task, bundle, root_dir, bundle_dir)
    context = models.SerializationContext(
        version=version, project=project, domain=domain, org=org, root_dir=root_dir, code_bundle=code_bundle
    )
    try:
        template = serde.get_proto_task(task.obj, context)
    except Exception as error:  # the SDK raises ValueError, RuntimeUserError, ... for tasks it cannot serialize
        raise SdkError(f"the SDK cannot serialize task {task.name}: {type(error).__name__}: {error}") from error
    return bytes(template.SerializeToString(deterministic=True))


def _build_bundle(task: SdkTask, bundle: BundleKind, root_dir: Path, bundle_dir: Path | None) -> Any:
    if bundle_dir is None:
        raise SdkError(f"a {bundle} code bundle needs bundle_dir, a directory the task process can read")
    bundle_dir.mkdir(parents=True, exist_ok=True)
    code_bundle = _module("flyte._code_bundle.bundle")
    if bundle == "pkl":
        return _run(_self_contained_pickle(task, code_bundle, bundle_dir))
    return _run(
        code_bundle.build_code_bundle(
            root_dir, dryrun=True, copy_bundle_to=bundle_dir, copy_style="loaded_modules", skip_cache=True
        )
    )


async def _self_contained_pickle(task: SdkTask, code_bundle: Any, bundle_dir: Path) -> Any:
    """A pkl bundle that carries the task's module by value, so the task process needs no ``PYTHONPATH``."""
    cloudpickle = _module("cloudpickle")
    module = inspect.getmodule(task.obj.func)
    by_value = module is not None and module.__name__ != "__main__" and "site-packages" not in str(module.__file__)
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return await code_bundle.build_pkl_bundle(task.obj, upload_to_controlplane=False, copy_bundle_to=bundle_dir)
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


def encode_inputs(task: SdkTask, inputs: Mapping[str, object]) -> bytes:
    """``inputs.pb`` (``flyteidl2.task.Inputs``) for ``task(**inputs)``, through the SDK's type engine.

    The SDK writes the defaults the caller leaves out too, so they are part of the cache key (R97).
    """
    convert = _module("flyte._internal.runtime.convert")
    try:
        converted = _run(convert.convert_from_native_to_inputs(task.obj.native_interface, **dict(inputs)))
    except Exception as error:  # the type engine raises TypeError, ValueError, its own errors, ...
        raise SdkError(f"cannot convert the inputs of {task.name}: {type(error).__name__}: {error}") from error
    return bytes(converted.proto_inputs.SerializeToString(deterministic=True))


def decode_outputs(task: SdkTask, data: bytes) -> object:
    """The Python value(s) ``task`` returned, from its ``outputs.pb`` (one value, a tuple, or None)."""
    convert = _module("flyte._internal.runtime.convert")
    common = _module("flyteidl2.task.common_pb2")
    try:
        outputs = convert.Outputs(proto_outputs=common.Outputs.FromString(data))
        return _run(convert.convert_outputs_to_native(task.obj.native_interface, outputs))
    except Exception as error:  # a decode error, or a literal the declared type cannot take
        raise SdkError(f"cannot read the outputs of {task.name}: {type(error).__name__}: {error}") from error


def parse_input_value(task: SdkTask, name: str, text: str) -> object:
    """A command-line input value: JSON (``5``, ``[1, 2]``, ``{"k": "v"}``), or the text itself for a ``str`` input
    or when it is not JSON."""
    declared = task.input_types().get(name)
    if declared is None:
        raise SdkError(f"task {task.name} has no input {name!r} (inputs: {', '.join(task.input_types()) or 'none'})")
    if declared is str or typing.get_origin(declared) is Literal:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
