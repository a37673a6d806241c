"""The TaskActions of the demo and of ``examples/``: real task templates that run :mod:`demo_task` as a process.

    actions = demo_actions(DemoSettings(namespace="demo-1", run="demo-1", python=sys.executable, ...))

Each action is built with flyteidl2 itself (``core.TaskTemplate``, ``workflow.ConditionAction``), exactly as the
actions service would put it in ``spec.taskTemplate`` / ``spec.conditionSpec``. The task's container runs
``<python> <script> --outputs {{.outputPrefix}} ...``: the subprocess plugin renders the placeholder (R103) and runs
the command. URIs are ``file://DIR/...`` relative to the data directory (:mod:`~taskaction_core.cli.backend`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from flyteidl2.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl2.workflow import run_definition_pb2
from pyrsistent import pmap

from taskaction_core.cli.manifests import dump_yaml
from taskaction_core.records import ACTION_TYPE_CONDITION, ACTION_TYPE_TASK, ObjectMeta, TaskAction, TaskActionSpec

__all__ = [
    "APPROVAL",
    "FLAKY",
    "HELLO",
    "HELLO_AGAIN",
    "LONG",
    "RACE_A",
    "RACE_B",
    "DemoSettings",
    "condition_spec",
    "demo_actions",
    "example_files",
    "task_template",
]

PROJECT: Final = "demo"
DOMAIN: Final = "development"
TASK_TYPE: Final = "python"
LABELS: Final = pmap({"app.kubernetes.io/part-of": "taskaction-demo"})

HELLO: Final = "hello"
HELLO_AGAIN: Final = "hello-again"
RACE_A: Final = "race-a"
RACE_B: Final = "race-b"
FLAKY: Final = "flaky"
APPROVAL: Final = "approval"
LONG: Final = "long"


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """Where the demo's actions live and what they run. ``script`` and ``record`` are relative to the data
    directory (the tasks' working directory); ``cache_key`` is ``spec.cacheKey``, the cache version (R97), so each
    demo run starts with an empty cache."""

    namespace: str
    run: str
    python: str
    script: str
    record: str
    cache_key: str
    race_sleep: float = 2.0
    long_sleep: float = 120.0


def task_template(
    name: str,
    settings: DemoSettings,
    *args: str,
    cacheable: bool = False,
    serializable: bool = False,
    retries: int = 0,
) -> bytes:
    """A serialized ``core.TaskTemplate``: one integer output ``o0``, the demo task as its container command."""
    template = tasks_pb2.TaskTemplate(type=TASK_TYPE)
    template.id.CopyFrom(
        identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=name, version="v1"
        )
    )
    metadata = template.metadata
    metadata.discoverable = cacheable
    metadata.cache_serializable = serializable
    metadata.discovery_version = "1"
    metadata.retries.CopyFrom(literals_pb2.RetryStrategy(retries=retries))
    integer = types_pb2.LiteralType(simple=types_pb2.INTEGER)
    template.interface.outputs.variables.add(key="o0", value=interface_pb2.Variable(type=integer))
    template.container.image = "local"
    command = [settings.python, settings.script, "--outputs", "{{.outputPrefix}}", "--record", settings.record]
    template.container.args.extend([*command, *args])
    return bytes(template.SerializeToString(deterministic=True))


def condition_spec(prompt: str, timeout: timedelta | None) -> bytes:
    """A serialized ``workflow.ConditionAction`` (R80: only the timeout matters to the reconciler)."""
    spec = run_definition_pb2.ConditionAction(name="approve", prompt=prompt)
    if timeout is not None:
        spec.timeout.FromTimedelta(timeout)
    return bytes(spec.SerializeToString(deterministic=True))


def _task(settings: DemoSettings, name: str, template: bytes, short_name: str, cached: bool) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name=name, namespace=settings.namespace, labels=LABELS),
        spec=TaskActionSpec(
            run_name=settings.run,
            project=PROJECT,
            domain=DOMAIN,
            action_name=name,
            action_type=ACTION_TYPE_TASK,
            input_uri=f"file://inputs/{settings.run}/{name}",
            run_output_base=f"file://runs/{settings.run}",
            cache_key=settings.cache_key if cached else "",
            task_type=TASK_TYPE,
            short_name=short_name,
            task_template=template,
            env_vars=pmap({"DEMO": "taskaction"}),
        ),
    )


def demo_actions(settings: DemoSettings) -> dict[str, TaskAction]:
    """Every demo action by name, in the order the demo applies them."""
    hello = task_template("demo.add_one", settings, "--value", "41", "--sleep", "0.3", cacheable=True)
    race = task_template(
        "demo.slow_add",
        settings,
        "--value",
        "99",
        "--sleep",
        str(settings.race_sleep),
        cacheable=True,
        serializable=True,
    )
    marker = f"{settings.record}/{FLAKY}.marker"
    flaky = task_template("demo.flaky", settings, "--fail-first-time", marker, retries=2)
    long = task_template("demo.long", settings, "--sleep", str(settings.long_sleep))
    approval = TaskAction(
        metadata=ObjectMeta(name=APPROVAL, namespace=settings.namespace, labels=LABELS),
        spec=TaskActionSpec(
            run_name=settings.run,
            project=PROJECT,
            domain=DOMAIN,
            action_name=APPROVAL,
            action_type=ACTION_TYPE_CONDITION,
            short_name="approve the release",
            condition_spec=condition_spec("Ship it?", timedelta(minutes=10)),
        ),
    )
    return {
        HELLO: _task(settings, HELLO, hello, "add_one", cached=True),
        HELLO_AGAIN: _task(settings, HELLO_AGAIN, hello, "add_one", cached=True),
        RACE_A: _task(settings, RACE_A, race, "slow_add", cached=True),
        RACE_B: _task(settings, RACE_B, race, "slow_add", cached=True),
        FLAKY: _task(settings, FLAKY, flaky, "flaky", cached=False),
        APPROVAL: approval,
        LONG: _task(settings, LONG, long, "long", cached=False),
    }


EXAMPLES: Final = DemoSettings(
    namespace="default",
    run="example",
    python="python3",
    script="tasks/demo_task.py",
    record="executions",
    cache_key="v1",
    race_sleep=2.0,
    long_sleep=300.0,
)
"""``examples/``: run with the ``examples`` directory as the data directory (``--data .`` from inside it)."""

_EXAMPLE_GROUPS: Final = {
    "hello.yaml": (HELLO,),
    "hello-again.yaml": (HELLO_AGAIN,),
    "race.yaml": (RACE_A, RACE_B),
    "flaky.yaml": (FLAKY,),
    "approval.yaml": (APPROVAL,),
    "long.yaml": (LONG,),
}


def _example_header(names: tuple[str, ...], actions: dict[str, TaskAction]) -> str:
    lines = ["# Generated by `python -m taskaction_core.cli.scenarios examples`: do not edit by hand."]
    for name in names:
        template = actions[name].spec.task_template
        if template:
            args = " ".join(tasks_pb2.TaskTemplate.FromString(template).container.args)
            lines.append(f"# {name}: spec.taskTemplate is a serialized core.TaskTemplate whose container runs")
            lines.append(f"#   {args}")
        else:
            lines.append(f"# {name}: spec.conditionSpec is a serialized workflow.ConditionAction (timeout 10m)")
    return "\n".join(lines) + "\n"


def example_files(script_source: str) -> dict[str, str]:
    """The generated part of ``examples/``: relative path → text (the manifests and a copy of the task script)."""
    actions = demo_actions(EXAMPLES)
    files = {f"tasks/{Path(EXAMPLES.script).name}": script_source}
    for file, names in _EXAMPLE_GROUPS.items():
        files[file] = _example_header(names, actions) + dump_yaml([actions[name] for name in names])
    return files


def _write_examples(directory: Path) -> None:
    from taskaction_core.cli import demo_task

    source = Path(demo_task.__file__).read_text(encoding="utf-8")
    for relative, text in example_files(source).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    _write_examples(Path(sys.argv[1] if len(sys.argv) > 1 else "examples"))
