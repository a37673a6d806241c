"""Go's container-argument renderer: ``{{.input}}``-style placeholders in ``command`` and ``args`` (R103–R105).

Go: ``flyteplugins/go/tasks/pluginmachinery/core/template/template.go`` (``Render``, ``render``,
``transformVarNameToStringVal``), as reported in reference/flyte-sdk-local.md §2.

Theory of operation. Each placeholder is a case-insensitive regular expression ``{{\\s*[.$]Name\\s*}}``; they are
applied one after the other, in Go's order, to every string of ``command + args``:

=========================== ===============================================================================
placeholder                 value
=========================== ===============================================================================
``Input``                   the inputs file, ``<input prefix>/inputs.pb`` (R104)
``OutputPrefix``            the attempt's output prefix (R103)
``InputPrefix``             the input prefix (R104)
``RawOutputDataPrefix``     the raw-output prefix (R103: the output prefix)
``PrevCheckpointPrefix``    the previous attempt's checkpoint prefix; when empty, the two characters ``""``
``CheckpointOutputPrefix``  ``<output prefix>/_flytecheckpoints``
``PerRetryUniqueKey``       the generated name (R105), leading non-letters → ``a``, other runs → ``_``
``Namespace``               the TaskAction's namespace
``TaskTemplatePath``        the template's path: ``inline://taskTemplate`` for the reconciler (R104)
``Inputs.<name>``           the input literal's simple string form (:mod:`taskaction_core.adapters.plugins.literals`)
=========================== ===============================================================================

Anything else — ``{{.runName}}``, ``{{.actionName}}``, ``{{.runStartTime}}`` — is left as written: Go does not
substitute them and the Flyte SDK entrypoint reads them from its environment instead. Because substitution is
sequential, a value that itself contains a later placeholder is substituted again, as in Go.

Deviation: Go substitutes with ``Regexp.ReplaceAllString``, which expands ``$name`` sequences inside the *value*
(a path containing ``$x`` loses it). Values are substituted literally here.

Pure: no I/O. The caller reads the inputs only when :func:`needs_inputs` says a template refers to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from returns.result import Failure, Result, Success

__all__ = [
    "INLINE_TASK_TEMPLATE_PATH",
    "RenderError",
    "RenderParams",
    "needs_inputs",
    "per_retry_unique_key",
    "render",
]

INLINE_TASK_TEMPLATE_PATH: Final = "inline://taskTemplate"
"""R104: the pseudo-path of a template read inline from ``spec.taskTemplate``."""

EMPTY_PREV_CHECKPOINT: Final = '""'
"""Go renders an empty previous-checkpoint prefix as two double quotes, so the flag keeps an argument."""


def _placeholder(name: str) -> re.Pattern[str]:
    return re.compile(r"{{\s*[.$]" + name + r"\s*}}", re.IGNORECASE)


_INPUT: Final = _placeholder("Input")
_OUTPUT_PREFIX: Final = _placeholder("OutputPrefix")
_INPUT_PREFIX: Final = _placeholder("InputPrefix")
_RAW_OUTPUT_PREFIX: Final = _placeholder("RawOutputDataPrefix")
_PREV_CHECKPOINT_PREFIX: Final = _placeholder("PrevCheckpointPrefix")
_CHECKPOINT_PREFIX: Final = _placeholder("CheckpointOutputPrefix")
_PER_RETRY_UNIQUE_KEY: Final = _placeholder("PerRetryUniqueKey")
_NAMESPACE: Final = _placeholder("Namespace")
_TASK_TEMPLATE_PATH: Final = _placeholder("TaskTemplatePath")
_INPUT_VARIABLE: Final = re.compile(r"{{\s*[.$]Inputs\.(?P<name>[^}\s]+)\s*}}", re.IGNORECASE)

_NOT_ALPHANUMERIC_RUN: Final = re.compile(r"[^a-zA-Z0-9_]+")
_LEADING_NON_ALPHA_RUN: Final = re.compile(r"^[^a-zA-Z_]+")


@dataclass(frozen=True, slots=True)
class RenderError:
    """Why a template could not be rendered; ``message`` reads like Go's error text."""

    message: str


@dataclass(frozen=True, slots=True)
class RenderParams:
    """The values the placeholders stand for, taken from the task execution context (R103–R105).

    ``inputs`` maps an input name to its simple string form, or to the reason it has none (an unsupported literal
    type); it is consulted only for ``{{.Inputs.<name>}}``.
    """

    input_path: str
    input_prefix: str
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    prev_checkpoint_prefix: str
    generated_name: str
    namespace: str
    task_template_path: str = INLINE_TASK_TEMPLATE_PATH
    inputs: Mapping[str, Result[str, str]] = field(default_factory=dict)


def per_retry_unique_key(generated_name: str) -> str:
    """Go ``Render``'s per-retry key: the generated name with a leading run of non-letters replaced by ``a`` and every
    other run of characters outside ``[A-Za-z0-9_]`` by ``_`` (``ta-0`` → ``ta_0``, ``0x`` → ``ax``)."""
    key = _LEADING_NON_ALPHA_RUN.sub("a", generated_name)
    return _NOT_ALPHANUMERIC_RUN.sub("_", key)


def needs_inputs(template: Sequence[str]) -> bool:
    """Whether any string refers to ``{{.Inputs.<name>}}``, so the caller must read the inputs first."""
    return any(_INPUT_VARIABLE.search(text) for text in template)


def render(template: Sequence[str], params: RenderParams) -> Result[tuple[str, ...], RenderError]:
    """Go ``Render``: every string of ``template`` with the placeholders substituted, in order.

    Fails like Go when the per-retry key is empty or an ``{{.Inputs.<name>}}`` names a missing or unrenderable
    input; every such input of one string is reported, one per line.
    """
    if not template:
        return Success(())
    key = per_retry_unique_key(params.generated_name)
    if not key:
        return Failure(RenderError("Empty PerRetryUniqueKey"))
    rendered: list[str] = []
    for text in template:
        result = _render_one(text, params, key)
        if isinstance(result, Failure):
            return Failure(result.failure())
        rendered.append(result.unwrap())
    return Success(tuple(rendered))


def _render_one(text: str, params: RenderParams, key: str) -> Result[str, RenderError]:
    prev_checkpoint = params.prev_checkpoint_prefix or EMPTY_PREV_CHECKPOINT
    substitutions: tuple[tuple[re.Pattern[str], str], ...] = (
        (_INPUT, params.input_path),
        (_OUTPUT_PREFIX, params.output_prefix),
        (_INPUT_PREFIX, params.input_prefix),
        (_RAW_OUTPUT_PREFIX, params.raw_output_prefix),
        (_PREV_CHECKPOINT_PREFIX, prev_checkpoint),
        (_CHECKPOINT_PREFIX, params.checkpoint_prefix),
        (_PER_RETRY_UNIQUE_KEY, key),
        (_NAMESPACE, params.namespace),
        (_TASK_TEMPLATE_PATH, params.task_template_path),
    )
    for pattern, value in substitutions:
        text = pattern.sub(_literal(value), text)
    return _render_inputs(text, params.inputs)


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    """A replacement that inserts ``value`` verbatim (``re.sub`` would expand backslashes in a string)."""
    return lambda _match: value


def _render_inputs(text: str, inputs: Mapping[str, Result[str, str]]) -> Result[str, RenderError]:
    """Go ``transformVarNameToStringVal`` over every ``{{.Inputs.<name>}}``; errors are collected, not short-cut."""
    errors: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group("name")
        value = inputs.get(name)
        if value is None:
            errors.append(f"input template [{match.group(0)}]: requested input is not found [{name}]")
            return ""
        if isinstance(value, Failure):
            errors.append(
                f"input template [{match.group(0)}]: failed to bind a value to inputName [{name}]: {value.failure()}"
            )
            return ""
        return str(value.unwrap())

    rendered = _INPUT_VARIABLE.sub(substitute, text)
    if errors:
        return Failure(RenderError("\n".join(errors)))
    return Success(rendered)
